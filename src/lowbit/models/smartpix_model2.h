// smartpix_model2: the two-branch smart-pixel classifier "Model2" of seeds 000/001.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "lowbit/models/graph.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::models {

/// Options of SmartpixModel2; quantizer SPECs are empty for none (the FP model).
struct SmartpixModel2Options {
  /// Width of the two branch layers (xz_dense1, yl_dense1).
  TORCH_ARG(int64_t, branch_width) = 32;
  /// Width of merged_dense1.
  TORCH_ARG(int64_t, merged_width1) = 128;
  /// Width of merged_dense2.
  TORCH_ARG(int64_t, merged_width2) = 64;
  /// Width of merged_dense3.
  TORCH_ARG(int64_t, merged_width3) = 32;
  /// Dropout probability after each merged dense activation (0 disables it).
  TORCH_ARG(double, dropout) = 0.1;
  /// SPEC of every dense layer's weight quantizer.
  TORCH_ARG(std::string, weight_quant) = "";
  /// SPEC of every dense layer's bias quantizer.
  TORCH_ARG(std::string, bias_quant) = "";
  /// SPEC of the quantizer of the model input (layer input_act).
  TORCH_ARG(std::string, input_quant) = "";
  /// SPEC of the output quantizer of every hidden activation (xz_act1 ... merged_act3).
  TORCH_ARG(std::string, activation_quant) = "";
  /// SPEC of the output quantizer of output_activation (the sigmoid).
  TORCH_ARG(std::string, output_quant) = "";
  /// Kernel initialiser of every dense layer (nn/initializers.h); Keras Dense: glorot_uniform,
  /// QKeras QDense: he_normal.
  TORCH_ARG(std::string, kernel_initializer) = "torch_default";
  /// Bias initialiser of every dense layer; Keras and QKeras: zeros.
  TORCH_ARG(std::string, bias_initializer) = "torch_default";
  /// QKeras QDense's QInitializer: redraw each kernel to fit its weight grid when the stage's
  /// quantizer is set (nn::fit_kernel_to_grid); matters for stages trained from scratch.
  TORCH_ARG(bool, fit_kernel_to_grid) = false;
  /// Dropout after merged_act1 only (the QKeras Model2 of the smart-pixel repository) instead of
  /// after each merged activation.
  TORCH_ARG(bool, dropout_first_only) = false;
};

/// Model2 of seeds 000/001: input {N, 36} (smartpix.h layout) split into branch 1 (columns 0-21:
/// x-profile + z-global) and branch 2 (columns 22-35: y-profile + y-local);
/// input_act (function none) -> [xz_dense1 22->32, xz_act1 relu] and [yl_dense1 14->32, yl_act1
/// relu] -> concat 64 -> merged_dense1 128, merged_act1 relu, merged_drop1 -> merged_dense2 64,
/// merged_act2, merged_drop2 -> merged_dense3 32, merged_act3, merged_drop3 -> output 1 ->
/// output_activation sigmoid. The output layer is named `output` as in seed 001's fix.
class SmartpixModel2Impl : public torch::nn::Cloneable<SmartpixModel2Impl>, public GraphModel {
 public:
  /// Columns of branch 1 (x-profile + z-global).
  static constexpr int64_t kBranch1Features = 22;
  /// Columns of branch 2 (y-profile + y-local).
  static constexpr int64_t kBranch2Features = 14;
  /// Input columns: the smart-pixel feature layout of data/smartpix.h (a test keeps them equal).
  static constexpr int64_t kInputFeatures = kBranch1Features + kBranch2Features;

  /// A model from options.
  explicit SmartpixModel2Impl(const SmartpixModel2Options& options = {});

  /// (Re)creates every layer from the options.
  void reset() override;
  /// Probabilities {N, 1} for input {N, 36}; throws std::invalid_argument for another shape.
  torch::Tensor forward(const torch::Tensor& input);
  /// Logits {N, 1} (everything but output_activation), for losses with a built-in sigmoid.
  torch::Tensor forward_logits(const torch::Tensor& input);
  /// input_act, then each branch as a slice of the quantized input and its dense layer, the
  /// concat, the merged chain and the output; a sigmoid output_activation is left to the host.
  models::ModelGraph graph() override;

  /// The options the model was built with.
  SmartpixModel2Options options;
  /// Quantizer of the model input (function none).
  nn::QActivation input_act{nullptr};
  /// Branch 1 dense layer 22 -> branch_width.
  nn::QLinear xz_dense1{nullptr};
  /// Branch 1 activation (relu).
  nn::QActivation xz_act1{nullptr};
  /// Branch 2 dense layer 14 -> branch_width.
  nn::QLinear yl_dense1{nullptr};
  /// Branch 2 activation (relu).
  nn::QActivation yl_act1{nullptr};
  /// First merged dense layer 2 * branch_width -> merged_width1.
  nn::QLinear merged_dense1{nullptr};
  /// Its activation (relu).
  nn::QActivation merged_act1{nullptr};
  /// Dropout after merged_act1.
  torch::nn::Dropout merged_drop1{nullptr};
  /// Second merged dense layer.
  nn::QLinear merged_dense2{nullptr};
  /// Its activation (relu).
  nn::QActivation merged_act2{nullptr};
  /// Dropout after merged_act2.
  torch::nn::Dropout merged_drop2{nullptr};
  /// Third merged dense layer.
  nn::QLinear merged_dense3{nullptr};
  /// Its activation (relu).
  nn::QActivation merged_act3{nullptr};
  /// Dropout after merged_act3.
  torch::nn::Dropout merged_drop3{nullptr};
  /// Output dense layer merged_width3 -> 1.
  nn::QLinear output{nullptr};
  /// Output sigmoid.
  nn::QActivation output_activation{nullptr};
};

/// Holder of SmartpixModel2Impl.
TORCH_MODULE(SmartpixModel2);

}  // namespace lowbit::models
