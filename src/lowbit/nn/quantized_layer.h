// The shared base of lowbit's quantizable layers (QLinear, QConv2d, QActivation), as LibTorch's
// ConvNdImpl is shared by its convolutions. It holds the quantizer slots. Every pass over a
// model's quantizers (quantizing a model, epoch events, weight sizes, regularizers, batch-norm
// folding) finds layers through this one type, so a new layer kind joins them all by deriving
// from it.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/quant/quantizer.h"

namespace lowbit::nn {

/// A quantizer position of a layer; submodules `weight_quant`, `bias_quant`, `input_quant` and
/// `output_quant`.
enum class QuantSlot { kWeights = 0, kBiases = 1, kInputs = 2, kOutputs = 3 };

/// One slot of a layer kind and the config role that addresses it ("weights", "biases",
/// "inputs", "outputs", or "activations" for the output of a QActivation).
struct SlotRole {
  QuantSlot slot;    ///< The slot.
  const char* role;  ///< Its role name in configs and events.
};

/// The slots of a layer with a weight (QLinear, QConv2d, QConvTranspose2d): weights, biases,
/// inputs and outputs, in report order.
std::vector<SlotRole> four_slot_roles();

/// Records `spec` as the SPEC of `slot` in `options` of a layer with the four slots: its
/// `weight_quant`, `bias_quant`, `input_quant` or `output_quant`.
template <typename Options>
void record_four_slot_spec(Options& options, QuantSlot slot, const std::string& spec) {
  switch (slot) {
    case QuantSlot::kWeights:
      options.weight_quant(spec);
      break;
    case QuantSlot::kBiases:
      options.bias_quant(spec);
      break;
    case QuantSlot::kInputs:
      options.input_quant(spec);
      break;
    case QuantSlot::kOutputs:
      options.output_quant(spec);
      break;
  }
}

/// Base of the quantizable layers: the quantizer slots and what every pass needs to know of a
/// layer kind. Derived kinds derive from torch::nn::Cloneable<Kind> too (Module is a virtual base).
class QuantizedLayer : public virtual torch::nn::Module {
 public:
  /// The kind's name in reports ("QLinear").
  virtual const char* kind() const = 0;
  /// The slots this kind has, with their config roles, in report order.
  virtual std::vector<SlotRole> slot_roles() const = 0;
  /// The learned weight; undefined for kinds without one.
  virtual torch::Tensor weight_tensor() const { return {}; }
  /// The learned bias; undefined for kinds or layers without one.
  virtual torch::Tensor bias_tensor() const { return {}; }
  /// Gives a layer without bias the learned bias `initial` (batch-norm folding); kinds without
  /// weights throw std::logic_error. Optimizers must be rebuilt afterwards.
  virtual void add_bias(const torch::Tensor& initial);

  /// The quantizer in `slot`, or null.
  const quant::Quantizer& quantizer(QuantSlot slot) const {
    return quantizers_[static_cast<size_t>(slot)];
  }
  /// Replaces the quantizer in `slot` by one built from `spec` ("" removes it), on the layer's
  /// device. The options record the SPEC, so clone() and reset() rebuild it. A SPEC for a slot
  /// the kind lacks, or a bias SPEC on a layer without bias, is std::invalid_argument.
  void set_quantizer(QuantSlot slot, const std::string& spec);

  /// The weight quantizer, or null.
  const quant::Quantizer& weight_quant() const { return quantizer(QuantSlot::kWeights); }
  /// The bias quantizer, or null.
  const quant::Quantizer& bias_quant() const { return quantizer(QuantSlot::kBiases); }
  /// The input quantizer, or null.
  const quant::Quantizer& input_quant() const { return quantizer(QuantSlot::kInputs); }
  /// The output quantizer, or null.
  const quant::Quantizer& output_quant() const { return quantizer(QuantSlot::kOutputs); }
  /// Replaces the weight quantizer ("" removes it).
  void set_weight_quant(const std::string& spec) { set_quantizer(QuantSlot::kWeights, spec); }
  /// Replaces the bias quantizer ("" removes it).
  void set_bias_quant(const std::string& spec) { set_quantizer(QuantSlot::kBiases, spec); }
  /// Replaces the input quantizer ("" removes it).
  void set_input_quant(const std::string& spec) { set_quantizer(QuantSlot::kInputs, spec); }
  /// Replaces the output quantizer ("" removes it).
  void set_output_quant(const std::string& spec) { set_quantizer(QuantSlot::kOutputs, spec); }

  /// weight_quant(weight), or the weight itself without a weight quantizer.
  torch::Tensor quantized_weight() const;
  /// bias_quant(bias), or the bias itself without a bias quantizer (undefined without bias).
  torch::Tensor quantized_bias() const;

 protected:
  /// Records `spec` as the SPEC of `slot` in the kind's options.
  virtual void record_spec(QuantSlot slot, const std::string& spec) = 0;

  /// Registers parameter "bias" of `size` values when `with_bias`, else an undefined "bias" (the
  /// slot that adopt_bias fills later); returns it.
  torch::Tensor register_optional_bias(bool with_bias, int64_t size);
  /// Places a copy of `initial` in the undefined "bias" of register_optional_bias and returns it;
  /// `current`, the layer's bias, defined is std::logic_error naming the kind.
  torch::Tensor adopt_bias(const torch::Tensor& current, const torch::Tensor& initial);
  /// (Re)builds the four quantizers of a layer with a weight from the SPECs in its `options`.
  template <typename Options>
  void set_four_quantizers(const Options& options) {
    // Copies: set_quantizer records each SPEC back into the same options.
    const std::string weights = options.weight_quant(), biases = options.bias_quant();
    const std::string inputs = options.input_quant(), outputs = options.output_quant();
    set_weight_quant(weights);
    set_bias_quant(biases);
    set_input_quant(inputs);
    set_output_quant(outputs);
  }

 private:
  std::array<quant::Quantizer, 4> quantizers_;
};

}  // namespace lowbit::nn
