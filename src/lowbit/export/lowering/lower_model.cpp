#include "lowbit/export/lowering/lower_model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "lowbit/export/lowering/layer_chain.h"
#include "lowbit/export/lowering/requantization.h"
#include "lowbit/models/graph.h"
#include "lowbit/nn/qactivation.h"

namespace lowbit::exporter {

namespace {

using lowering::fail;
using lowering::Grid;
using lowering::LayerChain;

// Where a node's output is in the integer model: its producer, grid and shape.
struct Cursor {
  int producer = kModelInput;
  Grid grid;
  Shape shape;
};

// Walks a model graph through the converter, keeping the cursor of every settled node so that a
// node may read any earlier one (branches, concats), not only the node before it.
class GraphLowering {
 public:
  GraphLowering(IntegerModel& result, const Shape& input_shape, int64_t time_steps)
      : result_(result), converter_(result), time_steps_(time_steps) {
    converter_.set_input_shape(input_shape);
    input_shape_ = input_shape;
  }

  void add(const models::GraphNode& node, bool last) {
    if (node.host) {
      if (!last) fail(node.name, "only the last node of a graph can be left to the host");
      return;
    }
    const std::vector<std::string> inputs =
        node.inputs.empty() ? std::vector<std::string>{previous_} : node.inputs;
    switch (node.kind) {
      case models::NodeKind::kModule:
        if (inputs.size() != 1) fail(node.name, "a layer node takes exactly one input");
        if (inputs[0] != previous_) {
          // A branch starts: the node before settles first, so later nodes can read it.
          settle_previous(node.name);
          move_to(cursor_of(inputs[0], node.name));
        }
        converter_.add(node.name, *node.module);
        break;
      case models::NodeKind::kSlice:
        add_slice(node, inputs);
        break;
      case models::NodeKind::kConcat:
        add_concat(node, inputs);
        break;
      case models::NodeKind::kAdd:
        if (node.module) {
          add_residual(node, inputs);
        } else {
          add_exact_sum(node, inputs);
        }
        break;
      case models::NodeKind::kTimeMean:
        move_to_input_of(node, inputs);
        converter_.add_time_mean(node.name, time_steps_);
        break;
      case models::NodeKind::kCrop:
        add_crop(node, inputs);
        break;
      case models::NodeKind::kLeakyRelu:
        move_to_input_of(node, inputs);
        converter_.add_leaky_relu(node.name, node.slope);
        break;
    }
    previous_ = node.name;
    if (converter_.has_input() && !converter_.pending()) settled_[node.name] = current();
  }

  void finish() { converter_.finish(" (it is the last layer)"); }

 private:
  Cursor current() const { return {converter_.producer(), converter_.grid(), converter_.shape()}; }

  void move_to(const Cursor& cursor) {
    converter_.set_cursor(cursor.producer, cursor.grid, cursor.shape);
  }

  // The output of node `name` for `reader`: the model input, or a node whose output is settled
  // (the node before is settled here if it still waits for its output quantizer).
  Cursor cursor_of(const std::string& name, const std::string& reader) {
    if (name == previous_ && converter_.pending()) {
      converter_.finish(" (before '" + reader + "')");
      settled_[name] = current();
    }
    if (name == models::kGraphInput) {
      if (!converter_.has_input()) {
        fail(reader,
             "reads the model input before it is quantized: put a QActivation 'none' "
             "with an output quantizer first");
      }
      return {kModelInput, input_grid(), input_shape_};
    }
    return cursor_of_settled(name, reader);
  }

  void settle_previous(const std::string& reader) {
    if (!converter_.pending()) return;
    converter_.finish(" (before '" + reader + "')");
    settled_[previous_] = current();
  }

  Grid input_grid() const {
    Grid grid;
    grid.scale = result_.input_scale;
    grid.zero_point = result_.input_zero_point;
    return grid;
  }

  // A one-input node: the cursor moves to its input (settling the node before when it branches).
  void move_to_input_of(const models::GraphNode& node, const std::vector<std::string>& inputs) {
    if (inputs.size() != 1) fail(node.name, "takes exactly one input");
    if (inputs[0] == previous_) return;
    settle_previous(node.name);
    move_to(cursor_of(inputs[0], node.name));
  }

  // Crops the node before (a transposed convolution still waiting for its output quantizer) to
  // the height and width of the second input.
  void add_crop(const models::GraphNode& node, const std::vector<std::string>& inputs) {
    if (inputs.size() != 2 || inputs[0] != previous_) {
      fail(node.name, "a crop reads the node before it and the node whose size it takes");
    }
    const Shape size = inputs[1] == models::kGraphInput
                           ? input_shape_
                           : cursor_of_settled(inputs[1], node.name).shape;
    converter_.crop(node.name, size.height, size.width);
  }

  // The output of an already settled node (or the input), without settling the node before.
  Cursor cursor_of_settled(const std::string& name, const std::string& reader) const {
    const auto found = settled_.find(name);
    if (found == settled_.end()) {
      fail(reader, "reads '" + name + "', which is not an earlier node with a quantized output");
    }
    return found->second;
  }

  // The two settled inputs of an add, of one shape.
  std::pair<Cursor, Cursor> addends(const models::GraphNode& node,
                                    const std::vector<std::string>& inputs) {
    if (inputs.size() != 2) fail(node.name, "an add takes exactly two inputs");
    const Cursor a = cursor_of(inputs[0], node.name);
    const Cursor b = cursor_of(inputs[1], node.name);
    if (a.shape != b.shape) {
      fail(node.name, "adds '" + inputs[0] + "' (" + shape_text(a.shape) + ") and '" + inputs[1] +
                          "' (" + shape_text(b.shape) + "), which differ in shape");
    }
    require_static_scales(node, {a, b}, inputs);
    return {a, b};
  }

  // Inputs whose scale follows each sample (dynshift) cannot be added or joined on one grid.
  static void require_static_scales(const models::GraphNode& node, const std::vector<Cursor>& in,
                                    const std::vector<std::string>& names) {
    for (size_t k = 0; k < in.size(); ++k) {
      if (in[k].grid.per_sample) {
        fail(node.name, "its input '" + names[k] +
                            "' has a per-sample scale (dynshift); adds and concats need fixed "
                            "scales");
      }
    }
  }

  // The exact sum of two inputs on one grid with zero point 0 (spike counts): no rescale.
  void add_exact_sum(const models::GraphNode& node, const std::vector<std::string>& inputs) {
    const auto [a, b] = addends(node, inputs);
    if (a.grid.scale != b.grid.scale || a.grid.zero_point != 0 || b.grid.zero_point != 0) {
      fail(node.name,
           "an add without an activation needs two inputs on one grid with zero point 0 "
           "(give it a QActivation with an output quantizer otherwise)");
    }
    const int32_t low = a.grid.q_min + b.grid.q_min;
    const int32_t high = a.grid.q_max + b.grid.q_max;
    if (low < -128 || high > 127) {
      fail(node.name, "the exact sum of codes in [" + std::to_string(low) + ", " +
                          std::to_string(high) + "] does not fit int8");
    }
    Layer layer;
    layer.name = node.name;
    layer.inputs = {a.producer, b.producer};
    layer.op = build_add(node.name, a.grid.scale, b.grid.scale, a.grid.scale, 0, Activation::kNone);
    layer.output_scale = a.grid.scale;
    layer.output_zero_point = 0;
    converter_.push_layer(std::move(layer), Grid{a.grid.scale, 0, low, high}, a.shape);
  }

  void add_slice(const models::GraphNode& node, const std::vector<std::string>& inputs) {
    if (inputs.size() != 1) fail(node.name, "a slice takes exactly one input");
    const Cursor in = cursor_of(inputs[0], node.name);
    Layer slice;
    slice.name = node.name;
    slice.inputs = {in.producer};
    slice.op = Slice{node.offset, node.length};
    slice.output_scale = in.grid.scale;
    slice.output_zero_point = in.grid.zero_point;
    converter_.push_layer(std::move(slice), in.grid, Shape{node.length, 1, 1});
  }

  void add_concat(const models::GraphNode& node, const std::vector<std::string>& inputs) {
    if (inputs.size() < 2) fail(node.name, "a concat takes at least two inputs");
    std::vector<Cursor> in;
    for (const std::string& name : inputs) in.push_back(cursor_of(name, node.name));
    require_static_scales(node, in, inputs);
    // The concat takes the finest input grid that holds every input's range, else the coarsest
    // one, so that no input overflows it and as little precision as possible is lost (spike
    // rates k / T beside a decoder's outputs keep the decoder's step).
    Grid coarse = in[0].grid;
    for (const Cursor& c : in) {
      if (c.grid.scale > coarse.scale) coarse = c.grid;
    }
    for (const Cursor& candidate : in) {
      if (candidate.grid.scale >= coarse.scale) continue;
      const bool holds = std::all_of(in.begin(), in.end(), [&](const Cursor& c) {
        const double low = (c.grid.q_min - c.grid.zero_point) * c.grid.scale;
        const double high = (c.grid.q_max - c.grid.zero_point) * c.grid.scale;
        const double step = candidate.grid.scale;
        const int32_t zp = candidate.grid.zero_point;
        return std::round(low / step) + zp >= -128 && std::round(high / step) + zp <= 127;
      });
      if (holds) coarse = candidate.grid;
    }
    coarse.q_min = -128;
    coarse.q_max = 127;
    Layer concat;
    concat.name = node.name;
    Concat op;
    Shape shape{0, in[0].shape.height, in[0].shape.width};
    for (const Cursor& c : in) {
      concat.inputs.push_back(c.producer);
      op.inputs.push_back(build_concat_input(node.name, c.grid.scale, coarse.scale));
      shape.channels += c.shape.channels;
    }
    concat.op = std::move(op);
    concat.output_scale = coarse.scale;
    concat.output_zero_point = coarse.zero_point;
    converter_.push_layer(std::move(concat), coarse, shape);
  }

  // The sum of two settled nodes, requantized once into the grid of the node's activation, whose
  // function (relu) becomes the clamp.
  void add_residual(const models::GraphNode& node, const std::vector<std::string>& inputs) {
    const auto [a, b] = addends(node, inputs);
    auto* act = dynamic_cast<nn::QActivationImpl*>(node.module.get());
    if (act == nullptr) {
      fail(node.name, "an add node needs a QActivation after the sum (its module)");
    }
    if (!act->output_quant()) {
      fail(node.name,
           "the activation after the sum has no output quantizer, so the sum has no "
           "int8 grid");
    }
    const Activation activation = lowering::activation_of(*act, node.name);
    const Grid out = lowering::activation_grid(act->output_quant(), a.shape, node.name);
    // build_add's errors name the layer.
    Add op =
        build_add(node.name, a.grid.scale, b.grid.scale, out.scale, out.zero_point, activation);
    // The quantizer's own grid may be narrower than int8 (e.g. 4-bit activations).
    op.act_min = std::max(op.act_min, out.q_min);
    op.act_max = std::min(op.act_max, out.q_max);
    if (op.act_min > op.act_max) fail(node.name, "the activation leaves no value of its grid");
    Layer layer;
    layer.name = node.name;
    layer.inputs = {a.producer, b.producer};
    layer.op = op;
    layer.output_scale = out.scale;
    layer.output_zero_point = out.zero_point;
    converter_.push_layer(std::move(layer), out, a.shape);
  }

  IntegerModel& result_;
  LayerChain converter_;
  int64_t time_steps_ = 0;
  Shape input_shape_;
  std::string previous_ = models::kGraphInput;
  std::map<std::string, Cursor> settled_;
};

}  // namespace

SampleShape sample_shape_of(c10::IntArrayRef sizes, const std::string& what) {
  switch (sizes.size()) {
    case 2:
      return {Shape{sizes[1], 1, 1}};
    case 3:
      return {Shape{1, sizes[1], sizes[2]}};
    case 4:
      return {Shape{sizes[1], sizes[2], sizes[3]}};
    case 5:
      return {Shape{sizes[2], sizes[3], sizes[4]}, sizes[1]};
    default:
      throw std::invalid_argument(what + ": expected inputs [N, F], [N, H, W], [N, C, H, W] or " +
                                  "sequences [N, T, C, H, W] for export, got rank " +
                                  std::to_string(sizes.size()));
  }
}

IntegerModel lower_model(torch::nn::Module& model, const SampleShape& input,
                         const std::string& name) {
  model.eval();
  const models::ModelGraph graph = models::model_graph(model);
  IntegerModel result;
  result.name = name;
  result.input_shape = input.frame;
  result.time_steps = input.time_steps;
  GraphLowering lowering(result, input.frame, input.time_steps);
  for (size_t i = 0; i < graph.size(); ++i) lowering.add(graph[i], i + 1 == graph.size());
  lowering.finish();
  if (result.layers.empty()) {
    throw std::invalid_argument("convert: model '" + name + "' has no layer to export");
  }
  validate(result);
  return result;
}

}  // namespace lowbit::exporter
