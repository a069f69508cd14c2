// cnn_mcu: BitNetMCU-style classifier with a depthwise convolution front end (seed 002).
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::models {

/// Options of CnnMcu; quantizer SPECs are empty for none (the FP model).
struct CnnMcuOptions {
  /// Height and width of the single-channel input (16 for BitNetMCU, 28 for raw MNIST).
  TORCH_ARG(int64_t, image_size) = 16;
  /// Channels of conv1 (and of conv2 when it is depthwise).
  TORCH_ARG(int64_t, channels) = 16;
  /// Output channels of conv2: 0 keeps BitNetMCU's depthwise conv2 (channels -> channels, groups
  /// channels); N > 0 makes conv2 a full 3x3 convolution channels -> N, which costs 9 * channels
  /// weights per output channel but mixes channels before the FC.
  TORCH_ARG(int64_t, conv2_channels) = 0;
  /// Output channels of an optional third stage (full 3x3 conv3, [bn3], relu, 2x2 max pool):
  /// 0 leaves it out; N > 0 adds it, so the FC reads N * (side/8)^2 features instead of
  /// conv2's * (side/4)^2, moving flash from the FC into channel mixing.
  TORCH_ARG(int64_t, conv3_channels) = 0;
  /// Widths of the hidden fully connected layers fc1, fc2, ...
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{64};
  /// Number of classes (width of layer fc).
  TORCH_ARG(int64_t, classes) = 10;
  /// Batch norm (bn1, bn2) after conv1 and conv2, foldable by the `fold_batchnorm` event.
  TORCH_ARG(bool, batch_norm) = false;
  /// Whether fc1, ... and fc learn biases; false lets a per-sample shift (`dynshift`) feed them,
  /// since a bias's integer value needs its input's fixed scale (the convs keep theirs).
  TORCH_ARG(bool, fc_bias) = true;
  /// SPEC of every conv and fc weight quantizer.
  TORCH_ARG(std::string, weight_quant) = "";
  /// SPEC of every conv and fc bias quantizer.
  TORCH_ARG(std::string, bias_quant) = "";
  /// SPEC of the quantizer of the model input (layer input_act).
  TORCH_ARG(std::string, input_quant) = "";
  /// SPEC of the output quantizer of every hidden activation.
  TORCH_ARG(std::string, activation_quant) = "";
};

/// A chain (children in registration order, each applied to the previous one's output):
/// input_act (none) -> conv1 1->C 3x3 pad 1, [bn1], act1 relu, pool1 max 2x2 -> conv2 depthwise C
/// 3x3 pad 1 (groups C; or a full 3x3 C->conv2_channels), [bn2], act2 relu, pool2 max 2x2 ->
/// [conv3 full 3x3 -> conv3_channels, [bn3], act3 relu, pool3 max 2x2] -> flatten -> fc1, fc_act1
/// relu, ... -> fc (classes logits, no activation). bn1, bn2 (and bn3) exist with
/// options.batch_norm().
class CnnMcuImpl : public torch::nn::Cloneable<CnnMcuImpl> {
 public:
  /// A model from options; throws std::invalid_argument for sizes that leave no pixel.
  explicit CnnMcuImpl(const CnnMcuOptions& options = {});

  /// (Re)creates every layer from the options.
  void reset() override;
  /// Logits {N, classes} for input {N, 1, image_size, image_size}.
  torch::Tensor forward(const torch::Tensor& input);

  /// The options the model was built with.
  CnnMcuOptions options;

 private:
  // The children in registration order, in the form that can run them.
  std::vector<torch::nn::AnyModule> chain_;
};

/// Holder of CnnMcuImpl.
TORCH_MODULE(CnnMcu);

}  // namespace lowbit::models
