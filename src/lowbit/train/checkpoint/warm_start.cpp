#include "lowbit/train/checkpoint/warm_start.h"

#include <torch/autograd.h>

#include <sstream>

#include "lowbit/train/quantize/batch_norm_fold.h"

namespace lowbit::train {

int WarmStartReport::copied() const {
  int n = 0;
  for (const auto& e : entries) n += e.status == WarmStartStatus::kCopied ? 1 : 0;
  return n;
}

int WarmStartReport::skipped() const {
  int n = 0;
  for (const auto& e : entries) {
    n += (e.status == WarmStartStatus::kMissing || e.status == WarmStartStatus::kShapeMismatch);
  }
  return n;
}

int WarmStartReport::fresh() const {
  int n = 0;
  for (const auto& e : entries) n += e.status == WarmStartStatus::kFresh ? 1 : 0;
  return n;
}

std::string WarmStartReport::text(const std::string& source, const std::string& target) const {
  std::ostringstream out;
  out << "Warm start of " << target << " from " << source << "\n";
  for (const auto& e : entries) {
    switch (e.status) {
      case WarmStartStatus::kCopied:
        out << "  copied   " << e.name << "  shape " << e.target_shape << "\n";
        break;
      case WarmStartStatus::kMissing:
        out << "  skipped  " << e.name << "  missing in source (keeps its initial value)\n";
        break;
      case WarmStartStatus::kShapeMismatch:
        out << "  skipped  " << e.name << "  shape mismatch: source " << e.source_shape
            << " vs target " << e.target_shape << "\n";
        break;
      case WarmStartStatus::kFresh:
        out << "  fresh    " << e.name << "  quantizer state "
            << (e.source_shape.empty() ? "not in source"
                                       : "of shape " + e.source_shape + " in source")
            << ": initialised fresh\n";
        break;
    }
  }
  for (const auto& name : unused) out << "  unused   " << name << "  (source only)\n";
  out << "Copied: " << copied() << "  Skipped: " << skipped();
  if (fresh() > 0) out << "  Fresh quantizer state: " << fresh();
  out << "\n";
  return out.str();
}

bool is_quantizer_state(const std::string& name) {
  std::istringstream parts(name);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (part.size() > 6 && part.compare(part.size() - 6, 6, "_quant") == 0) return true;
  }
  return false;
}

WarmStartReport warm_start(torch::nn::Module& model, const NamedTensors& source, bool strict) {
  // A source stage that folded its batch norms has no unfolded batch norm to copy from.
  restore_folded_batch_norms(model, source);
  WarmStartReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  auto params = model.named_parameters(true);
  auto buffers = model.named_buffers(true);
  auto visit = [&](const std::string& name, const torch::Tensor& target) {
    WarmStartEntry entry;
    entry.name = name;
    entry.target_shape = shape_text(target);
    const torch::Tensor* from = source.find(name);
    const bool quantizer = is_quantizer_state(name);
    if (from == nullptr) {
      entry.status = quantizer ? WarmStartStatus::kFresh : WarmStartStatus::kMissing;
    } else {
      entry.source_shape = shape_text(*from);
      if (from->sizes() != target.sizes()) {
        entry.status = quantizer ? WarmStartStatus::kFresh : WarmStartStatus::kShapeMismatch;
      } else {
        entry.status = WarmStartStatus::kCopied;
        copies.emplace_back(target, *from);
      }
    }
    report.entries.push_back(entry);
  };
  for (const auto& item : params) visit(item.key(), item.value());
  for (const auto& item : buffers) visit(item.key(), item.value());
  for (const auto& item : source) {
    if (params.find(item.key()) == nullptr && buffers.find(item.key()) == nullptr) {
      report.unused.push_back(item.key());
    }
  }
  if (strict && report.skipped() > 0) {
    std::string message = "strict warm start: " + std::to_string(report.skipped()) +
                          " tensor(s) of the model cannot be copied from the source:";
    for (const auto& e : report.entries) {
      if (e.status == WarmStartStatus::kMissing) {
        message += "\n  " + e.name + " " + e.target_shape + ": missing in source";
      } else if (e.status == WarmStartStatus::kShapeMismatch) {
        message += "\n  " + e.name + ": shape mismatch, source " + e.source_shape + " vs target " +
                   e.target_shape;
      }
    }
    throw WarmStartError(message);
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, from] : copies) target.copy_(from.to(target.dtype()));
  return report;
}

}  // namespace lowbit::train
