#include "lowbit/quant/integer_form.h"

#include <vector>

namespace lowbit::quant {

torch::Tensor broadcast_along(const torch::Tensor& per_channel, int64_t axis, int64_t rank) {
  if (axis < 0 || per_channel.dim() == 0) return per_channel;
  std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
  shape[static_cast<size_t>(axis)] = per_channel.numel();
  return per_channel.reshape(shape);
}

torch::Tensor IntegerForm::dequantize() const {
  const int64_t rank = codes.dim();
  const torch::Tensor s = broadcast_along(scale, axis, rank);
  if (levels.defined()) {
    return levels.index_select(0, codes.flatten().to(torch::kLong)).view(codes.sizes()) * s;
  }
  const torch::Tensor zp = broadcast_along(zero_point, axis, rank);
  // (codes - zero_point) is exact in int32, its float conversion is exact for |q| < 2^24,
  // and a single float multiply is what the fused fake-quant kernels do.
  return (codes - zp).to(torch::kFloat32) * s;
}

}  // namespace lowbit::quant
