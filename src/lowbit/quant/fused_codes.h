// The integer codes LibTorch's fused fake-quant kernels compute, reproduced with tensor ops so
// that a quantizer's integer form matches its fused forward bit for bit.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace lowbit::quant {

/// Codes clamp(nearbyint(x * (1.0f / scale)), code_min, code_max) as int32, the zero point being
/// 0. `scale` is a float32 tensor broadcastable against x (one value, or shaped along the channel
/// axis). This is the expression of the CPU and CUDA kernels behind
/// fake_quantize_per_{tensor,channel}_affine and their learnable variants.
torch::Tensor fused_affine_codes(const torch::Tensor& x, const torch::Tensor& scale,
                                 int64_t code_min, int64_t code_max);

}  // namespace lowbit::quant
