#include "lowbit/export/lowering/requant_precision.h"

#include <algorithm>
#include <cstdlib>

namespace lowbit::exporter {

namespace {

constexpr int64_t kLimit32 = int64_t{1} << 31;

// Bound for output channel `c` of a per-layer (1 entry) or per-channel multiplier list.
int64_t bound_for(const std::vector<int64_t>& bounds, size_t count, size_t c) {
  if (count > 1) return bounds[c];
  return *std::max_element(bounds.begin(), bounds.end());
}

// The requantization of a fully connected or conv2d layer (nullptr for other ops).
Requant* requant_of(Op& op) {
  if (auto* fc = std::get_if<FullyConnected>(&op)) return &fc->requant;
  if (auto* conv = std::get_if<Conv2d>(&op)) return &conv->requant;
  return nullptr;
}

}  // namespace

DenseRows dense_rows(const Op& op) {
  if (const auto* fc = std::get_if<FullyConnected>(&op)) {
    return {fc->weights, fc->bias, fc->requant, fc->out_features, fc->in_features, fc->format};
  }
  const auto& conv = std::get<Conv2d>(op);
  return {conv.weights, conv.bias, conv.requant, conv.out_channels, conv.row_length(), conv.format};
}

std::vector<int64_t> accumulator_bounds(const IntegerModel& model, size_t index) {
  const Layer& layer = model.layers[index];
  const DenseRows rows = dense_rows(layer.op);
  const int64_t zp = input_zero_point_of(model, layer.inputs[0]);
  const int64_t floor = value_floor(model, layer.inputs[0]);
  const int64_t reach = std::max(std::llabs(floor - zp), std::llabs(127 - zp));
  std::vector<int64_t> bounds(static_cast<size_t>(rows.count));
  for (int64_t o = 0; o < rows.count; ++o) {
    int64_t sum = 0;
    for (int64_t i = 0; i < rows.length; ++i) {
      sum += std::llabs(rows.weights[static_cast<size_t>(o * rows.length + i)]);
    }
    const int64_t bias = rows.bias.empty() ? 0 : std::llabs(rows.bias[static_cast<size_t>(o)]);
    bounds[static_cast<size_t>(o)] = bias + reach * sum;
  }
  return bounds;
}

ShortMultiplier short_multiplier(int32_t multiplier, int32_t shift) {
  ShortMultiplier s{multiplier, 31 - shift};
  if (multiplier == 0) return {0, 1};
  while (s.r > 1 && (s.m & 1) == 0) {
    s.m >>= 1;
    --s.r;
  }
  return s;
}

void limit_requant_precision(IntegerModel& model) {
  for (size_t index = 0; index < model.layers.size(); ++index) {
    Requant* const requant = requant_of(model.layers[index].op);
    if (requant == nullptr) continue;
    const std::vector<int64_t> bounds = accumulator_bounds(model, index);
    Requant& rq = *requant;
    for (size_t c = 0; c < rq.multiplier.size(); ++c) {
      const int64_t bound = std::max<int64_t>(bound_for(bounds, rq.multiplier.size(), c), 1);
      const int64_t multiplier = rq.multiplier[c];
      const int32_t shift = rq.shift[c];
      // Drop k low bits (round half up) until m * bound < 2^31; r = 31 - shift - k stays >= 1.
      for (int k = 0; k <= 30 - shift; ++k) {
        int64_t m = k == 0 ? multiplier : (multiplier + (int64_t{1} << (k - 1))) >> k;
        int32_t new_shift = shift;
        if ((m << k) >= kLimit32) {  // rounded up to 2^31: the same factor as 2^30 one shift up
          if (shift >= 30) break;
          m >>= 1;
          ++new_shift;
        }
        if (m * bound < kLimit32) {
          rq.multiplier[c] = static_cast<int32_t>(m << k);
          rq.shift[c] = new_shift;
          break;
        }
      }
    }
  }
}

bool requant_fits_32bit(const IntegerModel& model, size_t index) {
  const Requant& rq = dense_rows(model.layers[index].op).requant;
  const std::vector<int64_t> bounds = accumulator_bounds(model, index);
  for (size_t c = 0; c < rq.multiplier.size(); ++c) {
    const ShortMultiplier s = short_multiplier(rq.multiplier[c], rq.shift[c]);
    if (s.m * bound_for(bounds, rq.multiplier.size(), c) >= kLimit32 || s.r > 31) {
      return false;
    }
  }
  return true;
}

}  // namespace lowbit::exporter
