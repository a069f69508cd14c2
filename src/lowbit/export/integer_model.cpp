#include "lowbit/export/integer_model.h"

#include "lowbit/export/ops/op_support.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

namespace lowbit::exporter {

namespace {

using ops::fail;
using ops::producer_name;

void check_zero_point(const std::string& layer, const char* what, int64_t zp) {
  if (zp < -128 || zp > 127) {
    fail(layer, std::string(what) + " " + std::to_string(zp) + " is outside [-128, 127]");
  }
}

bool is_stateful(const Op& op) {
  return visit_op(op, [](auto traits, const auto&) { return decltype(traits)::kStateful; });
}

bool ends_sequence(const Op& op) {
  return visit_op(op, [](auto traits, const auto&) { return decltype(traits)::kEndsSequence; });
}

// The rules of a sequence model (see IntegerModel): stateful ops only in per-step layers, time
// sums the only way from per-step layers to the rest, per-step layers first.
void check_sequence(const IntegerModel& model) {
  const std::vector<bool> per_step = per_step_layers(model);
  bool after_seen = false;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& layer = model.layers[i];
    const bool stateful = is_stateful(layer.op);
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
      const bool reads_sum = producer != kModelInput && ends_sequence(model.layers[producer].op);
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

std::vector<bool> per_step_layers(const IntegerModel& model) {
  std::vector<bool> per_step(model.layers.size(), false);
  if (model.time_steps == 0) return per_step;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    for (int producer : model.layers[i].inputs) {
      if (producer == kModelInput) {
        per_step[i] = true;
      } else if (producer >= 0 && static_cast<size_t>(producer) < i && per_step[producer] &&
                 !ends_sequence(model.layers[producer].op)) {
        per_step[i] = true;
      }
    }
  }
  return per_step;
}

int64_t sample_input_size(const IntegerModel& model) {
  return model.input_shape.size() * (model.time_steps > 0 ? model.time_steps : 1);
}

const char* op_table_name(const Op& op) {
  return visit_op(op, [](auto traits, const auto&) { return decltype(traits)::kName; });
}

const char* op_c_name(const Op& op) {
  return visit_op(op, [](auto traits, const auto& o) { return decltype(traits)::c_name(o); });
}

bool op_is_view(const Op& op) {
  return visit_op(op, [](auto traits, const auto&) { return decltype(traits)::kView; });
}

std::optional<WeightsView> op_weights(const Op& op) {
  return visit_op(op, [](auto traits, const auto& o) { return decltype(traits)::weights(o); });
}

int32_t value_floor(const IntegerModel& model, int producer) {
  while (producer != kModelInput) {
    const Layer& layer = model.layers[static_cast<size_t>(producer)];
    const std::optional<int32_t> floor = visit_op(
        layer.op, [](auto traits, const auto& o) { return decltype(traits)::value_floor(o); });
    if (floor) return *floor;
    producer = layer.inputs[0];
  }
  return -128;
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
    const int producer = layer.inputs[0];
    const ValidateContext inputs{model, layer, in, producer};
    shapes.push_back(visit_op(layer.op, [&](auto traits, const auto& op) {
      using Traits = decltype(traits);
      const int expected = Traits::kInputs;
      if (expected != kAnyInputs && static_cast<int>(layer.inputs.size()) != expected) {
        fail(name, std::string(Traits::kName) + " takes exactly " + std::to_string(expected) +
                       " input(s), got " + std::to_string(layer.inputs.size()));
      }
      // Operators that do not rescale must keep the producer's quantization.
      if (Traits::kKeepsQuantization &&
          (layer.output_zero_point != input_zero_point_of(model, producer) ||
           layer.output_scale != input_scale_of(model, producer))) {
        fail(name, std::string(Traits::kName) + " must keep the scale and zero point of " +
                       producer_name(model, producer));
      }
      return Traits::output_shape(inputs, op);
    }));
  }
  check_sequence(model);
  if (op_is_view(model.layers.back().op)) {
    fail(model.layers.back().name,
         "the last layer must compute a new buffer (fully connected, conv2d, pool, concat or add), "
         "not a flatten or slice view");
  }
  return shapes;
}

}  // namespace lowbit::exporter
