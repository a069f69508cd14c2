#include "lowbit/export/integer_model.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

namespace lowbit::exporter {

namespace {

[[noreturn]] void fail(const std::string& layer, const std::string& what) {
  throw std::invalid_argument("integer model: layer '" + layer + "': " + what);
}

void check_zero_point(const std::string& layer, const char* what, int64_t zp) {
  if (zp < -128 || zp > 127) {
    fail(layer, std::string(what) + " " + std::to_string(zp) + " is outside [-128, 127]");
  }
}

void check_positive(const std::string& layer, const char* what, int64_t value) {
  if (value < 1) fail(layer, std::string(what) + " must be >= 1, got " + std::to_string(value));
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

std::string producer_name(const IntegerModel& model, int producer) {
  return producer == kModelInput ? std::string("model input")
                                 : "layer '" + model.layers[producer].name + "'";
}

[[noreturn]] void shape_mismatch(const IntegerModel& model, const Layer& layer, int producer,
                                 const Shape& got, const std::string& expected) {
  throw std::invalid_argument("integer model: shape mismatch between " +
                              producer_name(model, producer) + " (output " + shape_text(got) +
                              ") and layer '" + layer.name + "' (expects " + expected + ")");
}

// What one layer's operator check sees: the model, the layer, its input shapes and its first
// producer.
struct LayerInputs {
  const IntegerModel& model;
  const Layer& layer;
  const std::vector<Shape>& in;
  int producer;
};

// One output_shape per op type checks that op's fields against its input and returns its output
// shape; validate() dispatches to them with std::visit, so an op type without one does not compile.
Shape output_shape(const LayerInputs& c, const FullyConnected& fc) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  check_positive(name, "in_features", fc.in_features);
  check_positive(name, "out_features", fc.out_features);
  if (in[0].size() != fc.in_features) {
    shape_mismatch(model, layer, producer, in[0], std::to_string(fc.in_features) + " features");
  }
  check_weights(name, fc.format, fc.weights, fc.out_features, fc.in_features);
  check_bias_and_requant(name, fc.bias, fc.requant, fc.out_features);
  return {fc.out_features, 1, 1};
}

Shape output_shape(const LayerInputs& c, const Conv2d& conv) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  for (auto [what, value] : {std::pair<const char*, int64_t>{"in_channels", conv.in_channels},
                             {"in_height", conv.in_height},
                             {"in_width", conv.in_width},
                             {"out_channels", conv.out_channels},
                             {"kernel_h", conv.kernel_h},
                             {"kernel_w", conv.kernel_w},
                             {"stride_h", conv.stride_h},
                             {"stride_w", conv.stride_w},
                             {"groups", conv.groups}}) {
    check_positive(name, what, value);
  }
  if (conv.pad_top < 0 || conv.pad_bottom < 0 || conv.pad_left < 0 || conv.pad_right < 0) {
    fail(name, "padding must be >= 0");
  }
  if (conv.in_channels % conv.groups != 0 || conv.out_channels % conv.groups != 0) {
    fail(name, "groups " + std::to_string(conv.groups) + " must divide in_channels " +
                   std::to_string(conv.in_channels) + " and out_channels " +
                   std::to_string(conv.out_channels));
  }
  if (conv.kernel_h > conv.in_height + conv.pad_top + conv.pad_bottom ||
      conv.kernel_w > conv.in_width + conv.pad_left + conv.pad_right) {
    fail(name, "kernel is larger than the padded input");
  }
  // The runtime sums one output in int32: 65793 taps * 255 * 128 < 2^31.
  if (conv.row_length() > 65793) {
    fail(name, "in_channels / groups * kernel_h * kernel_w = " + std::to_string(conv.row_length()) +
                   " exceeds the runtime's limit of 65793 taps per output");
  }
  const Shape expected{conv.in_channels, conv.in_height, conv.in_width};
  if (in[0] != expected) shape_mismatch(model, layer, producer, in[0], shape_text(expected));
  check_weights(name, conv.format, conv.weights, conv.out_channels, conv.row_length());
  check_bias_and_requant(name, conv.bias, conv.requant, conv.out_channels);
  return {conv.out_channels, conv.out_height(), conv.out_width()};
}

Shape output_shape(const LayerInputs& c, const Pool& pool) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  for (auto [what, value] : {std::pair<const char*, int64_t>{"channels", pool.channels},
                             {"in_height", pool.in_height},
                             {"in_width", pool.in_width},
                             {"kernel_h", pool.kernel_h},
                             {"kernel_w", pool.kernel_w},
                             {"stride_h", pool.stride_h},
                             {"stride_w", pool.stride_w}}) {
    check_positive(name, what, value);
  }
  if (pool.pad_top < 0 || pool.pad_bottom < 0 || pool.pad_left < 0 || pool.pad_right < 0 ||
      pool.pad_top >= pool.kernel_h || pool.pad_bottom >= pool.kernel_h ||
      pool.pad_left >= pool.kernel_w || pool.pad_right >= pool.kernel_w) {
    fail(name, "pool padding must be in [0, kernel)");
  }
  if (pool.kernel_h > pool.in_height + pool.pad_top + pool.pad_bottom ||
      pool.kernel_w > pool.in_width + pool.pad_left + pool.pad_right) {
    fail(name, "window is larger than the padded input");
  }
  const Shape expected{pool.channels, pool.in_height, pool.in_width};
  if (in[0] != expected) shape_mismatch(model, layer, producer, in[0], shape_text(expected));
  return {pool.channels, pool.out_height(), pool.out_width()};
}

Shape output_shape(const LayerInputs& c, const Flatten&) {
  return {c.in[0].size(), 1, 1};
}

Shape output_shape(const LayerInputs& c, const Slice& slice) {
  const auto& [model, layer, in, producer] = c;
  if (slice.offset < 0 || slice.length < 1 || slice.offset + slice.length > in[0].size()) {
    shape_mismatch(model, layer, producer, in[0],
                   "at least " + std::to_string(slice.offset + slice.length) +
                       " elements for slice [" + std::to_string(slice.offset) + ", " +
                       std::to_string(slice.offset + slice.length) + ")");
  }
  return {slice.length, 1, 1};
}

Shape output_shape(const LayerInputs& c, const Concat& cat) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  if (cat.inputs.size() != layer.inputs.size()) {
    fail(name, "has " + std::to_string(layer.inputs.size()) + " inputs but " +
                   std::to_string(cat.inputs.size()) + " rescales");
  }
  Shape out{0, in[0].height, in[0].width};
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].height != out.height || in[i].width != out.width) {
      shape_mismatch(model, layer, layer.inputs[i], in[i],
                     "HxW " + std::to_string(out.height) + "x" + std::to_string(out.width) +
                         " like its first input");
    }
    out.channels += in[i].channels;
    if (cat.inputs[i].multiplier < 0 || cat.inputs[i].shift < -31 || cat.inputs[i].shift > 30) {
      fail(name, "rescale of input " + std::to_string(i) + " is out of range");
    }
  }
  return out;
}

Shape output_shape(const LayerInputs& c, const Add& add) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  if (layer.inputs.size() != 2) {
    fail(name, "an add takes exactly 2 inputs, got " + std::to_string(layer.inputs.size()));
  }
  if (in[1] != in[0]) shape_mismatch(model, layer, layer.inputs[1], in[1], shape_text(in[0]));
  if (add.multiplier_a < 0 || add.multiplier_b < 0 || add.shift < -31 || add.shift > 30) {
    fail(name, "rescale (multipliers " + std::to_string(add.multiplier_a) + ", " +
                   std::to_string(add.multiplier_b) + ", shift " + std::to_string(add.shift) +
                   ") is out of range");
  }
  if (add.act_min < -128 || add.act_max > 127 || add.act_min > add.act_max) {
    fail(name, "clamp [" + std::to_string(add.act_min) + ", " + std::to_string(add.act_max) +
                   "] is not within [-128, 127]");
  }
  return in[0];
}

Shape output_shape(const LayerInputs& c, const ConvTranspose2d& up) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  for (auto [what, value] : {std::pair<const char*, int64_t>{"in_channels", up.in_channels},
                             {"in_height", up.in_height},
                             {"in_width", up.in_width},
                             {"out_channels", up.out_channels},
                             {"out_height", up.out_height},
                             {"out_width", up.out_width},
                             {"kernel_h", up.kernel_h},
                             {"kernel_w", up.kernel_w},
                             {"stride_h", up.stride_h},
                             {"stride_w", up.stride_w}}) {
    check_positive(name, what, value);
  }
  if (up.pad_top < 0 || up.pad_left < 0) fail(name, "padding must be >= 0");
  if (up.out_height > up.full_height() || up.out_width > up.full_width()) {
    fail(name, "output " + std::to_string(up.out_height) + "x" + std::to_string(up.out_width) +
                   " is larger than the full transposed output " +
                   std::to_string(up.full_height()) + "x" + std::to_string(up.full_width()));
  }
  // Each output sums at most in_channels * kernel_h * kernel_w taps, as a convolution row.
  if (up.row_length() > 65793) {
    fail(name, "in_channels * kernel_h * kernel_w = " + std::to_string(up.row_length()) +
                   " exceeds the runtime's limit of 65793 taps per output");
  }
  const Shape expected{up.in_channels, up.in_height, up.in_width};
  if (in[0] != expected) shape_mismatch(model, layer, producer, in[0], shape_text(expected));
  check_weights(name, up.format, up.weights, up.out_channels, up.row_length());
  check_bias_and_requant(name, up.bias, up.requant, up.out_channels);
  return {up.out_channels, up.out_height, up.out_width};
}

Shape output_shape(const LayerInputs& c, const LeakyRelu& leaky) {
  if (leaky.slope_q15 < 0 || leaky.slope_q15 > 32767) {
    fail(c.layer.name, "slope_q15 " + std::to_string(leaky.slope_q15) + " is outside [0, 32767]");
  }
  return c.in[0];
}

// Per-layer (1) or per-channel (channels) parameters, each in [low, high].
void check_lif_values(const std::string& layer, const char* what, const std::vector<int32_t>& v,
                      int64_t channels, int64_t low, int64_t high) {
  if (v.size() != 1 && static_cast<int64_t>(v.size()) != channels) {
    fail(layer, "expected 1 or " + std::to_string(channels) + " " + what + " values, got " +
                    std::to_string(v.size()));
  }
  for (int32_t value : v) {
    if (value < low || value > high) {
      fail(layer, std::string(what) + " " + std::to_string(value) + " is outside [" +
                      std::to_string(low) + ", " + std::to_string(high) + "]");
    }
  }
}

Shape output_shape(const LayerInputs& c, const Lif& lif) {
  const std::string& name = c.layer.name;
  const auto& [model, layer, in, producer] = c;
  check_positive(name, "channels", lif.channels);
  check_positive(name, "plane", lif.plane);
  if (in[0].size() != lif.channels * lif.plane) {
    shape_mismatch(
        model, layer, producer, in[0],
        std::to_string(lif.channels) + " channels of " + std::to_string(lif.plane) + " elements");
  }
  if (lif.membrane_bits != 16 && lif.membrane_bits != 32) {
    fail(name, "membrane_bits must be 16 or 32, got " + std::to_string(lif.membrane_bits));
  }
  const int64_t membrane_max = lif.membrane_bits == 16 ? 32767 : 2147483647;
  check_lif_values(name, "threshold", lif.threshold, lif.channels, 1, membrane_max);
  if (lif.leak_shift < 0 || lif.leak_shift > 15) {
    fail(name, "leak_shift " + std::to_string(lif.leak_shift) + " is outside [0, 15]");
  }
  if (lif.leak_shift == 0) check_lif_values(name, "beta_q15", lif.beta_q15, lif.channels, 0, 32768);
  if (layer.output_scale != 1 || layer.output_zero_point != 0) {
    fail(name, "spikes have scale 1 and zero point 0");
  }
  return in[0];
}

Shape output_shape(const LayerInputs& c, const TimeSum&) {
  const std::string& name = c.layer.name;
  if (c.model.time_steps < 1) fail(name, "time_sum needs a sequence model (time_steps > 0)");
  const double expected =
      input_scale_of(c.model, c.producer) / static_cast<double>(c.model.time_steps);
  if (c.layer.output_zero_point != 0 ||
      std::abs(c.layer.output_scale - expected) > 1e-12 * expected) {
    fail(name, "a time sum has zero point 0 and scale input_scale / time_steps = " +
                   std::to_string(expected));
  }
  return c.in[0];
}

// The rules of a sequence model (see IntegerModel): stateful ops only in per-step layers, time
// sums the only way from per-step layers to the rest, per-step layers first.
void check_sequence(const IntegerModel& model) {
  const std::vector<bool> per_step = per_step_layers(model);
  bool after_seen = false;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& layer = model.layers[i];
    const bool stateful =
        std::holds_alternative<Lif>(layer.op) || std::holds_alternative<TimeSum>(layer.op);
    if (stateful && model.time_steps == 0) {
      fail(layer.name,
           std::string(op_table_name(layer.op)) + " needs a sequence model (time_steps > 0)");
    }
    if (model.time_steps == 0) continue;
    if (stateful && !per_step[i]) {
      fail(layer.name, std::string(op_table_name(layer.op)) +
                           " must run per time step (read the model input through per-step "
                           "layers)");
    }
    for (int producer : layer.inputs) {
      const bool reads_sum =
          producer != kModelInput && std::holds_alternative<TimeSum>(model.layers[producer].op);
      if (reads_sum && per_step[i]) {
        fail(layer.name, "a per-step layer reads the time sum '" + model.layers[producer].name +
                             "', which is complete only after the last step");
      }
    }
    if (!per_step[i]) after_seen = true;
    if (per_step[i] && after_seen) {
      fail(layer.name, "a per-step layer comes after a layer that runs once per sequence");
    }
  }
  if (model.time_steps > 0 && per_step.back()) {
    fail(model.layers.back().name,
         "the last layer of a sequence model must run after the sequence (read a time sum)");
  }
}

}  // namespace

const char* lif_reset_name(LifReset reset) {
  switch (reset) {
    case LifReset::kSubtract:
      return "subtract";
    case LifReset::kZero:
      return "zero";
    case LifReset::kNone:
      return "none";
  }
  throw std::invalid_argument("unknown LIF reset value " + std::to_string(static_cast<int>(reset)));
}

std::vector<bool> per_step_layers(const IntegerModel& model) {
  std::vector<bool> per_step(model.layers.size(), false);
  if (model.time_steps == 0) return per_step;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    for (int producer : model.layers[i].inputs) {
      if (producer == kModelInput) {
        per_step[i] = true;
      } else if (producer >= 0 && static_cast<size_t>(producer) < i && per_step[producer] &&
                 !std::holds_alternative<TimeSum>(model.layers[producer].op)) {
        per_step[i] = true;
      }
    }
  }
  return per_step;
}

int64_t sample_input_size(const IntegerModel& model) {
  return model.input_shape.size() * (model.time_steps > 0 ? model.time_steps : 1);
}

int64_t lif_state_bytes(const Lif& lif) {
  const int64_t neurons = lif.channels * lif.plane;
  return neurons * (lif.membrane_bits / 8) + (lif.reset_delay ? neurons : 0);
}

const char* op_table_name(const Op& op) {
  return std::visit(OpVisitor{
                        [](const FullyConnected&) { return "dense"; },
                        [](const Conv2d&) { return "conv2d"; },
                        [](const Pool&) { return "pool"; },
                        [](const Flatten&) { return "flatten"; },
                        [](const Slice&) { return "slice"; },
                        [](const Concat&) { return "concat"; },
                        [](const Add&) { return "add"; },
                        [](const ConvTranspose2d&) { return "conv_transpose2d"; },
                        [](const LeakyRelu&) { return "leaky_relu"; },
                        [](const Lif&) { return "lif"; },
                        [](const TimeSum&) { return "time_sum"; },
                    },
                    op);
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::kNone:
      return "none";
    case Activation::kRelu:
      return "relu";
    case Activation::kRelu6:
      return "relu6";
    case Activation::kHardSigmoid:
      return "hard_sigmoid";
  }
  throw std::invalid_argument("unknown activation value " +
                              std::to_string(static_cast<int>(activation)));
}

std::string shape_text(const Shape& shape) {
  return std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
         std::to_string(shape.width);
}

int8_t quantize_input(double x, double scale, int32_t zero_point) {
  if (!(scale > 0)) throw std::invalid_argument("quantize_input: scale must be > 0");
  // std::round rounds half away from zero, the rule the runtime uses everywhere.
  const double q = std::round(x / scale) + zero_point;
  return static_cast<int8_t>(std::clamp(q, -128.0, 127.0));
}

double dequantize_output(int8_t q, double scale, int32_t zero_point) {
  return scale * (static_cast<int32_t>(q) - zero_point);
}

int32_t input_zero_point_of(const IntegerModel& model, int producer) {
  return producer == kModelInput ? model.input_zero_point
                                 : model.layers.at(producer).output_zero_point;
}

double input_scale_of(const IntegerModel& model, int producer) {
  return producer == kModelInput ? model.input_scale : model.layers.at(producer).output_scale;
}

std::vector<Shape> validate(const IntegerModel& model) {
  if (model.input_shape.channels < 1 || model.input_shape.height < 1 ||
      model.input_shape.width < 1) {
    throw std::invalid_argument("integer model '" + model.name + "': input shape " +
                                shape_text(model.input_shape) + " has a zero extent");
  }
  if (!(model.input_scale > 0)) {
    throw std::invalid_argument("integer model '" + model.name + "': input scale must be > 0");
  }
  check_zero_point("input", "input zero point", model.input_zero_point);
  if (model.time_steps < 0) {
    throw std::invalid_argument("integer model '" + model.name + "': time_steps must be >= 0");
  }
  if (model.layers.empty()) {
    throw std::invalid_argument("integer model '" + model.name + "' has no layers");
  }
  std::set<std::string> names;
  std::vector<Shape> shapes;
  for (size_t index = 0; index < model.layers.size(); ++index) {
    const Layer& layer = model.layers[index];
    const std::string& name = layer.name;
    if (name.empty()) fail("#" + std::to_string(index), "has no name");
    if (!names.insert(name).second) fail(name, "name is used twice");
    check_zero_point(name, "output zero point", layer.output_zero_point);
    if (!(layer.output_scale > 0)) fail(name, "output scale must be > 0");
    if (layer.inputs.empty()) fail(name, "has no inputs");
    std::vector<Shape> in;
    for (int producer : layer.inputs) {
      if (producer != kModelInput && (producer < 0 || producer >= static_cast<int>(index))) {
        fail(name,
             "input " + std::to_string(producer) + " is not the model input or an earlier layer");
      }
      in.push_back(producer == kModelInput ? model.input_shape : shapes[producer]);
    }
    const bool concat =
        std::holds_alternative<Concat>(layer.op) || std::holds_alternative<Add>(layer.op);
    if (!concat && layer.inputs.size() != 1) {
      fail(name, "expected exactly 1 input, got " + std::to_string(layer.inputs.size()));
    }
    const int producer = layer.inputs[0];
    // Operators that do not rescale must keep the producer's quantization.
    const bool same_quantization =
        std::holds_alternative<Pool>(layer.op) || std::holds_alternative<Flatten>(layer.op) ||
        std::holds_alternative<Slice>(layer.op) || std::holds_alternative<LeakyRelu>(layer.op);
    if (same_quantization && (layer.output_zero_point != input_zero_point_of(model, producer) ||
                              layer.output_scale != input_scale_of(model, producer))) {
      fail(name, "pool, flatten, slice and leaky_relu must keep the scale and zero point of " +
                     producer_name(model, producer));
    }
    const LayerInputs inputs{model, layer, in, producer};
    shapes.push_back(
        std::visit([&](const auto& op) { return output_shape(inputs, op); }, layer.op));
  }
  check_sequence(model);
  const Op& last = model.layers.back().op;
  if (std::holds_alternative<Flatten>(last) || std::holds_alternative<Slice>(last)) {
    fail(model.layers.back().name,
         "the last layer must compute a new buffer (fully connected, conv2d, pool, concat or add), "
         "not a flatten or slice view");
  }
  return shapes;
}

}  // namespace lowbit::exporter
