#include "lowbit/quant/fused_fake_quantize.h"

#include <torch/autograd.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace lowbit::quant {
namespace {

// Adding and subtracting 1.5 * 2^23 rounds a float to the nearest integer, ties to even (the
// default FP rounding mode), exactly as std::nearbyint does, for |v| < 2^22. Unlike nearbyint it
// vectorizes on plain SSE2. The value is clamped to [lo - 1, hi + 1] first, so |v| stays tiny.
constexpr float kRoundMagic = 12582912.0f;

// One channel's contiguous run: writes the fake-quantized values and the in-range mask.
// lo/hi are the code bounds shifted by the zero point, so the zero point never enters the loop:
// (clamp(round(v) + zp, qmin, qmax) - zp) == clamp(round(v), qmin - zp, qmax - zp).
void quantize_run(const float* __restrict x, float* __restrict out, uint8_t* __restrict mask,
                  int64_t n, float scale, float lo, float hi) {
  const float inv = 1.0f / scale;  // as LibTorch's kernels: a multiply by 1/scale, not a divide
  const float lo_wide = lo - 1.0f;
  const float hi_wide = hi + 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::min(std::max(x[i] * inv, lo_wide), hi_wide);
    const float r = (v + kRoundMagic) - kRoundMagic;
    mask[i] = static_cast<uint8_t>((r >= lo) & (r <= hi));
    out[i] = std::min(std::max(r, lo), hi) * scale;
  }
}

// The backward pass: the incoming gradient times the 0/1 mask, as LibTorch's kernel computes it.
void mask_gradient(const float* __restrict grad, const uint8_t* __restrict mask,
                   float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = grad[i] * static_cast<float>(mask[i]);
}

class FusedFakeQuantize : public torch::autograd::Function<FusedFakeQuantize> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& scale, const torch::Tensor& zero_point,
                               int64_t axis, int64_t qmin, int64_t qmax) {
    const torch::Tensor input = x.contiguous();
    const torch::Tensor scales = scale.to(torch::kFloat32).contiguous().reshape({-1});
    const torch::Tensor zps = zero_point.to(torch::kInt64).contiguous().reshape({-1});
    const int64_t channels = scales.numel();
    int64_t outer = 1;
    int64_t inner = input.numel();
    if (axis >= 0) {
      if (input.size(axis) != channels) {
        throw std::invalid_argument("fused_fake_quantize: " + std::to_string(channels) +
                                    " scales for axis " + std::to_string(axis) + " of size " +
                                    std::to_string(input.size(axis)));
      }
      outer = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= input.size(d);
      inner = 1;
      for (int64_t d = axis + 1; d < input.dim(); ++d) inner *= input.size(d);
    }
    torch::Tensor out = torch::empty_like(input);
    torch::Tensor mask = torch::empty(input.sizes(), input.options().dtype(torch::kUInt8));
    const float* in_ptr = input.data_ptr<float>();
    float* out_ptr = out.data_ptr<float>();
    uint8_t* mask_ptr = mask.data_ptr<uint8_t>();
    const float* s = scales.data_ptr<float>();
    const int64_t* z = zps.data_ptr<int64_t>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t offset = (o * channels + c) * inner;
        quantize_run(in_ptr + offset, out_ptr + offset, mask_ptr + offset, inner, s[c],
                     static_cast<float>(qmin - z[c]), static_cast<float>(qmax - z[c]));
      }
    }
    ctx->save_for_backward({mask});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor mask = ctx->get_saved_variables()[0];
    const torch::Tensor grad = grads[0].contiguous();
    torch::Tensor grad_in = torch::empty_like(grad);
    mask_gradient(grad.data_ptr<float>(), mask.data_ptr<uint8_t>(), grad_in.data_ptr<float>(),
                  grad.numel());
    return {grad_in,         torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_fake_quantize_cpu(const torch::Tensor& x, const torch::Tensor& scale,
                                      const torch::Tensor& zero_point, int64_t axis, int64_t qmin,
                                      int64_t qmax) {
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument("fused_fake_quantize_cpu: needs a float32 CPU tensor");
  }
  if (qmin > qmax || qmax - qmin > (1 << 20)) {
    throw std::invalid_argument("fused_fake_quantize_cpu: bad code range [" + std::to_string(qmin) +
                                ", " + std::to_string(qmax) + "]");
  }
  return FusedFakeQuantize::apply(x, scale.detach(), zero_point.detach(), axis, qmin, qmax);
}

}  // namespace lowbit::quant
