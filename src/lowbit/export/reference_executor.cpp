#include "lowbit/export/reference_executor.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace lowbit::exporter {

namespace {

using Values = std::vector<int8_t>;

int32_t saturating_accumulator(int64_t sum) {
  return static_cast<int32_t>(std::clamp<int64_t>(sum, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

int8_t requantize_with(const Requant& requant, int64_t channel, int32_t zero_point, int64_t sum) {
  const size_t k = requant.multiplier.size() == 1 ? 0 : static_cast<size_t>(channel);
  return reference_requantize(saturating_accumulator(sum), requant.multiplier[k], requant.shift[k],
                              zero_point, requant.act_min, requant.act_max);
}

Values run_fc(const FullyConnected& fc, const Values& x, int32_t input_zp, int32_t output_zp) {
  Values out(static_cast<size_t>(fc.out_features));
  for (int64_t o = 0; o < fc.out_features; ++o) {
    int64_t sum = fc.bias.empty() ? 0 : fc.bias[static_cast<size_t>(o)];
    const int8_t* w = fc.weights.data() + o * fc.in_features;
    for (int64_t i = 0; i < fc.in_features; ++i) {
      sum += static_cast<int64_t>(x[static_cast<size_t>(i)] - input_zp) * w[i];
    }
    out[static_cast<size_t>(o)] = requantize_with(fc.requant, o, output_zp, sum);
  }
  return out;
}

Values run_conv(const Conv2d& conv, const Values& x, int32_t input_zp, int32_t output_zp) {
  const int64_t oh = conv.out_height();
  const int64_t ow = conv.out_width();
  const int64_t in_per_group = conv.in_channels / conv.groups;
  const int64_t out_per_group = conv.out_channels / conv.groups;
  Values out(static_cast<size_t>(conv.out_channels * oh * ow));
  for (int64_t o = 0; o < conv.out_channels; ++o) {
    const int64_t group = o / out_per_group;
    const int8_t* w = conv.weights.data() + o * conv.row_length();
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t xo = 0; xo < ow; ++xo) {
        int64_t sum = conv.bias.empty() ? 0 : conv.bias[static_cast<size_t>(o)];
        for (int64_t ci = 0; ci < in_per_group; ++ci) {
          const int64_t channel = group * in_per_group + ci;
          for (int64_t ky = 0; ky < conv.kernel_h; ++ky) {
            const int64_t iy = y * conv.stride_h - conv.pad_top + ky;
            for (int64_t kx = 0; kx < conv.kernel_w; ++kx) {
              const int64_t ix = xo * conv.stride_w - conv.pad_left + kx;
              // Padding holds the input zero point, which contributes exactly 0.
              if (iy < 0 || iy >= conv.in_height || ix < 0 || ix >= conv.in_width) continue;
              const int8_t q =
                  x[static_cast<size_t>((channel * conv.in_height + iy) * conv.in_width + ix)];
              sum += static_cast<int64_t>(q - input_zp) *
                     w[(ci * conv.kernel_h + ky) * conv.kernel_w + kx];
            }
          }
        }
        out[static_cast<size_t>((o * oh + y) * ow + xo)] =
            requantize_with(conv.requant, o, output_zp, sum);
      }
    }
  }
  return out;
}

Values run_pool(const Pool& pool, const Values& x) {
  const int64_t oh = pool.out_height();
  const int64_t ow = pool.out_width();
  Values out(static_cast<size_t>(pool.channels * oh * ow));
  for (int64_t c = 0; c < pool.channels; ++c) {
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t xo = 0; xo < ow; ++xo) {
        int64_t sum = 0;
        int64_t count = 0;
        int best = -129;
        for (int64_t ky = 0; ky < pool.kernel_h; ++ky) {
          const int64_t iy = y * pool.stride_h - pool.pad_top + ky;
          for (int64_t kx = 0; kx < pool.kernel_w; ++kx) {
            const int64_t ix = xo * pool.stride_w - pool.pad_left + kx;
            if (iy < 0 || iy >= pool.in_height || ix < 0 || ix >= pool.in_width) continue;
            const int q = x[static_cast<size_t>((c * pool.in_height + iy) * pool.in_width + ix)];
            sum += q;
            ++count;
            best = std::max(best, q);
          }
        }
        int value = best;
        if (pool.average) {
          // Round half away from zero of sum / count, in integers.
          const int64_t magnitude = (2 * (sum < 0 ? -sum : sum) + count) / (2 * count);
          value = static_cast<int>(sum < 0 ? -magnitude : magnitude);
        }
        out[static_cast<size_t>((c * oh + y) * ow + xo)] = static_cast<int8_t>(value);
      }
    }
  }
  return out;
}

}  // namespace

int8_t reference_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                            int32_t act_min, int32_t act_max) {
  const int64_t product = static_cast<int64_t>(acc) * multiplier;
  const int right = 31 - shift;
  const uint64_t magnitude =
      product < 0 ? static_cast<uint64_t>(-(product + 1)) + 1 : static_cast<uint64_t>(product);
  const uint64_t rounded = (magnitude + (uint64_t{1} << (right - 1))) >> right;
  // rounded < 2^62, so the signed value and the sum with the zero point cannot overflow.
  const int64_t y = product < 0 ? -static_cast<int64_t>(rounded) : static_cast<int64_t>(rounded);
  return static_cast<int8_t>(std::clamp<int64_t>(y + zero_point, act_min, act_max));
}

int8_t reference_add(int32_t a, int32_t b, const Add& add, int32_t zero_point) {
  // |a|, |b| <= 255 and multipliers < 2^31: the sum is exact in int64 (|sum| < 2^40).
  const int64_t sum =
      static_cast<int64_t>(a) * add.multiplier_a + static_cast<int64_t>(b) * add.multiplier_b;
  const int right = 31 - add.shift;
  const uint64_t magnitude =
      sum < 0 ? static_cast<uint64_t>(-(sum + 1)) + 1 : static_cast<uint64_t>(sum);
  const uint64_t rounded = (magnitude + (uint64_t{1} << (right - 1))) >> right;
  const int64_t y = sum < 0 ? -static_cast<int64_t>(rounded) : static_cast<int64_t>(rounded);
  return static_cast<int8_t>(std::clamp<int64_t>(y + zero_point, add.act_min, add.act_max));
}

ReferenceExecutor::ReferenceExecutor(IntegerModel model)
    : model_(std::move(model)), shapes_(validate(model_)) {}

std::vector<int8_t> ReferenceExecutor::run(const std::vector<int8_t>& input) const {
  if (static_cast<int64_t>(input.size()) != input_size()) {
    throw std::invalid_argument("reference executor: expected " + std::to_string(input_size()) +
                                " input values, got " + std::to_string(input.size()));
  }
  std::vector<Values> outputs(model_.layers.size());
  const auto value_of = [&](int producer) -> const Values& {
    return producer == kModelInput ? input : outputs[static_cast<size_t>(producer)];
  };
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    const Layer& layer = model_.layers[i];
    const Values& x = value_of(layer.inputs[0]);
    const int32_t input_zp = input_zero_point_of(model_, layer.inputs[0]);
    Values& out = outputs[i];
    std::visit(
        OpVisitor{
            [&](const FullyConnected& fc) {
              out = run_fc(fc, x, input_zp, layer.output_zero_point);
            },
            [&](const Conv2d& conv) { out = run_conv(conv, x, input_zp, layer.output_zero_point); },
            [&](const Pool& pool) { out = run_pool(pool, x); },
            [&](const Flatten&) { out = x; },
            [&](const Slice& slice) {
              out.assign(x.begin() + slice.offset, x.begin() + slice.offset + slice.length);
            },
            [&](const Concat& cat) {
              for (size_t k = 0; k < layer.inputs.size(); ++k) {
                const int32_t zp = input_zero_point_of(model_, layer.inputs[k]);
                for (int8_t q : value_of(layer.inputs[k])) {
                  out.push_back(reference_requantize(q - zp, cat.inputs[k].multiplier,
                                                     cat.inputs[k].shift, layer.output_zero_point,
                                                     -128, 127));
                }
              }
            },
            [&](const Add& add) {
              const Values& a = value_of(layer.inputs[0]);
              const Values& b = value_of(layer.inputs[1]);
              const int32_t zp_b = input_zero_point_of(model_, layer.inputs[1]);
              out.resize(a.size());
              for (size_t k = 0; k < a.size(); ++k) {
                out[k] = reference_add(a[k] - input_zp, b[k] - zp_b, add, layer.output_zero_point);
              }
            },
        },
        layer.op);
  }
  return outputs.back();
}

std::vector<int8_t> ReferenceExecutor::run_batch(const std::vector<int8_t>& inputs,
                                                 int64_t samples) const {
  if (samples < 0 || static_cast<int64_t>(inputs.size()) != samples * input_size()) {
    throw std::invalid_argument("reference executor: expected " + std::to_string(samples) + " x " +
                                std::to_string(input_size()) + " input values, got " +
                                std::to_string(inputs.size()));
  }
  std::vector<int8_t> result;
  result.reserve(static_cast<size_t>(samples * output_size()));
  for (int64_t s = 0; s < samples; ++s) {
    const std::vector<int8_t> one(inputs.begin() + s * input_size(),
                                  inputs.begin() + (s + 1) * input_size());
    const std::vector<int8_t> out = run(one);
    result.insert(result.end(), out.begin(), out.end());
  }
  return result;
}

}  // namespace lowbit::exporter
