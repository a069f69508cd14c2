// snn_flow: a spiking encoder-decoder for event-based optical flow (seed 003's
// EventSNNFlowNetLiteV2, in the layout of Spike-FlowNet): a spiking encoder of stride-2
// SpikingConv2d blocks and residual spiking blocks run over the T time steps, then a
// non-spiking decoder of QConvTranspose2d layers on the encoder's spike rates with skip
// connections, and a 2-channel flow head.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "lowbit/models/graph.h"
#include "lowbit/nn/leaky.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qconv_transpose2d.h"
#include "lowbit/nn/spiking_conv2d.h"

namespace lowbit::models {

/// Options of SnnFlow.
struct SnnFlowOptions {
  /// C: encoder widths C, 2C, 4C, 4C; 32 gives about 1.26M parameters (the seed's ~1.2M).
  TORCH_ARG(int64_t, base_channels) = 32;
  /// T expected in inputs [B, T, 2, H, W]; 0 takes T from the input.
  TORCH_ARG(int64_t, time_steps) = 0;
  /// Residual spiking blocks (two SpikingConv2d each) at the bottom of the encoder.
  TORCH_ARG(int64_t, residual_blocks) = 2;
  /// Batch norm in every spiking block (SpikingConv2d's `norm`, foldable).
  TORCH_ARG(bool, batch_norm) = true;
  /// The encoder's neurons (beta, threshold, surrogate, reset, learned beta/threshold); a
  /// non-zero `channels` asks for per-channel beta/threshold (set to each block's width).
  TORCH_ARG(nn::LeakyOptions, lif) = nn::LeakyOptions(0.9);
};

/// Inputs [B, T, 2, H, W] (event tensors as data sources give them: ON and OFF per time bin),
/// outputs flow [B, 2, H, W] (u, v in pixels). Layers, in registration order:
///   enc1..enc4   SpikingConv2d 3x3 stride 2: 2 -> C -> 2C -> 4C -> 4C (H/2 .. H/16)
///   res{i}a/b    SpikingConv2d 3x3 (4C -> 4C), x + b(a(x)) on spikes (SEW-ResNet's ADD)
///   dec4..dec1   QConv2dTranspose 4x4 stride 2 on the time-averaged spikes (rates), leaky ReLU
///                (0.1): dec4 4C -> 2C, dec3 [dec4, enc3] 6C -> 2C, dec2 [dec3, enc2] 4C -> C,
///                dec1 [dec2, enc1] 2C -> C, each cropped to its skip's size (H x W for dec1)
///   flow         QConv2d 3x3, C -> 2, no activation (non-spiking head)
/// Any H, W >= 1 work (strided sizes round up; the decoder crops to each skip's size).
///
/// Its graph (for export) runs the encoder and the residual blocks per time step, each spiking
/// block as conv -> norm -> lif, the rates as means over time, then the decoder once per sequence.
class SnnFlowImpl : public torch::nn::Cloneable<SnnFlowImpl>, public GraphModel {
 public:
  /// A model from options; base_channels < 1 or residual_blocks < 0 is std::invalid_argument.
  explicit SnnFlowImpl(const SnnFlowOptions& options = {});

  /// (Re)creates every layer from the options.
  void reset() override;
  /// Flow [B, 2, H, W] for events [B, T, 2, H, W]; another shape, or T other than a non-zero
  /// time_steps, is std::invalid_argument naming the shape.
  torch::Tensor forward(const torch::Tensor& events);
  /// The nodes in execution order: per-step encoder, residual adds and rates, then the decoder.
  ModelGraph graph() override;

  /// The options the model was built with.
  SnnFlowOptions options;

 private:
  std::vector<nn::SpikingConv2d> encoder_;
  std::vector<std::pair<nn::SpikingConv2d, nn::SpikingConv2d>> residual_;
  std::vector<nn::QConvTranspose2d> decoder_;
  nn::QConv2d flow_{nullptr};
};

/// Holder of SnnFlowImpl.
TORCH_MODULE(SnnFlow);

}  // namespace lowbit::models
