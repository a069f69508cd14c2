#include "lowbit/quant/affine/affine_grid.h"

#include "lowbit/quant/fused_fake_quantize.h"

#include <torch/autograd.h>

#include <stdexcept>
#include <string>

namespace lowbit::quant {

AffineGrid affine_grid(const ClipRange& range, int64_t qmin, int64_t qmax, int64_t axis) {
  torch::NoGradGuard no_grad;
  const torch::Tensor lo = range.lo.detach().to(torch::kFloat32);
  const torch::Tensor hi = range.hi.detach().to(torch::kFloat32);
  AffineGrid grid;
  grid.qmin = qmin;
  grid.qmax = qmax;
  grid.axis = lo.dim() == 0 ? -1 : axis;
  if (qmin < 0) {
    if (qmax <= 0) {
      throw std::invalid_argument("affine_grid: a signed grid needs qmax > 0, got " +
                                  std::to_string(qmax));
    }
    grid.scale = (torch::maximum(-lo, hi) / static_cast<float>(qmax)).clamp_min(kMinScale);
    grid.zero_point = torch::zeros(grid.scale.sizes(), lo.options().dtype(torch::kInt32));
    return grid;
  }
  const torch::Tensor lo0 = lo.clamp_max(0.0f);
  const torch::Tensor hi0 = hi.clamp_min(0.0f);
  grid.scale = ((hi0 - lo0) / static_cast<float>(qmax - qmin)).clamp_min(kMinScale);
  grid.zero_point = (static_cast<float>(qmin) - torch::round(lo0 / grid.scale))
                        .clamp(static_cast<double>(qmin), static_cast<double>(qmax))
                        .to(torch::kInt32);
  return grid;
}

AffineGrid constant_grid(double scale, int64_t zero_point, int64_t qmin, int64_t qmax,
                         const torch::Device& device) {
  AffineGrid grid;
  grid.scale = torch::full({}, scale, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  grid.zero_point =
      torch::full({}, zero_point, torch::TensorOptions().dtype(torch::kInt32).device(device));
  grid.qmin = qmin;
  grid.qmax = qmax;
  grid.axis = -1;
  return grid;
}

torch::Tensor fake_quantize(const torch::Tensor& x, const AffineGrid& grid) {
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32) {
    return fused_fake_quantize_cpu(x, grid.scale, grid.zero_point, grid.axis, grid.qmin, grid.qmax);
  }
  if (grid.axis < 0) {
    return torch::fake_quantize_per_tensor_affine(
        x, grid.scale.reshape({1}), grid.zero_point.reshape({1}), grid.qmin, grid.qmax);
  }
  return torch::fake_quantize_per_channel_affine(x, grid.scale, grid.zero_point, grid.axis,
                                                 grid.qmin, grid.qmax);
}

torch::Tensor grid_codes(const torch::Tensor& x, const AffineGrid& grid) {
  torch::NoGradGuard no_grad;
  const int64_t rank = x.dim();
  // 1.0f / scale and a float multiply, as the fused kernels compute, not x / scale.
  const torch::Tensor inv =
      broadcast_along(torch::ones_like(grid.scale) / grid.scale, grid.axis, rank);
  const torch::Tensor zp = broadcast_along(grid.zero_point, grid.axis, rank);
  return (torch::round(x.detach().to(torch::kFloat32) * inv) + zp)
      .clamp(static_cast<double>(grid.qmin), static_cast<double>(grid.qmax))
      .to(torch::kInt32);
}

IntegerForm grid_integer_form(const torch::Tensor& x, const AffineGrid& grid, int bits,
                              bool is_signed) {
  IntegerForm form;
  form.codes = grid_codes(x, grid);
  form.scale = grid.scale.detach().clone();
  form.zero_point = grid.zero_point.detach().clone();
  form.bits = bits;
  form.is_signed = is_signed;
  form.axis = grid.axis;
  form.code_min = grid.qmin;
  form.code_max = grid.qmax;
  return form;
}

torch::Tensor grid_levels(const AffineGrid& grid) {
  torch::NoGradGuard no_grad;
  const torch::Tensor codes =
      torch::arange(grid.qmin, grid.qmax + 1,
                    torch::TensorOptions().dtype(torch::kInt32).device(grid.scale.device()));
  if (grid.axis < 0) return (codes - grid.zero_point).to(torch::kFloat32) * grid.scale;
  return (codes.unsqueeze(0) - grid.zero_point.unsqueeze(1)).to(torch::kFloat32) *
         grid.scale.unsqueeze(1);
}

}  // namespace lowbit::quant
