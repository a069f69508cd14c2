#include "lowbit/quant/fused_fake_quantize.h"

#include <torch/autograd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::quant {
namespace {

// Adding and subtracting 1.5 * 2^23 rounds a float to the nearest integer, ties to even (the
// default FP rounding mode), exactly as std::nearbyint does, for |v| < 2^22. Unlike nearbyint it
// vectorizes on plain SSE2. The value is clamped to [lo - 1, hi + 1] first, so |v| stays tiny.
constexpr float kRoundMagic = 12582912.0f;

// One channel's contiguous run: writes the fake-quantized values and, when asked, the in-range
// mask. lo/hi are the code bounds shifted by the zero point, so the zero point never enters the
// loop: (clamp(round(v) + zp, qmin, qmax) - zp) == clamp(round(v), qmin - zp, qmax - zp).
template <bool kWriteMask>
void quantize_run(const float* __restrict x, float* __restrict out, uint8_t* __restrict mask,
                  int64_t n, float scale, float lo, float hi) {
  const float inv = 1.0f / scale;  // as LibTorch's kernels: a multiply by 1/scale, not a divide
  const float lo_wide = lo - 1.0f;
  const float hi_wide = hi + 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::min(std::max(x[i] * inv, lo_wide), hi_wide);
    const float r = (v + kRoundMagic) - kRoundMagic;
    if constexpr (kWriteMask) mask[i] = static_cast<uint8_t>((r >= lo) & (r <= hi));
    out[i] = std::min(std::max(r, lo), hi) * scale;
  }
}

// The layout of a per-channel tensor as [outer, channels, inner] runs.
struct ChannelRuns {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 0;
};

ChannelRuns channel_runs(const torch::Tensor& x, int64_t channels, int64_t axis) {
  ChannelRuns runs;
  runs.channels = channels;
  runs.inner = x.numel();
  if (axis < 0) {
    if (channels != 1) {
      throw std::invalid_argument("fused fake quantization: per-tensor form with " +
                                  std::to_string(channels) + " scales");
    }
    return runs;
  }
  if (axis >= x.dim() || x.size(axis) != channels) {
    throw std::invalid_argument("fused fake quantization: " + std::to_string(channels) +
                                " scales for axis " + std::to_string(axis) +
                                " of a tensor of rank " + std::to_string(x.dim()));
  }
  runs.outer = 1;
  for (int64_t d = 0; d < axis; ++d) runs.outer *= x.size(d);
  runs.inner = 1;
  for (int64_t d = axis + 1; d < x.dim(); ++d) runs.inner *= x.size(d);
  return runs;
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
    const ChannelRuns runs = channel_runs(input, scales.numel(), axis);
    torch::Tensor out = torch::empty_like(input);
    torch::Tensor mask = torch::empty(input.sizes(), input.options().dtype(torch::kUInt8));
    const float* in_ptr = input.data_ptr<float>();
    float* out_ptr = out.data_ptr<float>();
    uint8_t* mask_ptr = mask.data_ptr<uint8_t>();
    const float* s = scales.data_ptr<float>();
    const int64_t* z = zps.data_ptr<int64_t>();
    for (int64_t o = 0; o < runs.outer; ++o) {
      for (int64_t c = 0; c < runs.channels; ++c) {
        const int64_t offset = (o * runs.channels + c) * runs.inner;
        quantize_run<true>(in_ptr + offset, out_ptr + offset, mask_ptr + offset, runs.inner, s[c],
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

// The step-size gradient of one channel's run, LibTorch's learnable kernel's per-element terms
// summed: ((q * s - x) / s) * dy inside the grid, the clipped bound * dy outside. Also writes the
// input gradient (dy inside, 0 outside). Eight partial sums let the compiler vectorize the sum
// without reassociating float additions it was not allowed to.
float learned_step_backward_run(const float* __restrict x, const float* __restrict dy,
                                float* __restrict dx, int64_t n, float scale, float lo, float hi) {
  const float inv = 1.0f / scale;
  const float lo_wide = lo - 1.0f;
  const float hi_wide = hi + 1.0f;
  constexpr int kLanes = 8;
  float partial[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  auto term = [&](int64_t i, float& sum) {
    const float v = std::min(std::max(x[i] * inv, lo_wide), hi_wide);
    const float r = (v + kRoundMagic) - kRoundMagic;
    const bool inside = (r >= lo) & (r <= hi);
    const float clipped = std::min(std::max(r, lo), hi);
    const float dstep = inside ? (clipped * scale - x[i]) * inv : clipped;
    sum += dstep * dy[i];
    dx[i] = inside ? dy[i] : 0.0f;
  };
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) term(i + k, partial[k]);
  }
  for (; i < n; ++i) term(i, partial[0]);
  float total = 0.0f;
  for (float p : partial) total += p;
  return total;
}

class FusedLearnedStep : public torch::autograd::Function<FusedLearnedStep> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& step, int64_t axis, int64_t qmin, int64_t qmax,
                               double grad_factor) {
    const torch::Tensor input = x.contiguous();
    const torch::Tensor steps = step.detach().to(torch::kFloat32).contiguous().reshape({-1});
    const ChannelRuns runs = channel_runs(input, steps.numel(), axis);
    torch::Tensor out = torch::empty_like(input);
    const float* s = steps.data_ptr<float>();
    for (int64_t o = 0; o < runs.outer; ++o) {
      for (int64_t c = 0; c < runs.channels; ++c) {
        const int64_t offset = (o * runs.channels + c) * runs.inner;
        quantize_run<false>(input.data_ptr<float>() + offset, out.data_ptr<float>() + offset,
                            nullptr, runs.inner, s[c], static_cast<float>(qmin),
                            static_cast<float>(qmax));
      }
    }
    ctx->save_for_backward({input, steps});
    ctx->saved_data["axis"] = axis;
    ctx->saved_data["qmin"] = qmin;
    ctx->saved_data["qmax"] = qmax;
    ctx->saved_data["grad_factor"] = grad_factor;
    ctx->saved_data["step_sizes"] = step.sizes().vec();
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& input = saved[0];
    const torch::Tensor& steps = saved[1];
    const int64_t axis = ctx->saved_data["axis"].toInt();
    const float lo = static_cast<float>(ctx->saved_data["qmin"].toInt());
    const float hi = static_cast<float>(ctx->saved_data["qmax"].toInt());
    const double grad_factor = ctx->saved_data["grad_factor"].toDouble();
    const torch::Tensor dy = grads[0].contiguous();
    const ChannelRuns runs = channel_runs(input, steps.numel(), axis);
    torch::Tensor dx = torch::empty_like(input);
    std::vector<double> dstep(static_cast<size_t>(runs.channels), 0.0);
    const float* s = steps.data_ptr<float>();
    for (int64_t o = 0; o < runs.outer; ++o) {
      for (int64_t c = 0; c < runs.channels; ++c) {
        const int64_t offset = (o * runs.channels + c) * runs.inner;
        dstep[static_cast<size_t>(c)] += learned_step_backward_run(
            input.data_ptr<float>() + offset, dy.data_ptr<float>() + offset,
            dx.data_ptr<float>() + offset, runs.inner, s[c], lo, hi);
      }
    }
    // Filled through the data pointer: indexing a tensor element by element dispatches an op
    // per channel.
    torch::Tensor dstep_tensor = torch::empty({runs.channels}, steps.options());
    float* dstep_out = dstep_tensor.data_ptr<float>();
    for (int64_t c = 0; c < runs.channels; ++c) {
      dstep_out[c] = static_cast<float>(dstep[static_cast<size_t>(c)] * grad_factor);
    }
    const auto step_sizes = ctx->saved_data["step_sizes"].toIntVector();
    return {dx,
            dstep_tensor.reshape(step_sizes),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
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

namespace lowbit::quant {

torch::Tensor fused_learned_step_cpu(const torch::Tensor& x, const torch::Tensor& step,
                                     int64_t axis, int64_t qmin, int64_t qmax, double grad_factor) {
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument("fused_learned_step_cpu: needs a float32 CPU tensor");
  }
  if (qmin > qmax || qmax - qmin > (1 << 20)) {
    throw std::invalid_argument("fused_learned_step_cpu: bad code range [" + std::to_string(qmin) +
                                ", " + std::to_string(qmax) + "]");
  }
  return FusedLearnedStep::apply(x, step, axis, qmin, qmax, grad_factor);
}

}  // namespace lowbit::quant
