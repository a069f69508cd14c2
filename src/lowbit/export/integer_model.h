// The integer model as plain data: what the exporter generates C from and what the C++ reference
// executor runs. No LibTorch here, so the reference and the code generator need no torch.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "lowbit/export/weight_format.h"

namespace lowbit::exporter {

/// Output activation merged into requantization; values equal the runtime's lowbit_activation_t.
enum class Activation { kNone = 0, kRelu = 1, kRelu6 = 2, kHardSigmoid = 3 };

/// Stable lower-case name of an activation ("none", "relu", "relu6", "hard_sigmoid").
const char* activation_name(Activation activation);

/// A batch-1 CHW activation shape; vectors are {features, 1, 1}.
struct Shape {
  int64_t channels = 1;  ///< C (or the feature count of a vector).
  int64_t height = 1;    ///< H.
  int64_t width = 1;     ///< W.

  /// Number of int8 elements, C * H * W.
  int64_t size() const { return channels * height * width; }
  /// Equality of all three extents.
  bool operator==(const Shape& other) const {
    return channels == other.channels && height == other.height && width == other.width;
  }
  /// Inequality of any extent.
  bool operator!=(const Shape& other) const { return !(*this == other); }
};

/// "CxHxW" text of a shape, for messages and model.json.
std::string shape_text(const Shape& shape);

/// Requantization of one layer output (docs/runtime.md, "Requantization").
struct Requant {
  std::vector<int32_t> multiplier;  ///< 1 (per layer) or out-channel count Q31 multipliers.
  std::vector<int32_t> shift;       ///< Shifts in [-31, 30], same count as multiplier.
  int32_t act_min = -128;           ///< Lower output clamp (activation), in [-128, 127].
  int32_t act_max = 127;            ///< Upper output clamp, in [act_min, 127].
};

/// Dense layer: out[o] = requant(bias[o] + sum_i (x[i] - input_zp) * w[o][i]).
struct FullyConnected {
  int64_t in_features = 0;   ///< Inputs (C * H * W of the producer; flatten is implicit).
  int64_t out_features = 0;  ///< Outputs.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  std::vector<int8_t> weights;                ///< Codes, row-major [out_features][in_features].
  std::vector<int32_t> bias;  ///< int32 [out_features] in the accumulator scale (may be empty).
  Requant requant;            ///< Per-layer or per-channel requantization and clamp.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
  /// Real weight scale(s), 1 or one per output channel; recorded in model.json only (the integer
  /// path uses the multipliers). May be empty.
  std::vector<double> weight_scales;
};

/// Grouped 2-D convolution, CHW, batch 1 (groups == in_channels is depthwise).
struct Conv2d {
  int64_t in_channels = 0;                    ///< Input channels.
  int64_t in_height = 0;                      ///< Input rows.
  int64_t in_width = 0;                       ///< Input columns.
  int64_t out_channels = 0;                   ///< Output channels.
  int64_t kernel_h = 1;                       ///< Kernel rows.
  int64_t kernel_w = 1;                       ///< Kernel columns.
  int64_t stride_h = 1;                       ///< Vertical stride.
  int64_t stride_w = 1;                       ///< Horizontal stride.
  int64_t pad_top = 0;                        ///< Rows of padding above.
  int64_t pad_bottom = 0;                     ///< Rows of padding below.
  int64_t pad_left = 0;                       ///< Columns of padding left.
  int64_t pad_right = 0;                      ///< Columns of padding right.
  int64_t groups = 1;                         ///< Channel groups.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  std::vector<int8_t> weights;  ///< Codes [out_channels][in_channels/groups][kernel_h][kernel_w].
  std::vector<int32_t> bias;    ///< int32 [out_channels] (may be empty).
  Requant requant;              ///< Per-layer or per-channel requantization and clamp.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
  /// Real weight scale(s), 1 or one per output channel; recorded in model.json only. May be empty.
  std::vector<double> weight_scales;

  /// Output rows: (in + pads - kernel) / stride + 1.
  int64_t out_height() const {
    return (in_height + pad_top + pad_bottom - kernel_h) / stride_h + 1;
  }
  /// Output columns.
  int64_t out_width() const { return (in_width + pad_left + pad_right - kernel_w) / stride_w + 1; }
  /// Weights per output channel: (in_channels / groups) * kernel_h * kernel_w.
  int64_t row_length() const { return in_channels / groups * kernel_h * kernel_w; }
};

/// Max or average pooling (input and output share scale and zero point; padding excluded).
struct Pool {
  bool average = false;    ///< Average pooling when true, max pooling otherwise.
  int64_t channels = 0;    ///< Channels.
  int64_t in_height = 0;   ///< Input rows.
  int64_t in_width = 0;    ///< Input columns.
  int64_t kernel_h = 1;    ///< Window rows.
  int64_t kernel_w = 1;    ///< Window columns.
  int64_t stride_h = 1;    ///< Vertical stride.
  int64_t stride_w = 1;    ///< Horizontal stride.
  int64_t pad_top = 0;     ///< Padding above (< kernel_h).
  int64_t pad_bottom = 0;  ///< Padding below (< kernel_h).
  int64_t pad_left = 0;    ///< Padding left (< kernel_w).
  int64_t pad_right = 0;   ///< Padding right (< kernel_w).

  /// Output rows.
  int64_t out_height() const {
    return (in_height + pad_top + pad_bottom - kernel_h) / stride_h + 1;
  }
  /// Output columns.
  int64_t out_width() const { return (in_width + pad_left + pad_right - kernel_w) / stride_w + 1; }
};

/// Flatten: CHW -> {C*H*W, 1, 1}; the same buffer, no code.
struct Flatten {};

/// A contiguous feature range [offset, offset + length) of the producer's flattened buffer, as a
/// vector {length, 1, 1}; the same memory, no copy (the two input slices of the smart-pixel model).
struct Slice {
  int64_t offset = 0;  ///< First element.
  int64_t length = 0;  ///< Element count.
};

/// Rescale of one concat input to the common output scale.
struct ConcatInput {
  int32_t multiplier = 1 << 30;  ///< Q31 multiplier of input_scale / output_scale.
  int32_t shift = 1;             ///< Shift that goes with multiplier.
};

/// Concatenation along channels (CHW with equal H and W) or features; one entry per input.
struct Concat {
  std::vector<ConcatInput> inputs;  ///< Rescales, one per layer input, in input order.
};

/// Element-wise sum of two inputs of one shape, each in its own scale (a residual add), requantized
/// once: out = clamp(round(((a - zp_a) * multiplier_a + (b - zp_b) * multiplier_b) *
/// 2^(shift - 31)) + output_zp, act_min, act_max), the sum exact in int64 (docs/runtime.md).
struct Add {
  int32_t multiplier_a = 1 << 30;             ///< input_scale_a / output_scale with `shift`, >= 0.
  int32_t multiplier_b = 1 << 30;             ///< input_scale_b / output_scale with `shift`, >= 0.
  int32_t shift = 1;                          ///< Shared shift in [-31, 30].
  int32_t act_min = -128;                     ///< Lower output clamp (the merged activation).
  int32_t act_max = 127;                      ///< Upper output clamp.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
};

/// Transposed 2-D convolution (groups 1), CHW, batch 1, cropped to the first out_height rows and
/// out_width columns of the full output ((in - 1) * stride - 2 * pad + kernel):
/// out[o][y][x] = requant(bias[o] + sum over i, ky, kx with y + pad_top - ky = iy * stride_h and
/// x + pad_left - kx = ix * stride_w inside the input of (in[i][iy][ix] - zp) * w[o][i][ky][kx]).
struct ConvTranspose2d {
  int64_t in_channels = 0;                    ///< Input channels.
  int64_t in_height = 0;                      ///< Input rows.
  int64_t in_width = 0;                       ///< Input columns.
  int64_t out_channels = 0;                   ///< Output channels.
  int64_t out_height = 0;                     ///< Output rows (the crop).
  int64_t out_width = 0;                      ///< Output columns (the crop).
  int64_t kernel_h = 1;                       ///< Kernel rows.
  int64_t kernel_w = 1;                       ///< Kernel columns.
  int64_t stride_h = 1;                       ///< Vertical stride.
  int64_t stride_w = 1;                       ///< Horizontal stride.
  int64_t pad_top = 0;                        ///< Rows cut from the top of the full output.
  int64_t pad_left = 0;                       ///< Columns cut from the left of the full output.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  /// Codes [out_channels][in_channels][kernel_h][kernel_w] (LibTorch stores [in][out][kh][kw]).
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;                  ///< int32 [out_channels] (may be empty).
  Requant requant;                            ///< Per-layer or per-channel requantization.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
  std::vector<double> weight_scales;          ///< Real weight scale(s), for model.json only.

  /// Weights per output channel: in_channels * kernel_h * kernel_w.
  int64_t row_length() const { return in_channels * kernel_h * kernel_w; }
  /// Full (uncropped) output rows: (in_height - 1) * stride_h - 2 * pad_top + kernel_h.
  int64_t full_height() const { return (in_height - 1) * stride_h - 2 * pad_top + kernel_h; }
  /// Full (uncropped) output columns.
  int64_t full_width() const { return (in_width - 1) * stride_w - 2 * pad_left + kernel_w; }
};

/// Leaky ReLU on int8 codes, same scale and zero point in and out: x if x >= zp, else
/// zp + round_half_away((x - zp) * slope_q15 / 2^15).
struct LeakyRelu {
  int32_t slope_q15 = 3277;  ///< Negative slope in Q15, in [0, 32767] (0.1 is 3277).
};

/// How a LIF neuron's membrane is reset after a spike; values equal lowbit_lif_reset_t.
enum class LifReset { kSubtract = 0, kZero = 1, kNone = 2 };

/// Leaky integrate-and-fire neurons, one per element of its input (the current, int8 codes of
/// its grid): membrane U (int16 or int32) and a pending reset carried from step to step in the
/// model's state; spikes {0, 1} out (scale 1, zero point 0). The arithmetic of one step is in
/// docs/runtime.md ("Spiking operators"); per layer or per channel threshold and leak.
struct Lif {
  int64_t channels = 0;            ///< C.
  int64_t plane = 0;               ///< H * W elements per channel.
  std::vector<int32_t> threshold;  ///< 1 or C thresholds >= 1 in units of the current's step.
  /// 1 or C leaks in Q15 ([0, 32768]), U <- round_half_up(U * beta_q15 / 2^15); unused (may be
  /// empty) when leak_shift > 0.
  std::vector<int32_t> beta_q15;
  int leak_shift = 0;                    ///< k in 1..15: U <- U - floor(U / 2^k); 0: beta_q15.
  int membrane_bits = 16;                ///< 16 or 32: the membrane's type; updates saturate.
  LifReset reset = LifReset::kSubtract;  ///< Reset after a spike.
  bool reset_delay = true;  ///< The reset lands at the next step (snnTorch) or the same one.
};

/// The sum over the time steps of a sequence of its input's codes minus their zero point,
/// saturated to int8 and kept in the model's state (zeroed by reset_state): the spike count
/// that, with output_scale = input_scale / time_steps, is the rate a decoder reads once the
/// sequence is over.
struct TimeSum {};

/// One operation of the integer model.
using Op = std::variant<FullyConnected, Conv2d, Pool, Flatten, Slice, Concat, Add, ConvTranspose2d,
                        LeakyRelu, Lif, TimeSum>;

/// A visitor made of one lambda per op type, for std::visit over an Op: a pass written with it
/// does not compile until it handles every op type, so a new op cannot be skipped silently.
template <class... Handlers>
struct OpVisitor : Handlers... {
  using Handlers::operator()...;
};
/// Deduces OpVisitor's handler types from the lambdas.
template <class... Handlers>
OpVisitor(Handlers...) -> OpVisitor<Handlers...>;

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

/// The short name tables show for an op: "dense", "conv2d", "pool", "flatten", "slice", "concat",
/// "add", "conv_transpose2d", "leaky_relu", "lif" or "time_sum".
const char* op_table_name(const Op& op);

/// Stable lower-case name of a LIF reset ("subtract", "zero", "none").
const char* lif_reset_name(LifReset reset);

/// For each layer, whether it runs once per time step (see IntegerModel); all false when
/// time_steps is 0. Needs a model whose producers come before their consumers.
std::vector<bool> per_step_layers(const IntegerModel& model);

/// int8 elements of one whole sample's input: input_shape.size(), times time_steps if > 0.
int64_t sample_input_size(const IntegerModel& model);

/// Bytes of state one LIF layer keeps between steps: its membranes (2 or 4 bytes each) and, with
/// reset_delay, one pending-reset byte per neuron.
int64_t lif_state_bytes(const Lif& lif);

/// Zero point of a producer (the model input's for kModelInput, else the layer's output zero
/// point); every operator's input_zero_point comes from here.
int32_t input_zero_point_of(const IntegerModel& model, int producer);

/// Input scale of a producer (the model's input scale or the layer's output scale).
double input_scale_of(const IntegerModel& model, int producer);

}  // namespace lowbit::exporter
