#include "lowbit/quant/fused_codes.h"

namespace lowbit::quant {

torch::Tensor fused_affine_codes(const torch::Tensor& x, const torch::Tensor& scale,
                                 int64_t code_min, int64_t code_max) {
  torch::NoGradGuard no_grad;
  // The kernels multiply by a float reciprocal rather than divide, and round half to even
  // (std::nearbyint); both matter for bit-exactness at rounding boundaries.
  const torch::Tensor inv_scale = torch::reciprocal(scale.to(torch::kFloat32));
  return torch::clamp(torch::round(x.to(torch::kFloat32) * inv_scale), code_min, code_max)
      .to(torch::kInt32);
}

}  // namespace lowbit::quant
