#include "lowbit/export/ops/op_support.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "lowbit/export/model_cost.h"
#include "lowbit/export/packing.h"

namespace lowbit::exporter {

int8_t reference_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                            int32_t act_min, int32_t act_max) {
  const int64_t product = static_cast<int64_t>(acc) * multiplier;
  const int right = 31 - shift;
  const uint64_t magnitude =
      product < 0 ? static_cast<uint64_t>(-(product + 1)) + 1 : static_cast<uint64_t>(product);
  const uint64_t rounded = (magnitude + (uint64_t{1} << (right - 1))) >> right;
  // rounded < 2^62, so the signed value and the sum with the zero point cannot overflow.
  const int64_t y = product < 0 ? -static_cast<int64_t>(rounded) : static_cast<int64_t>(rounded);
  return static_cast<int8_t>(std::clamp<int64_t>(y + zero_point, act_min, act_max));
}

}  // namespace lowbit::exporter

namespace lowbit::exporter::ops {

void fail(const std::string& layer, const std::string& what) {
  throw std::invalid_argument("integer model: layer '" + layer + "': " + what);
}

void check_positive(const std::string& layer, const char* what, int64_t value) {
  if (value < 1) fail(layer, std::string(what) + " must be >= 1, got " + std::to_string(value));
}

std::string producer_name(const IntegerModel& model, int producer) {
  return producer == kModelInput ? std::string("model input")
                                 : "layer '" + model.layers[producer].name + "'";
}

void shape_mismatch(const IntegerModel& model, const Layer& layer, int producer, const Shape& got,
                    const std::string& expected) {
  throw std::invalid_argument("integer model: shape mismatch between " +
                              producer_name(model, producer) + " (output " + shape_text(got) +
                              ") and layer '" + layer.name + "' (expects " + expected + ")");
}

void check_dense(const ValidateContext& c, int64_t in_features, int64_t out_features,
                 WeightFormat format, const std::vector<int8_t>& weights) {
  const std::string& name = c.layer.name;
  check_positive(name, "in_features", in_features);
  check_positive(name, "out_features", out_features);
  if (c.in[0].size() != in_features) {
    shape_mismatch(c.model, c.layer, c.producer, c.in[0],
                   std::to_string(in_features) + " features");
  }
  check_weights(name, format, weights, out_features, in_features);
}

int64_t dense_sum(const RunContext& c, const std::vector<int8_t>& weights,
                  const std::vector<int32_t>& bias, int64_t in_features, int64_t o) {
  const std::vector<int8_t>& x = c.x();
  int64_t sum = bias.empty() ? 0 : bias[static_cast<size_t>(o)];
  const int8_t* w = weights.data() + o * in_features;
  for (int64_t i = 0; i < in_features; ++i) {
    sum += static_cast<int64_t>(x[static_cast<size_t>(i)] - c.input_zp()) * w[i];
  }
  return sum;
}

void check_weights(const std::string& layer, WeightFormat format,
                   const std::vector<int8_t>& weights, int64_t rows, int64_t row_length) {
  if (static_cast<int>(format) < 0 || static_cast<int>(format) > 5) {
    fail(layer, "unsupported weight format value " + std::to_string(static_cast<int>(format)) +
                    " (expected int8, int4, int2, binary, sym2 or sym4)");
  }
  if (static_cast<int64_t>(weights.size()) != rows * row_length) {
    fail(layer, "expected " + std::to_string(rows) + "x" + std::to_string(row_length) + " = " +
                    std::to_string(rows * row_length) + " weight codes, got " +
                    std::to_string(weights.size()));
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!format_has_code(format, weights[i])) {
      fail(layer, "weight code " + std::to_string(weights[i]) + " at index " + std::to_string(i) +
                      " is not representable in format " + format_name(format));
    }
  }
}

void check_bias_and_requant(const std::string& layer, const std::vector<int32_t>& bias,
                            const Requant& requant, int64_t channels) {
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != channels) {
    fail(layer, "expected " + std::to_string(channels) + " biases (or none), got " +
                    std::to_string(bias.size()));
  }
  const size_t count = requant.multiplier.size();
  if ((count != 1 && static_cast<int64_t>(count) != channels) || requant.shift.size() != count) {
    fail(layer, "expected 1 or " + std::to_string(channels) +
                    " multipliers with as many shifts, got " + std::to_string(count) +
                    " multipliers and " + std::to_string(requant.shift.size()) + " shifts");
  }
  for (size_t i = 0; i < count; ++i) {
    if (requant.multiplier[i] < 0) {
      fail(layer, "multiplier " + std::to_string(i) + " is negative");
    }
    if (requant.shift[i] < -31 || requant.shift[i] > 30) {
      fail(layer, "shift " + std::to_string(requant.shift[i]) + " is outside [-31, 30]");
    }
  }
  if (requant.act_min < -128 || requant.act_max > 127 || requant.act_min > requant.act_max) {
    fail(layer, "clamp [" + std::to_string(requant.act_min) + ", " +
                    std::to_string(requant.act_max) + "] is not within [-128, 127]");
  }
}

int8_t requantize_with(const Requant& requant, int64_t channel, int32_t zero_point, int64_t sum) {
  const size_t k = requant.multiplier.size() == 1 ? 0 : static_cast<size_t>(channel);
  const int32_t acc = static_cast<int32_t>(std::clamp<int64_t>(
      sum, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
  return reference_requantize(acc, requant.multiplier[k], requant.shift[k], zero_point,
                              requant.act_min, requant.act_max);
}

void describe_weights(nlohmann::json& j, WeightFormat format, const std::vector<int32_t>& bias,
                      const Requant& requant, Activation activation,
                      const std::vector<double>& weight_scales) {
  j["format"] = format_name(format);
  j["bits"] = format_bits(format);
  j["weight_scales"] = weight_scales;
  j["bias"] = bias;
  j["multiplier"] = requant.multiplier;
  j["shift"] = requant.shift;
  j["per_channel"] = requant.multiplier.size() > 1;
  j["activation"] = activation_name(activation);
  j["act_min"] = requant.act_min;
  j["act_max"] = requant.act_max;
}

nlohmann::json shape_json(const Shape& shape) {
  return nlohmann::json::array({shape.channels, shape.height, shape.width});
}

void weighted_cost(LayerCost& cost, WeightFormat format, int64_t rows, int64_t row_length,
                   const std::vector<int32_t>& bias, const Requant& requant) {
  cost.weight_bytes = packed_size(format, rows, row_length);
  cost.bias_bytes = 4 * static_cast<int64_t>(bias.size());
  cost.requant_bytes = 8 * static_cast<int64_t>(requant.multiplier.size());
}

}  // namespace lowbit::exporter::ops
