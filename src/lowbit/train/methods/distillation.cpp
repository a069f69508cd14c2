#include "lowbit/train/methods/distillation.h"

#include <stdexcept>
#include <string>

namespace lowbit::train {

torch::Tensor distillation_term(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, double temperature,
                                bool binary) {
  if (!(temperature > 0.0)) {
    throw std::invalid_argument("distillation: temperature must be > 0, got " +
                                std::to_string(temperature));
  }
  if (student_logits.sizes() != teacher_logits.sizes() || student_logits.dim() == 0) {
    throw std::invalid_argument(
        "distillation: student and teacher logits must have the same non-scalar shape");
  }
  torch::Tensor s = student_logits / temperature;
  torch::Tensor t = teacher_logits.detach() / temperature;
  torch::Tensor kl;
  if (binary) {
    torch::Tensor p_t = torch::sigmoid(t);
    torch::Tensor log_pt = torch::log_sigmoid(t);
    torch::Tensor log_qt = torch::log_sigmoid(-t);
    kl = (p_t * (log_pt - torch::log_sigmoid(s)) + (1 - p_t) * (log_qt - torch::log_sigmoid(-s)))
             .mean();
  } else {
    torch::Tensor log_pt = torch::log_softmax(t, -1);
    torch::Tensor log_ps = torch::log_softmax(s, -1);
    const double rows = static_cast<double>(s.numel() / s.size(-1));
    kl = (log_pt.exp() * (log_pt - log_ps)).sum() / rows;
  }
  return kl * (temperature * temperature);
}

torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, const torch::Tensor& task_loss,
                                const DistillationOptions& options) {
  if (!(options.alpha >= 0.0 && options.alpha <= 1.0)) {
    throw std::invalid_argument("distillation: alpha must lie in [0, 1], got " +
                                std::to_string(options.alpha));
  }
  return options.alpha * distillation_term(student_logits, teacher_logits, options.temperature,
                                           options.binary) +
         (1.0 - options.alpha) * task_loss;
}

}  // namespace lowbit::train
