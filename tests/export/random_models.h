// Seeded random integer models for the export tests: an MLP with awkward sizes, the two-branch
// concat model of the smart-pixel workflow, and a depthwise CNN, for any weight format.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter::testing {

/// Uniform random codes of a format (int2 draws ternary -1/0/1 with an occasional -2).
std::vector<int8_t> random_codes(WeightFormat format, int64_t count, std::mt19937& rng);

/// MLP 33 -> 17 -> 31 -> 15 -> 7 -> 3 -> 1 with relu/relu6/none, per-layer and per-channel.
IntegerModel random_mlp(WeightFormat format, uint32_t seed);

/// MLP 601 -> 9 relu -> 3: rows longer than the runtime's 256-input chunks, with a tail.
IntegerModel random_wide_mlp(WeightFormat format, uint32_t seed);

/// Input 36: slice [0, 22) -> FC 32 relu, slice [22, 36) -> FC 32 relu6, concat 64 (different
/// scales) -> FC 16 relu -> FC 1 hard-sigmoid.
IntegerModel random_two_branch(WeightFormat format, uint32_t seed);

/// Input 3x9x11 -> depthwise 3x3 conv (x2 multiplier, pad 1) relu6 -> pointwise 1x1 -> 8 relu
/// -> max pool 2x2/2 -> avg pool 2x2/1 (padded) -> flatten -> FC 5.
IntegerModel random_cnn(WeightFormat format, uint32_t seed);

/// Input 3x7x9 -> stem conv 3x3 relu 6 ch -> block 1 (conv 3x3 stride 2 relu, conv 3x3, strided
/// 1x1 shortcut from the stem, add relu) -> block 2 (two convs, identity shortcut, add relu) ->
/// global average pool 4x5 -> FC 5: two residual adds with different input scales.
IntegerModel random_residual(WeightFormat format, uint32_t seed);

/// The cnn_mcu shape with padding everywhere: input 2x10x9 (zero point -7) -> conv 3x3 relu 12 ch
/// -> max pool 3x3 stride 2 padding 1 (none below) (fused) -> depthwise 3x3 relu -> conv 3x3
/// stride 2 relu6 10 ch, unpooled -> flatten -> FC 5.
IntegerModel random_mcu_cnn(WeightFormat format, uint32_t seed);

/// A sequence model of 4 time steps on 2x9x11 frames: per step, spiking conv blocks (LIF with
/// shift and Q15 leaks, 16- and 32-bit membranes, every reset, with and without delay), an exact
/// spike add and two time sums; once per sequence, a cropped transposed conv, a leaky ReLU, a
/// concat with a rate, a stride-3 transposed conv cropped to 9x11 and a 2-channel conv head.
IntegerModel random_spiking(WeightFormat format, uint32_t seed);

/// BitNetMCU's MLP shape, the demo's until issue 17 (configs/fmnist_mcu_bitnetmcu_4bit.yaml,
/// fmnist_mcu_4bit.yaml): 256 -> 64 relu -> 64 relu -> 64 relu -> 10, per-layer scales, the input
/// at zero point -20.
IntegerModel random_demo_mlp(WeightFormat format, uint32_t seed);

/// The demo's shape with weights as training leaves them: codes from a centred binomial bell
/// (most weights small, sums of a column near 0), small biases and the input at zero point -55,
/// as the trained demo's input quantizer has it. Its MCU constants fit int16 like the real demo's.
IntegerModel trained_like_demo_mlp(WeightFormat format, uint32_t seed);

/// samples + 2 int8 inputs back to back: an all -128 sample, an all 127 sample, then `samples`
/// random ones in [-64, 63].
std::vector<int8_t> random_inputs(int64_t input_size, int64_t samples, uint32_t seed);

}  // namespace lowbit::exporter::testing
