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

Values run_conv_transpose(const ConvTranspose2d& up, const Values& x, int32_t input_zp,
                          int32_t output_zp) {
  Values out(static_cast<size_t>(up.out_channels * up.out_height * up.out_width));
  for (int64_t o = 0; o < up.out_channels; ++o) {
    const int8_t* w = up.weights.data() + o * up.row_length();
    for (int64_t y = 0; y < up.out_height; ++y) {
      for (int64_t xo = 0; xo < up.out_width; ++xo) {
        int64_t sum = up.bias.empty() ? 0 : up.bias[static_cast<size_t>(o)];
        for (int64_t ky = 0; ky < up.kernel_h; ++ky) {
          const int64_t ny = y + up.pad_top - ky;
          if (ny < 0 || ny % up.stride_h != 0 || ny / up.stride_h >= up.in_height) continue;
          for (int64_t kx = 0; kx < up.kernel_w; ++kx) {
            const int64_t nx = xo + up.pad_left - kx;
            if (nx < 0 || nx % up.stride_w != 0 || nx / up.stride_w >= up.in_width) continue;
            const int64_t iy = ny / up.stride_h;
            const int64_t ix = nx / up.stride_w;
            for (int64_t i = 0; i < up.in_channels; ++i) {
              const int8_t q = x[static_cast<size_t>((i * up.in_height + iy) * up.in_width + ix)];
              sum +=
                  static_cast<int64_t>(q - input_zp) * w[(i * up.kernel_h + ky) * up.kernel_w + kx];
            }
          }
        }
        out[static_cast<size_t>((o * up.out_height + y) * up.out_width + xo)] =
            requantize_with(up.requant, o, output_zp, sum);
      }
    }
  }
  return out;
}

// floor(a / 2^k), also for negative a.
int64_t floor_shift(int64_t a, int k) {
  return a >= 0 ? a >> k : -((-a + (int64_t{1} << k) - 1) >> k);
}

}  // namespace

int8_t reference_lif_step(int32_t current, const Lif& lif, int64_t channel, int64_t& membrane,
                          uint8_t& pending_reset) {
  const auto pick = [&](const std::vector<int32_t>& v) {
    return static_cast<int64_t>(v.size() == 1 ? v[0] : v[static_cast<size_t>(channel)]);
  };
  const int64_t threshold = pick(lif.threshold);
  const int64_t low = lif.membrane_bits == 16 ? -32768 : std::numeric_limits<int32_t>::min();
  const int64_t high = lif.membrane_bits == 16 ? 32767 : std::numeric_limits<int32_t>::max();
  const int64_t u = membrane;
  const int64_t leaked = lif.leak_shift > 0 ? u - floor_shift(u, lif.leak_shift)
                                            : floor_shift(u * pick(lif.beta_q15) + 16384, 15);
  int64_t next = 0;
  if (lif.reset_delay) {
    switch (lif.reset) {
      case LifReset::kSubtract:
        next = leaked + current - (pending_reset ? threshold : 0);
        break;
      case LifReset::kZero:
        next = (pending_reset ? 0 : leaked) + current;
        break;
      case LifReset::kNone:
        next = leaked + current;
        break;
    }
    next = std::clamp(next, low, high);
    const int8_t spike = next > threshold ? 1 : 0;
    pending_reset = static_cast<uint8_t>(spike);
    membrane = next;
    return spike;
  }
  next = std::clamp(leaked + current, low, high);
  const int8_t spike = next > threshold ? 1 : 0;
  if (spike && lif.reset == LifReset::kSubtract) next -= threshold;
  if (spike && lif.reset == LifReset::kZero) next = 0;
  membrane = next;
  return spike;
}

int8_t reference_leaky_relu(int8_t x, int32_t zero_point, int32_t slope_q15) {
  if (x >= zero_point) return x;
  // (x - zp) * slope < 0: round half away from zero of its magnitude / 2^15.
  const int64_t magnitude =
      (static_cast<int64_t>(zero_point - x) * slope_q15 + (int64_t{1} << 14)) >> 15;
  return static_cast<int8_t>(std::clamp<int64_t>(zero_point - magnitude, -128, 127));
}

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

// The state a sequence model carries from step to step, cleared for every sample.
struct ReferenceExecutor::State {
  std::vector<std::vector<int64_t>> membranes;  // per layer (LIF layers only)
  std::vector<std::vector<uint8_t>> resets;     // per layer (LIF layers only)
};

ReferenceExecutor::ReferenceExecutor(IntegerModel model)
    : model_(std::move(model)), shapes_(validate(model_)), per_step_(per_step_layers(model_)) {}

void ReferenceExecutor::run_layer(size_t i, const Values& frame, std::vector<Values>& outputs,
                                  State& state) const {
  const Layer& layer = model_.layers[i];
  const auto value_of = [&](int producer) -> const Values& {
    return producer == kModelInput ? frame : outputs[static_cast<size_t>(producer)];
  };
  const Values& x = value_of(layer.inputs[0]);
  const int32_t input_zp = input_zero_point_of(model_, layer.inputs[0]);
  Values& out = outputs[i];
  std::visit(
      OpVisitor{
          [&](const FullyConnected& fc) { out = run_fc(fc, x, input_zp, layer.output_zero_point); },
          [&](const Conv2d& conv) { out = run_conv(conv, x, input_zp, layer.output_zero_point); },
          [&](const Pool& pool) { out = run_pool(pool, x); },
          [&](const Flatten&) { out = x; },
          [&](const Slice& slice) {
            out.assign(x.begin() + slice.offset, x.begin() + slice.offset + slice.length);
          },
          [&](const Concat& cat) {
            out.clear();
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
          [&](const ConvTranspose2d& up) {
            out = run_conv_transpose(up, x, input_zp, layer.output_zero_point);
          },
          [&](const LeakyRelu& leaky) {
            out.resize(x.size());
            for (size_t k = 0; k < x.size(); ++k) {
              out[k] = reference_leaky_relu(x[k], input_zp, leaky.slope_q15);
            }
          },
          [&](const Lif& lif) {
            std::vector<int64_t>& membrane = state.membranes[i];
            std::vector<uint8_t>& reset = state.resets[i];
            out.resize(x.size());
            for (size_t k = 0; k < x.size(); ++k) {
              const int64_t channel = static_cast<int64_t>(k) / lif.plane;
              out[k] = reference_lif_step(x[k] - input_zp, lif, channel, membrane[k], reset[k]);
            }
          },
          // The running sum is the layer's output; it is complete after the last step.
          [&](const TimeSum&) {
            out.resize(x.size(), 0);
            for (size_t k = 0; k < x.size(); ++k) {
              out[k] = static_cast<int8_t>(std::clamp(out[k] + x[k] - input_zp, -128, 127));
            }
          },
      },
      layer.op);
}

std::vector<int8_t> ReferenceExecutor::run(const std::vector<int8_t>& input,
                                           const Observer& observer) const {
  if (static_cast<int64_t>(input.size()) != input_size()) {
    throw std::invalid_argument("reference executor: expected " + std::to_string(input_size()) +
                                " input values, got " + std::to_string(input.size()));
  }
  const size_t count = model_.layers.size();
  std::vector<Values> outputs(count);
  State state;
  state.membranes.resize(count);
  state.resets.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (!std::holds_alternative<Lif>(model_.layers[i].op)) continue;
    state.membranes[i].assign(static_cast<size_t>(shapes_[i].size()), 0);
    state.resets[i].assign(static_cast<size_t>(shapes_[i].size()), 0);
  }
  const auto run_one = [&](size_t i, const Values& frame) {
    run_layer(i, frame, outputs, state);
    if (observer) observer(static_cast<int>(i), outputs[i]);
  };
  if (model_.time_steps == 0) {
    if (observer) observer(kModelInput, input);
    for (size_t i = 0; i < count; ++i) run_one(i, input);
    return outputs.back();
  }
  const int64_t frame_size = model_.input_shape.size();
  for (int64_t t = 0; t < model_.time_steps; ++t) {
    const Values frame(input.begin() + t * frame_size, input.begin() + (t + 1) * frame_size);
    if (observer) observer(kModelInput, frame);
    for (size_t i = 0; i < count; ++i) {
      if (per_step_[i]) run_one(i, frame);
    }
  }
  for (size_t i = 0; i < count; ++i) {
    if (!per_step_[i]) run_one(i, {});
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
