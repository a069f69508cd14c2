// Puts a stage's quantizers on a model: walks its named modules and sets the quantizer SPECs of
// every QLinear, QConv2d and QActivation from the stage's defaults and glob overrides. Also finds
// the quantizer slots that epoch events change.
#pragma once

#include <torch/nn/module.h>

#include <functional>
#include <string>
#include <vector>

#include "lowbit/quant/quantizer.h"
#include "lowbit/train/run_config.h"

namespace lowbit::train {

/// The SPECs one layer ends up with ("" = no quantizer); fields a layer kind lacks stay "".
struct LayerSpecs {
  std::string weights;      ///< QLinear/QConv2d weight SPEC.
  std::string biases;       ///< QLinear/QConv2d bias SPEC.
  std::string inputs;       ///< QLinear/QConv2d input SPEC.
  std::string outputs;      ///< QLinear/QConv2d output SPEC.
  std::string activations;  ///< QActivation output SPEC.
  int state = 0;            ///< nn::Leaky membrane bits (0: float).
};

/// The defaults of `config` with every override whose glob matches `layer` applied in order.
LayerSpecs resolve_layer_specs(const QuantizationConfig& config, const std::string& layer);

/// One quantized layer and the SPECs it got.
struct LayerQuantization {
  std::string layer;  ///< Dotted module name.
  std::string kind;   ///< "QLinear", "QConv2d", "QActivation", ... or "Leaky" (membrane).
  LayerSpecs specs;   ///< The SPECs set.
};

/// Which layers got which SPECs.
struct QuantizationReport {
  /// Every quantizable layer in module order.
  std::vector<LayerQuantization> layers;
  /// Overrides whose glob matched no layer (likely typos).
  std::vector<std::string> unmatched_patterns;
  /// One line per layer: name, kind, then slot=SPEC for each set slot ("fp" when none).
  std::string text() const;
};

/// Sets the quantizers of every QLinear, QConv2d and QActivation of `model` from `config`, and
/// the membrane bits of every nn::Leaky (listed in the report only when quantized). The layers'
/// quantizer parameters change, so optimizers must be rebuilt afterwards.
QuantizationReport quantize_model(torch::nn::Module& model, const QuantizationConfig& config);

/// One quantizer slot of one layer.
struct QuantizerSlot {
  std::string layer;                            ///< Dotted module name.
  std::string role;                             ///< weights, biases, inputs, outputs, activations.
  std::function<quant::Quantizer()> get;        ///< The quantizer in the slot (null if none).
  std::function<void(const std::string&)> set;  ///< Replaces it by a SPEC ("" removes it).
};

/// Every slot of layers matching glob `layers` and role `role` ("all" for every role).
std::vector<QuantizerSlot> find_quantizer_slots(torch::nn::Module& model, const std::string& layers,
                                                const std::string& role);

/// Applies a quantizer event (set_bits, switch_quantizer, freeze, unfreeze) or fold_batchnorm
/// (fold_batch_norms()) to `model` and returns a one-line description. set_bits and freeze touch
/// only slots holding a quantizer; set_bits with role `state` sets the membrane bits of every
/// matching nn::Leaky, with role `all` those of the quantized ones. Throws std::invalid_argument
/// naming the event when it matches no quantizer slot.
std::string apply_quantizer_event(torch::nn::Module& model, const EpochEvent& event);

/// Weight storage at the weights' bit widths: for every QLinear/QConv2d, numel(weight) times its
/// weight quantizer's bits (32 without one) plus numel(bias) times the bias quantizer's bits (32
/// without one); other parameters count 32 bits. Rounded up to whole bytes.
int64_t weight_bytes(torch::nn::Module& model);

/// A summary of the bit widths in use, e.g. "w4 a8", "w4 a8 s8" with an 8-bit membrane, or "fp"
/// when nothing is quantized.
std::string bits_summary(torch::nn::Module& model);

}  // namespace lowbit::train
