// Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
// Network").
//
//   loss = alpha * T^2 * KL(p_teacher || p_student) + (1 - alpha) * task_loss
//
// with p = softmax(logits / T) over the last axis. The KL runs from the teacher's distribution
// to the student's, sum_k p_t,k * (log p_t,k - log p_s,k) — PyTorch's
// kl_div(log_softmax(student / T), softmax(teacher / T)) — summed over classes and averaged over
// the other elements (PyTorch's reduction "batchmean"). The T^2 factor keeps the gradient scale
// independent of T. Binary (sigmoid) outputs use the KL of the two Bernoulli distributions
// sigmoid(logit / T), averaged over all elements. The teacher's logits get no gradient.
#pragma once

#include <torch/types.h>

namespace lowbit::train {

/// Settings of distillation (YAML `methods: {distill: ...}`).
struct DistillationOptions {
  double alpha = 0.5;        ///< Weight of the distillation term; 1 - alpha weighs the task loss.
  double temperature = 4.0;  ///< Softening temperature T > 0.
  bool binary = false;       ///< Sigmoid outputs (one logit per output) instead of softmax.
};

/// T^2 * KL(teacher || student) at temperature T; throws std::invalid_argument for shape
/// mismatch or T <= 0.
torch::Tensor distillation_term(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, double temperature,
                                bool binary);

/// alpha * distillation_term + (1 - alpha) * task_loss; alpha must lie in [0, 1].
torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, const torch::Tensor& task_loss,
                                const DistillationOptions& options);

}  // namespace lowbit::train
