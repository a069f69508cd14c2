// The integer model as plain data: what the exporter generates C from and what the C++ reference
// executor runs. No LibTorch here, so the reference and the code generator need no torch.
// Each op type lives in export/ops/ (its struct and OpTraits); this file lists them in `Op`.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "lowbit/export/ops/add.h"
#include "lowbit/export/ops/concat.h"
#include "lowbit/export/ops/conv2d.h"
#include "lowbit/export/ops/conv_transpose2d.h"
#include "lowbit/export/ops/dynamic_shift_dense.h"
#include "lowbit/export/ops/fully_connected.h"
#include "lowbit/export/ops/leaky_relu.h"
#include "lowbit/export/ops/lif.h"
#include "lowbit/export/ops/op_base.h"
#include "lowbit/export/ops/pool.h"
#include "lowbit/export/ops/time_sum.h"
#include "lowbit/export/ops/views.h"
#include "lowbit/export/weight_format.h"

namespace lowbit::exporter {

/// One operation of the integer model: every op type of export/ops/.
using Op = std::variant<FullyConnected, Conv2d, Pool, Flatten, Slice, Concat, Add, ConvTranspose2d,
                        LeakyRelu, Lif, TimeSum, DynamicShiftDense>;

/// A visitor made of one lambda per op type, for std::visit over an Op: a pass written with it
/// does not compile until it handles every op type, so a new op cannot be skipped silently.
template <class... Handlers>
struct OpVisitor : Handlers... {
  using Handlers::operator()...;
};
/// Deduces OpVisitor's handler types from the lambdas.
template <class... Handlers>
OpVisitor(Handlers...) -> OpVisitor<Handlers...>;

/// Calls f(OpTraits<T>{}, op) with the op's type T, for passes that ask the traits of any op.
template <class F>
decltype(auto) visit_op(const Op& op, F&& f) {
  return std::visit(
      [&](const auto& o) -> decltype(auto) { return f(OpTraits<std::decay_t<decltype(o)>>{}, o); },
      op);
}

/// Index in Layer::inputs that names the model input instead of a layer output.
inline constexpr int kModelInput = -1;

/// A node of the graph: an operation, where its inputs come from and its output quantization.
struct Layer {
  std::string name;         ///< Unique name (used in messages, generated identifiers and json).
  std::vector<int> inputs;  ///< Producers: kModelInput or the index of an earlier layer.
  Op op;                    ///< The operation.
  double output_scale = 1;  ///< Real value = output_scale * (q - output_zero_point).
  int32_t output_zero_point = 0;  ///< Output zero point in [-128, 127].
};

/// A whole integer model: the output is the last layer's output.
///
/// A sequence model (time_steps > 0) reads time_steps frames of input_shape per sample. Its
/// per-step layers (those that read the model input without a TimeSum in between) run once per
/// frame and may hold state (Lif, TimeSum); the others run once after the last frame and read
/// per-step layers only through a TimeSum. Layers are stored in execution order: every per-step
/// layer before every after-sequence layer.
struct IntegerModel {
  std::string name;        ///< Model name (recorded in generated files).
  Shape input_shape;       ///< CHW shape of one sample (of one frame in a sequence model).
  int64_t time_steps = 0;  ///< 0: one input per sample; T >= 1: T frames per sample.
  /// Input quantization: a raw float x becomes q = clamp(round(x / input_scale) + zp, -128, 127)
  /// (round half away from zero), see quantize_input().
  double input_scale = 1;
  int32_t input_zero_point = 0;  ///< Input zero point in [-128, 127].
  std::vector<Layer> layers;     ///< Layers in execution order (producers before consumers).
};

/// Quantizes one raw float input value: clamp(round_half_away(x / scale) + zero_point, -128, 127).
int8_t quantize_input(double x, double scale, int32_t zero_point);

/// Real value of an int8 output: scale * (q - zero_point).
double dequantize_output(int8_t q, double scale, int32_t zero_point);

/// The output shape of every layer, after checking the whole model: producer indices, shapes
/// between layers (a mismatch names both layers), formats and codes, bias and requantization
/// sizes and ranges, zero points. Throws std::invalid_argument naming the offending layer(s).
std::vector<Shape> validate(const IntegerModel& model);

/// The short name tables show for an op (OpTraits::kName): "dense", "conv2d", "pool", ...
const char* op_table_name(const Op& op);

/// The name generated C comments and model.json give an op (OpTraits::c_name): "fully_connected",
/// "conv2d", "max_pool", ...
const char* op_c_name(const Op& op);

/// Whether an op is a view of its input (flatten, slice): no code, no memory.
bool op_is_view(const Op& op);

/// The stored weights of an op, if it has any (fully connected, convolutions).
std::optional<WeightsView> op_weights(const Op& op);

/// For each layer, whether it runs once per time step (see IntegerModel); all false when
/// time_steps is 0. Needs a model whose producers come before their consumers.
std::vector<bool> per_step_layers(const IntegerModel& model);

/// int8 elements of one whole sample's input: input_shape.size(), times time_steps if > 0.
int64_t sample_input_size(const IntegerModel& model);

/// The smallest int8 value the output of `producer` (a layer index or kModelInput) can hold: its
/// op's OpTraits::value_floor (the clamp minimum of a requantizing op), looking through ops that
/// pass their input's values (pools, views, leaky ReLU); -128 for the model input. MCU kernels
/// skip inputs at this value.
int32_t value_floor(const IntegerModel& model, int producer);

/// Zero point of a producer (the model input's for kModelInput, else the layer's output zero
/// point); every operator's input_zero_point comes from here.
int32_t input_zero_point_of(const IntegerModel& model, int producer);

/// Input scale of a producer (the model's input scale or the layer's output scale).
double input_scale_of(const IntegerModel& model, int producer);

}  // namespace lowbit::exporter
