#include "lowbit/train/report/quant_ranges.h"

#include <memory>

#include "lowbit/nn/leaky.h"
#include "lowbit/quant/affine/range_estimator.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/report/csv_log.h"

namespace lowbit::train {

std::vector<QuantRange> quantization_ranges(torch::nn::Module& model) {
  std::vector<QuantRange> ranges;
  // Quantized membranes come right after the slots of their block, so rows read in module order.
  std::vector<std::pair<std::string, std::shared_ptr<nn::LeakyImpl>>> membranes;
  for (const auto& item : model.named_modules("", false)) {
    if (auto leaky = std::dynamic_pointer_cast<nn::LeakyImpl>(item.value())) {
      if (leaky->options.state_quant_bits() > 0) membranes.emplace_back(item.key(), leaky);
    }
  }
  for (auto& slot : find_quantizer_slots(model, "*", "all")) {
    quant::Quantizer q = slot.get();
    if (!q) continue;
    for (const auto& child : q->modules(/*include_self=*/true)) {
      auto ema = std::dynamic_pointer_cast<quant::EmaEstimatorImpl>(child);
      if (!ema || !ema->initialized()) continue;
      ranges.push_back({slot.layer, slot.role, q->bits(), ema->running_min().min().item<double>(),
                        ema->running_max().max().item<double>()});
    }
  }
  for (const auto& [name, leaky] : membranes) {
    const torch::Tensor levels = leaky->state_levels();
    ranges.push_back({name, "state", leaky->options.state_quant_bits(), levels.min().item<double>(),
                      levels.max().item<double>()});
  }
  return ranges;
}

const std::vector<std::string>& quant_range_columns() {
  static const std::vector<std::string> columns = {"stage", "epoch", "layer", "role",
                                                   "bits",  "min",   "max"};
  return columns;
}

void log_quantization_ranges(const std::string& path, const std::string& stage, int64_t epoch,
                             torch::nn::Module& model) {
  const std::vector<QuantRange> ranges = quantization_ranges(model);
  if (ranges.empty()) return;
  CsvLog csv(path, quant_range_columns());
  for (const QuantRange& r : ranges) {
    csv.append({stage, std::to_string(epoch), r.layer, r.role, std::to_string(r.bits),
                format_number(r.min), format_number(r.max)});
  }
}

}  // namespace lowbit::train
