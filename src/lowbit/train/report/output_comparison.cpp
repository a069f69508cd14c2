#include "lowbit/train/report/output_comparison.h"

#include <torch/autograd.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::train {
namespace {

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

}  // namespace

torch::Tensor collect_outputs(torch::nn::AnyModule& model, const data::Dataset& dataset,
                              int64_t batch_size) {
  if (batch_size < 1) throw std::invalid_argument("collect_outputs: batch_size must be >= 1");
  model.ptr()->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < dataset.size(); start += batch_size) {
    const int64_t end = std::min(dataset.size(), start + batch_size);
    torch::Tensor out = model.forward(dataset.inputs.slice(0, start, end));
    parts.push_back(out.detach().to(torch::kCPU, torch::kFloat32));
  }
  if (parts.empty()) return torch::empty({0});
  return torch::cat(parts);
}

OutputDifference compare_outputs(const torch::Tensor& output, const torch::Tensor& reference) {
  if (output.sizes() != reference.sizes() || output.numel() == 0) {
    throw std::invalid_argument("compare outputs: shapes " + shape_text(output) + " and " +
                                shape_text(reference) +
                                " differ or hold no values (the stages must share the model)");
  }
  const torch::Tensor diff =
      output.detach().to(torch::kFloat64) - reference.detach().to(torch::kFloat64);
  OutputDifference d;
  d.values = diff.numel();
  d.mae = diff.abs().mean().item<double>();
  d.mse = diff.pow(2).mean().item<double>();
  d.max_abs = diff.abs().max().item<double>();
  return d;
}

}  // namespace lowbit::train
