#include "lowbit/export/lowering/requantization.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace lowbit::exporter {

namespace {

int32_t saturate_int32(double value) {
  constexpr double kMin = std::numeric_limits<int32_t>::min();
  constexpr double kMax = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(std::clamp(value, kMin, kMax));
}

}  // namespace

FixedPointMultiplier quantize_multiplier(double real_scale, const std::string& what) {
  if (!std::isfinite(real_scale) || !(real_scale > 0)) {
    throw std::invalid_argument(what + ": requantization scale " + std::to_string(real_scale) +
                                " must be finite and > 0");
  }
  int exponent = 0;
  const double mantissa = std::frexp(real_scale, &exponent);
  // mantissa * 2^31 is exact in binary64, so floor(x + 0.5) is an exact round half up.
  int64_t multiplier = static_cast<int64_t>(std::floor(std::ldexp(mantissa, 31) + 0.5));
  if (multiplier == (int64_t{1} << 31)) {
    multiplier /= 2;
    ++exponent;
  }
  if (exponent > 30) {
    throw std::invalid_argument(what + ": requantization scale " + std::to_string(real_scale) +
                                " is >= 2^30, beyond the runtime's largest shift 30");
  }
  if (exponent < -31) {
    multiplier = static_cast<int64_t>(std::floor(std::ldexp(real_scale, 62) + 0.5));
    exponent = -31;
  }
  return {static_cast<int32_t>(multiplier), static_cast<int32_t>(exponent)};
}

double multiplier_value(const FixedPointMultiplier& fixed) {
  return std::ldexp(static_cast<double>(fixed.multiplier), fixed.shift - 31);
}

int32_t quantize_bias(double bias_real, double input_scale, double weight_scale) {
  return saturate_int32(std::round(bias_real / (input_scale * weight_scale)));
}

Requant build_requant(const std::string& layer_name, double input_scale,
                      const std::vector<double>& weight_scales, double output_scale,
                      int32_t output_zero_point, Activation activation, int64_t channels,
                      std::vector<int32_t>& bias) {
  if (weight_scales.size() != 1 && static_cast<int64_t>(weight_scales.size()) != channels) {
    throw std::invalid_argument("layer '" + layer_name + "': expected 1 or " +
                                std::to_string(channels) + " weight scales, got " +
                                std::to_string(weight_scales.size()));
  }
  if (!(input_scale > 0) || !(output_scale > 0)) {
    throw std::invalid_argument("layer '" + layer_name + "': input and output scales must be > 0");
  }
  if (output_zero_point < -128 || output_zero_point > 127) {
    throw std::invalid_argument("layer '" + layer_name + "': output zero point " +
                                std::to_string(output_zero_point) + " is outside [-128, 127]");
  }
  const bool hard_sigmoid = activation == Activation::kHardSigmoid;
  if (hard_sigmoid) {
    if (bias.empty()) bias.assign(static_cast<size_t>(channels), 0);
    if (static_cast<int64_t>(bias.size()) != channels) {
      throw std::invalid_argument("layer '" + layer_name + "': hard-sigmoid folding needs " +
                                  std::to_string(channels) + " biases, got " +
                                  std::to_string(bias.size()));
    }
  }
  Requant requant;
  for (size_t c = 0; c < weight_scales.size(); ++c) {
    const double accumulator_scale = input_scale * weight_scales[c];
    const double real = accumulator_scale / output_scale / (hard_sigmoid ? 6.0 : 1.0);
    const FixedPointMultiplier fixed =
        quantize_multiplier(real, "layer '" + layer_name + "' channel " + std::to_string(c));
    requant.multiplier.push_back(fixed.multiplier);
    requant.shift.push_back(fixed.shift);
  }
  if (hard_sigmoid) {
    for (int64_t c = 0; c < channels; ++c) {
      const double accumulator_scale =
          input_scale * weight_scales[weight_scales.size() == 1 ? 0 : static_cast<size_t>(c)];
      const double folded =
          static_cast<double>(bias[static_cast<size_t>(c)]) + std::round(3.0 / accumulator_scale);
      bias[static_cast<size_t>(c)] = saturate_int32(folded);
    }
  }
  const int32_t zp = output_zero_point;
  switch (activation) {
    case Activation::kNone:
      requant.act_min = -128;
      requant.act_max = 127;
      break;
    case Activation::kRelu:
      requant.act_min = zp;
      requant.act_max = 127;
      break;
    case Activation::kRelu6:
    case Activation::kHardSigmoid: {
      const double upper =
          std::round((activation == Activation::kRelu6 ? 6.0 : 1.0) / output_scale);
      requant.act_min = zp;
      requant.act_max = static_cast<int32_t>(std::min(127.0, zp + upper));
      break;
    }
    default:
      throw std::invalid_argument("layer '" + layer_name + "': unknown activation value " +
                                  std::to_string(static_cast<int>(activation)));
  }
  return requant;
}

ConcatInput build_concat_input(const std::string& layer_name, double input_scale,
                               double output_scale) {
  const FixedPointMultiplier fixed =
      quantize_multiplier(input_scale / output_scale, "layer '" + layer_name + "' concat input");
  return {fixed.multiplier, fixed.shift};
}

Add build_add(const std::string& layer_name, double scale_a, double scale_b, double output_scale,
              int32_t output_zero_point, Activation activation) {
  const std::string what = "layer '" + layer_name + "' add";
  if (activation == Activation::kHardSigmoid) {
    throw std::invalid_argument(what + ": a hard-sigmoid after a residual add is not supported");
  }
  const double ratio_a = scale_a / output_scale;
  const double ratio_b = scale_b / output_scale;
  // The larger ratio takes the full Q31 precision and fixes the shared shift; the smaller one is
  // rounded in the same shift, so the int64 sum of both terms is rounded once.
  const FixedPointMultiplier big = quantize_multiplier(std::max(ratio_a, ratio_b), what);
  const auto in_shift = [&](double ratio) {
    const double m = std::floor(std::ldexp(ratio, 31 - big.shift) + 0.5);
    return static_cast<int32_t>(std::min(m, static_cast<double>(big.multiplier)));
  };
  Add add;
  add.shift = big.shift;
  add.multiplier_a = ratio_a >= ratio_b ? big.multiplier : in_shift(ratio_a);
  add.multiplier_b = ratio_b > ratio_a ? big.multiplier : in_shift(ratio_b);
  add.activation = activation;
  // The clamp of the merged activation, as build_requant sets it.
  std::vector<int32_t> no_bias;
  const Requant clamp = build_requant(layer_name, 1.0, {output_scale}, output_scale,
                                      output_zero_point, activation, 1, no_bias);
  add.act_min = clamp.act_min;
  add.act_max = clamp.act_max;
  return add;
}

}  // namespace lowbit::exporter
