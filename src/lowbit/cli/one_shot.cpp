#include "lowbit/cli/one_shot.h"

#include <torch/autograd.h>

namespace lowbit::cli {

torch::Tensor quantize_once(quant::QuantizerImpl& q, const torch::Tensor& x,
                            quant::IntegerForm* form) {
  torch::NoGradGuard no_grad;
  q.train();
  // The calibration output is dropped: only the state it leaves behind matters.
  (void)q.forward(x);
  q.eval();
  torch::Tensor y = q.forward(x);
  if (form != nullptr) *form = q.integer_form(x);
  return y;
}

}  // namespace lowbit::cli
