// QActivation: an activation function followed by an optional output quantizer.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <ostream>
#include <string>
#include <vector>

#include "lowbit/nn/quantized_layer.h"

namespace lowbit::nn {

/// Options of QActivation.
struct QActivationOptions {
  /// An activation `function` with no output quantizer.
  QActivationOptions(std::string function = "relu");  // NOLINT(google-explicit-constructor)
  /// One of activation_functions(): none, relu, relu6, sigmoid, hard_sigmoid, tanh.
  TORCH_ARG(std::string, function);
  /// SPEC of the output quantizer (role activation); empty for none.
  TORCH_ARG(std::string, output_quant) = "";
};

/// The names QActivationOptions::function accepts.
const std::vector<std::string>& activation_functions();

/// y = output_q(f(x)). hard_sigmoid is PyTorch's relu6(x + 3) / 6. The quantizer is submodule
/// `output_quant` when set.
class QActivationImpl : public torch::nn::Cloneable<QActivationImpl>, public QuantizedLayer {
 public:
  /// A layer from options; throws std::invalid_argument for an unknown function.
  explicit QActivationImpl(const QActivationOptions& options = {});

  /// (Re)creates the quantizer from the options.
  void reset() override;
  /// Prints the function and the quantizer SPEC.
  void pretty_print(std::ostream& stream) const override;
  /// output_q(f(input)).
  torch::Tensor forward(const torch::Tensor& input);

  /// "QActivation".
  const char* kind() const override { return "QActivation"; }
  /// The output quantizer, addressed as role "activations".
  std::vector<SlotRole> slot_roles() const override {
    return {{QuantSlot::kOutputs, "activations"}};
  }

  /// Turns recording of the output quantizer's input on or off (activation bin
  /// regularization reads it); turning it off drops the recorded tensor.
  void set_recording(bool recording) {
    recording_ = recording;
    if (!recording) recorded_input_ = torch::Tensor();
  }

  /// f(input) of the last forward while recording (with its autograd graph); undefined otherwise.
  const torch::Tensor& recorded_input() const { return recorded_input_; }

  /// The options the layer was built with, quantizer SPEC as last set.
  QActivationOptions options;

 protected:
  void record_spec(QuantSlot slot, const std::string& spec) override;

 private:
  bool recording_ = false;
  torch::Tensor recorded_input_;
};

/// Holder of QActivationImpl (the module form layers are used in).
TORCH_MODULE(QActivation);

}  // namespace lowbit::nn
