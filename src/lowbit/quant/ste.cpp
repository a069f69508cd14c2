#include "lowbit/quant/ste.h"

#include <torch/autograd.h>

namespace lowbit::quant {
namespace {

// A custom Function rather than `x + (q - x).detach()`: that trick is not bit-exact in float
// (x + (q - x) can differ from q by one ulp), and exactness is what export relies on.
class ClippedStraightThrough : public torch::autograd::Function<ClippedStraightThrough> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& quantized, const torch::Tensor& lo,
                               const torch::Tensor& hi) {
    ctx->save_for_backward({torch::logical_and(x >= lo, x <= hi)});
    return quantized.detach().clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor inside = ctx->get_saved_variables()[0];
    return {grads[0] * inside.to(grads[0].scalar_type()), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

class PlainStraightThrough : public torch::autograd::Function<PlainStraightThrough> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* /*ctx*/, const torch::Tensor& x,
                               const torch::Tensor& quantized) {
    return quantized.detach().clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* /*ctx*/,
                                                 torch::autograd::variable_list grads) {
    return {grads[0], torch::Tensor()};
  }
};

}  // namespace

torch::Tensor straight_through(const torch::Tensor& x, const torch::Tensor& quantized,
                               const torch::Tensor& lo, const torch::Tensor& hi) {
  return ClippedStraightThrough::apply(x, quantized, lo, hi);
}

torch::Tensor straight_through(const torch::Tensor& x, const torch::Tensor& quantized) {
  return PlainStraightThrough::apply(x, quantized);
}

}  // namespace lowbit::quant
