// The quantization of a trained model as JSON (seed 003's `export_quantized_model_info`): per
// layer and quantizer slot the SPEC, bits, scales, zero points, code range, the value range of the
// weights, the EMA min/max of observers, every saved quantizer tensor, and optionally the integer
// weight codes; spiking neurons with their threshold, decay and membrane grid. For hardware
// flows and reports; `lowbit quant-info` writes it.
#pragma once

#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

namespace lowbit::train {

/// What quantization_info() includes.
struct QuantInfoOptions {
  bool include_codes = false;  ///< Add the integer codes of every quantized weight and bias.
};

/// The quantization of `model` (put in eval mode; nothing is updated): {"layers": [...]}, one
/// entry per nn::QuantizedLayer with at least one quantizer or a weight ("name", "kind",
/// "parameters", "quantizers": [{"slot", "module", "spec", "type", "bits", "scale", "zero_point",
/// "axis", "code_min", "code_max", "signed", "range", "ema", "state", "codes"}]) and one per Leaky
/// layer
/// ("kind": "Leaky", "threshold", "beta", "state_quant_bits", "state_levels"). Weights and biases
/// get the integer form of their tensor; activation slots get a scale only when it does not depend
/// on the input (EMA observers, learned steps, fixed-point grids), else "scale": null with
/// "dynamic_scale": true. "state" holds the quantizer's parameters and buffers, saved in
/// checkpoints as "<module>.<key>". Tensors are numbers (0-dim) or nested lists (NumPy's tolist()),
/// NaN as null.
nlohmann::json quantization_info(torch::nn::Module& model, const QuantInfoOptions& options = {});

}  // namespace lowbit::train
