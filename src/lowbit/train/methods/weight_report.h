// Per-layer weight statistics logged during training (BitNetMCU's "w_clip/entropy[bits]"). The
// clipping schedule needs no code of its own: fixed-grid weight quantizers re-estimate their
// clipping scale on every forward (scale=octav, absmean, ...) until a `freeze` event.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "lowbit/quant/integer_form.h"

namespace lowbit::train {

/// Shannon entropy in bits of the histogram of `form.codes`: -sum p_k log2 p_k over the codes
/// that occur; 0 for a constant tensor. The lower bound on bits per weight of an entropy coder.
double weight_entropy_bits(const quant::IntegerForm& form);

/// One layer's line of the weight report.
struct LayerWeightReport {
  std::string name;      ///< Module path of the layer.
  int bits = 0;          ///< Code width of the weight quantizer.
  double clip = 0.0;     ///< Clipping value: the largest |level| of the grid (max over channels).
  double entropy = 0.0;  ///< weight_entropy_bits of the layer's integer weights.
  bool frozen = false;   ///< Whether the quantizer is frozen.
};

/// The report of every quantized QLinear/QConv2d weight of `model`, in module order.
std::vector<LayerWeightReport> weight_report(torch::nn::Module& model);

/// "clip/entropy" pairs in BitNetMCU's log format: "1.428/3.59 1.168/3.86".
std::string format_weight_report(const std::vector<LayerWeightReport>& report);

}  // namespace lowbit::train
