// One chain of layers lowered to integer layers: the cursor (producer, grid, shape) the next
// layer reads from, and the QLinear/QConv2d that waits for the quantizer fixing its output scale,
// with batch norms folded into it and the following activation merged into its requantization.
#pragma once

#include <torch/expanding_array.h>
#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/lowering/activation_grid.h"
#include "lowbit/nn/leaky.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qconv_transpose2d.h"
#include "lowbit/nn/qlinear.h"
#include "lowbit/quant/affine/dynamic_shift.h"

namespace lowbit::exporter::lowering {

/// A fully connected or conv layer waiting for the quantizer that fixes its output scale.
struct Pending {
  Layer layer;                        ///< The layer, op filled but not yet requantized.
  int64_t out_channels = 0;           ///< Output channels (features).
  Shape out_shape;                    ///< Output shape.
  std::vector<double> weight_scales;  ///< One per output channel.
  std::vector<double> bias_real;      ///< One per output channel.
  int64_t row_length = 0;             ///< Weights per output channel.
};

/// Builds the integer model while walking the layers of a chain.
class LayerChain {
 public:
  /// Appends to `model`.
  explicit LayerChain(IntegerModel& model) : model_(model) {}
  /// Where the next layer reads from.
  void set_cursor(int producer, const Grid& grid, const Shape& shape);
  /// The shape the model input has, before any layer.
  void set_input_shape(const Shape& shape) { shape_ = shape; }
  /// The value the next layer reads: a layer's index, or kModelInput.
  int producer() const { return producer_; }
  /// The quantization grid of that value.
  const Grid& grid() const { return grid_; }
  /// The shape of that value.
  const Shape& shape() const { return shape_; }
  /// Whether the model input's grid is known (a quantizer on the input has been seen).
  bool has_input() const { return has_input_; }
  /// Whether a layer still waits for the quantizer that fixes its output scale.
  bool pending() const { return pending_.has_value(); }
  /// Appends a layer that reads `producer` and makes it the cursor.
  void push_layer(Layer layer, const Grid& grid, const Shape& shape);
  /// Lowers one module (a layer, batch norm, activation, pool, LIF neurons, ...) at the cursor.
  void add(const std::string& name, torch::nn::Module& module);
  /// Crops the pending transposed convolution's output to its first `height` rows and `width`
  /// columns (its output quantizer is element-wise, so cropping before it changes nothing).
  void crop(const std::string& name, int64_t height, int64_t width);
  /// Appends a leaky ReLU of the (settled) cursor with negative slope `slope`.
  void add_leaky_relu(const std::string& name, double slope);
  /// Appends the time sum of the (settled) cursor: the mean over `time_steps` steps as a count
  /// with scale / time_steps.
  void add_time_mean(const std::string& name, int64_t time_steps);
  /// Emits the pending layer with its own output quantizer or fails when it has none.
  void finish(const std::string& what_follows);

 private:
  void require_input(const std::string& name);
  void require_settled(const std::string& name);
  void push(const std::string& name, Op op, const Shape& out_shape);
  void add_activation(const std::string& name, nn::QActivationImpl& act);
  /// quantize_input() clamps to [-128, 127]; a narrower input grid would differ.
  void clamp_input_grid(const std::string& name);
  void take_input_quant(const std::string& name, const quant::Quantizer& input_quant);
  void start_pending(const std::string& name, Op op, const quant::Quantizer& weight_quant,
                     const torch::Tensor& weight, const torch::Tensor& bias, int64_t out,
                     const Shape& out_shape, const quant::Quantizer& output_quant);
  void add_linear(const std::string& name, nn::QLinearImpl& linear);
  /// Settles the layer before, takes the input quantizer and checks what both convolutions need
  /// of their input (no dilation, the channel count).
  void start_convolution(const std::string& name, const quant::Quantizer& input_quant,
                         torch::ExpandingArray<2> dilation, int64_t in_channels);
  void add_conv(const std::string& name, nn::QConv2dImpl& conv);
  void add_conv_transpose(const std::string& name, nn::QConvTranspose2dImpl& up);
  void add_lif(const std::string& name, const nn::LeakyImpl& lif);
  void add_pool(const std::string& name, bool average, torch::ExpandingArray<2> kernel,
                torch::ExpandingArray<2> stride, torch::ExpandingArray<2> padding,
                torch::ExpandingArray<2> dilation, bool ceil_mode);
  void fold_batch_norm(const std::string& name, const torch::Tensor& weight,
                       const torch::Tensor& bias, const torch::Tensor& mean,
                       const torch::Tensor& var, double eps, bool affine);
  /// Emits the pending layer with its output grid and merged activation.
  void settle(Activation activation, const Grid& out, const std::string& quant_layer);
  /// Emits the pending dense layer as a DynamicShiftDense: its output quantizer is `dynshift`.
  void settle_dynamic_shift(Activation activation, const quant::DynamicShiftImpl& quantizer,
                            const std::string& quant_layer);
  /// Fails naming `name` when the cursor's scale is per sample: `what` needs a fixed one.
  void require_static_scale(const std::string& name, const std::string& what);
  IntegerModel& model_;
  int producer_ = kModelInput;
  Grid grid_;
  Shape shape_;
  bool has_input_ = false;
  std::optional<Pending> pending_;
  std::optional<Grid> pending_output_quant_;
  /// The pending layer's own output quantizer when it is a dynshift.
  std::shared_ptr<quant::DynamicShiftImpl> pending_dynamic_quant_;
  bool folded_ = false;
};

}  // namespace lowbit::exporter::lowering
