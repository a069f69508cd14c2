#include "lowbit/export/lowering/layer_chain.h"

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "lowbit/export/lowering/integer_form_weights.h"
#include "lowbit/export/lowering/requantization.h"
#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/nn/integer_lif.h"

namespace lowbit::exporter::lowering {

namespace {

// The ops whose weights, bias and requantization the chain fills in.
template <class T>
constexpr bool kHasWeights = std::is_same_v<T, FullyConnected> || std::is_same_v<T, Conv2d> ||
                             std::is_same_v<T, ConvTranspose2d>;

// The fields a convolution and a transposed convolution take alike from their layer's options
// and input shape: channels, input size, kernel and stride. Padding differs (a transposed
// convolution's crops its output), so each sets its own.
template <class Op, class Options>
void set_window(Op& c, const Options& o, const Shape& input) {
  c.in_channels = o.in_channels();
  c.in_height = input.height;
  c.in_width = input.width;
  c.out_channels = o.out_channels();
  c.kernel_h = (*o.kernel_size())[0];
  c.kernel_w = (*o.kernel_size())[1];
  c.stride_h = (*o.stride())[0];
  c.stride_w = (*o.stride())[1];
}

}  // namespace

// Where the next layer reads from.
void LayerChain::set_cursor(int producer, const Grid& grid, const Shape& shape) {
  producer_ = producer;
  grid_ = grid;
  shape_ = shape;
  has_input_ = true;
}

// Appends a layer that reads `producer` and makes it the cursor.
void LayerChain::push_layer(Layer layer, const Grid& grid, const Shape& shape) {
  model_.layers.push_back(std::move(layer));
  set_cursor(static_cast<int>(model_.layers.size()) - 1, grid, shape);
}

void LayerChain::add(const std::string& name, torch::nn::Module& module) {
  if (auto* act = dynamic_cast<nn::QActivationImpl*>(&module)) return add_activation(name, *act);
  if (dynamic_cast<torch::nn::DropoutImpl*>(&module)) return;
  // A folded batch norm is the identity: its normalization is in the layer's weights and bias.
  if (auto* bn = dynamic_cast<nn::FoldableBatchNormImpl*>(&module)) {
    if (bn->folded()) return;
    return fold_batch_norm(name, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                           bn->options.eps(), bn->options.affine());
  }
  if (auto* bn = dynamic_cast<torch::nn::BatchNorm1dImpl*>(&module)) {
    return fold_batch_norm(name, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                           bn->options.eps(), bn->options.affine());
  }
  if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(&module)) {
    return fold_batch_norm(name, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                           bn->options.eps(), bn->options.affine());
  }
  if (auto* linear = dynamic_cast<nn::QLinearImpl*>(&module)) return add_linear(name, *linear);
  if (auto* conv = dynamic_cast<nn::QConv2dImpl*>(&module)) return add_conv(name, *conv);
  if (auto* up = dynamic_cast<nn::QConvTranspose2dImpl*>(&module)) {
    return add_conv_transpose(name, *up);
  }
  require_settled(name);
  if (auto* lif = dynamic_cast<nn::LeakyImpl*>(&module)) return add_lif(name, *lif);
  if (dynamic_cast<torch::nn::FlattenImpl*>(&module)) {
    push(name, Flatten{}, Shape{shape_.size(), 1, 1});
    return;
  }
  if (auto* pool = dynamic_cast<torch::nn::MaxPool2dImpl*>(&module)) {
    return add_pool(name, false, pool->options.kernel_size(), pool->options.stride(),
                    pool->options.padding(), pool->options.dilation(), pool->options.ceil_mode());
  }
  // AdaptiveAvgPool2d(1) is global average pooling: one average pool over the whole map.
  if (auto* pool = dynamic_cast<torch::nn::AdaptiveAvgPool2dImpl*>(&module)) {
    const auto& size = *pool->options.output_size();
    if (!size[0].has_value() || !size[1].has_value() || *size[0] != 1 || *size[1] != 1) {
      fail(name, "adaptive avg pool is supported with output size 1 (global average) only");
    }
    const torch::ExpandingArray<2> window({shape_.height, shape_.width});
    return add_pool(name, true, window, window, torch::ExpandingArray<2>(0),
                    torch::ExpandingArray<2>(1), false);
  }
  if (auto* pool = dynamic_cast<torch::nn::AvgPool2dImpl*>(&module)) {
    if (pool->options.divisor_override().has_value()) {
      fail(name, "avg pool divisor_override is not supported");
    }
    const auto& pad = *pool->options.padding();
    if (pool->options.count_include_pad() && (pad[0] != 0 || pad[1] != 0)) {
      fail(name,
           "avg pool with padding must set count_include_pad(false) (the runtime "
           "excludes padding)");
    }
    return add_pool(name, true, pool->options.kernel_size(), pool->options.stride(),
                    pool->options.padding(), torch::ExpandingArray<2>(1),
                    pool->options.ceil_mode());
  }
  fail(name, "unsupported module " + module.name() +
                 " (the lowering takes QLinear, QConv2d, QConvTranspose2d, QActivation, "
                 "BatchNorm, Dropout, Flatten, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Leaky "
                 "and Sequential)");
}

// Emits the pending layer with its own output quantizer or fails when it has none.
void LayerChain::finish(const std::string& what_follows) {
  if (!pending_) return;
  if (pending_dynamic_quant_) {
    settle_dynamic_shift(Activation::kNone, *pending_dynamic_quant_, pending_->layer.name);
    return;
  }
  if (pending_output_quant_) {
    settle(Activation::kNone, *pending_output_quant_, pending_->layer.name);
    return;
  }
  fail(pending_->layer.name,
       "output is not quantized: expected an output quantizer on it or a "
       "QActivation with an output quantizer after it" +
           what_follows);
}

void LayerChain::require_input(const std::string& name) {
  if (!has_input_) {
    fail(name,
         "the model input is not quantized: put a QActivation 'none' with an output "
         "quantizer first, or an input quantizer on the first layer");
  }
}

void LayerChain::require_settled(const std::string& name) {
  require_input(name);
  finish(" (before '" + name + "')");
}

void LayerChain::push(const std::string& name, Op op, const Shape& out_shape) {
  Layer layer;
  layer.name = name;
  layer.inputs = {producer_};
  layer.op = std::move(op);
  layer.output_scale = grid_.scale;
  layer.output_zero_point = grid_.zero_point;
  model_.layers.push_back(std::move(layer));
  producer_ = static_cast<int>(model_.layers.size()) - 1;
  shape_ = out_shape;
}

void LayerChain::add_activation(const std::string& name, nn::QActivationImpl& act) {
  if (!act.output_quant() && act.options.function() == "none") return;
  if (pending_) {
    if (pending_output_quant_ || pending_dynamic_quant_) {
      fail(name, "follows '" + pending_->layer.name +
                     "', which has its own output quantizer; quantize once per layer");
    }
    if (!act.output_quant()) {
      fail(name, "activation has no output quantizer, so '" + pending_->layer.name +
                     "' has no output scale");
    }
    if (auto dynamic = std::dynamic_pointer_cast<quant::DynamicShiftImpl>(act.output_quant())) {
      settle_dynamic_shift(activation_of(act, name), *dynamic, name);
      return;
    }
    settle(activation_of(act, name), activation_grid(act.output_quant(), pending_->out_shape, name),
           name);
    return;
  }
  if (act.options.function() != "none") {
    fail(name, "a standalone activation (not after a QLinear/QConv2d) has no integer form");
  }
  if (has_input_) fail(name, "a re-quantization between layers is not supported");
  grid_ = activation_grid(act.output_quant(), shape_, name);
  has_input_ = true;
  model_.input_scale = grid_.scale;
  model_.input_zero_point = grid_.zero_point;
  clamp_input_grid(name);
}

// quantize_input() clamps to [-128, 127]; a narrower input grid would differ.
void LayerChain::clamp_input_grid(const std::string& name) {
  if (grid_.q_min != -128 || grid_.q_max != 127) {
    fail(name, "the model input quantizer must use all 256 int8 codes (8 bits)");
  }
}

void LayerChain::take_input_quant(const std::string& name, const quant::Quantizer& input_quant) {
  if (!input_quant) return require_input(name);
  if (has_input_) fail(name, "input quantizer inside the model is not supported");
  grid_ = activation_grid(input_quant, shape_, name + ".input_quant");
  has_input_ = true;
  model_.input_scale = grid_.scale;
  model_.input_zero_point = grid_.zero_point;
  clamp_input_grid(name);
}

void LayerChain::start_pending(const std::string& name, Op op, const quant::Quantizer& weight_quant,
                               const torch::Tensor& weight, const torch::Tensor& bias, int64_t out,
                               const Shape& out_shape, const quant::Quantizer& output_quant) {
  if (!weight_quant) fail(name, "has no weight quantizer (the weights are not quantized)");
  LayerWeights w;
  {
    torch::NoGradGuard no_grad;
    w = weights_from_integer_form(weight_quant->integer_form(weight.detach()), out, name);
  }
  pending_.emplace();
  Pending& p = *pending_;
  p.layer.name = name;
  p.layer.inputs = {producer_};
  p.out_channels = out;
  p.out_shape = out_shape;
  p.weight_scales.assign(out, w.scales.front());
  if (w.scales.size() == static_cast<size_t>(out)) p.weight_scales = w.scales;
  p.bias_real.assign(out, 0.0);
  if (bias.defined()) {
    const torch::Tensor b = bias.detach().to(torch::kDouble).contiguous();
    std::copy(b.data_ptr<double>(), b.data_ptr<double>() + out, p.bias_real.begin());
  }
  p.row_length = static_cast<int64_t>(w.codes.size()) / out;
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (kHasWeights<T>) {
          o.format = w.format;
          o.weights = std::move(w.codes);
          o.weight_scales = w.scales;
        }
      },
      op);
  p.layer.op = std::move(op);
  pending_output_quant_.reset();
  pending_dynamic_quant_ = std::dynamic_pointer_cast<quant::DynamicShiftImpl>(output_quant);
  if (output_quant && !pending_dynamic_quant_)
    pending_output_quant_ = activation_grid(output_quant, out_shape, name + ".output_quant");
}

void LayerChain::add_linear(const std::string& name, nn::QLinearImpl& linear) {
  finish(" (before '" + name + "')");
  take_input_quant(name, linear.input_quant());
  if (shape_.size() != linear.options.in_features()) {
    fail(name, "expects " + std::to_string(linear.options.in_features()) + " inputs, gets " +
                   shape_text(shape_));
  }
  FullyConnected fc;
  fc.in_features = linear.options.in_features();
  fc.out_features = linear.options.out_features();
  const int64_t out = fc.out_features;
  start_pending(name, fc, linear.weight_quant(), linear.weight,
                linear.options.bias() ? linear.quantized_bias() : torch::Tensor(), out,
                Shape{out, 1, 1}, linear.output_quant());
}

void LayerChain::start_convolution(const std::string& name, const quant::Quantizer& input_quant,
                                   torch::ExpandingArray<2> dilation, int64_t in_channels) {
  finish(" (before '" + name + "')");
  take_input_quant(name, input_quant);
  if ((*dilation)[0] != 1 || (*dilation)[1] != 1) fail(name, "dilation is not supported");
  if (shape_.channels != in_channels) {
    fail(name, "expects " + std::to_string(in_channels) + " channels, gets " + shape_text(shape_));
  }
}

void LayerChain::add_conv(const std::string& name, nn::QConv2dImpl& conv) {
  const auto& o = conv.options;
  start_convolution(name, conv.input_quant(), o.dilation(), o.in_channels());
  Conv2d c;
  set_window(c, o, shape_);
  c.pad_top = c.pad_bottom = (*o.padding())[0];
  c.pad_left = c.pad_right = (*o.padding())[1];
  c.groups = o.groups();
  const Shape out_shape{c.out_channels, c.out_height(), c.out_width()};
  start_pending(name, c, conv.weight_quant(), conv.weight,
                o.bias() ? conv.quantized_bias() : torch::Tensor(), c.out_channels, out_shape,
                conv.output_quant());
}

void LayerChain::add_conv_transpose(const std::string& name, nn::QConvTranspose2dImpl& up) {
  const auto& o = up.options;
  start_convolution(name, up.input_quant(), o.dilation(), o.in_channels());
  if (o.groups() != 1) fail(name, "a grouped transposed convolution is not supported");
  if ((*o.output_padding())[0] != 0 || (*o.output_padding())[1] != 0) {
    fail(name, "output_padding is not supported (crop the output instead)");
  }
  ConvTranspose2d c;
  set_window(c, o, shape_);
  c.pad_top = (*o.padding())[0];
  c.pad_left = (*o.padding())[1];
  c.out_height = c.full_height();
  c.out_width = c.full_width();
  if (c.out_height < 1 || c.out_width < 1) fail(name, "the padding leaves no output");
  const Shape out_shape{c.out_channels, c.out_height, c.out_width};
  start_pending(name, c, up.weight_quant(), up.weight,
                o.bias() ? up.quantized_bias() : torch::Tensor(), c.out_channels, out_shape,
                up.output_quant());
}

void LayerChain::crop(const std::string& name, int64_t height, int64_t width) {
  auto* up = pending_ ? std::get_if<ConvTranspose2d>(&pending_->layer.op) : nullptr;
  if (up == nullptr) fail(name, "a crop must directly follow a QConvTranspose2d");
  if (height < 1 || width < 1 || height > up->out_height || width > up->out_width) {
    fail(name, "cannot crop " + shape_text(pending_->out_shape) + " to " + std::to_string(height) +
                   "x" + std::to_string(width));
  }
  up->out_height = height;
  up->out_width = width;
  pending_->out_shape = {up->out_channels, height, width};
}

void LayerChain::add_lif(const std::string& name, const nn::LeakyImpl& lif) {
  require_static_scale(name, "LIF neurons compare the membrane with a fixed threshold");
  // The current's grid step is the membrane's unit; spikes have scale 1 and zero point 0.
  const nn::IntegerLifConstants k = nn::integer_lif_constants(lif, grid_.scale);
  Lif op;
  op.channels = shape_.channels;
  op.plane = shape_.height * shape_.width;
  op.threshold = k.threshold;
  op.beta_q15 = k.beta_q15;
  op.leak_shift = k.leak_shift;
  op.membrane_bits = k.membrane_bits;
  op.reset_delay = k.reset_delay;
  switch (k.reset) {
    case nn::ResetMechanism::kSubtract:
      op.reset = LifReset::kSubtract;
      break;
    case nn::ResetMechanism::kZero:
      op.reset = LifReset::kZero;
      break;
    case nn::ResetMechanism::kNone:
      op.reset = LifReset::kNone;
      break;
  }
  if (op.threshold.size() > 1 && static_cast<int64_t>(op.threshold.size()) != op.channels) {
    fail(name, "has " + std::to_string(op.threshold.size()) + " per-channel thresholds for " +
                   std::to_string(op.channels) + " channels");
  }
  grid_ = Grid{1.0, 0, 0, 1};
  push(name, op, shape_);
}

void LayerChain::add_leaky_relu(const std::string& name, double slope) {
  require_settled(name);
  const long slope_q15 = std::lround(slope * 32768.0);
  if (!(slope >= 0) || slope_q15 > 32767) {
    fail(name, "leaky ReLU slope " + std::to_string(slope) + " is outside [0, 32767 / 32768]");
  }
  LeakyRelu op;
  op.slope_q15 = static_cast<int32_t>(slope_q15);
  push(name, op, shape_);
}

void LayerChain::add_time_mean(const std::string& name, int64_t time_steps) {
  require_settled(name);
  if (time_steps < 1) fail(name, "a mean over time needs a sequence input [N, T, C, H, W]");
  require_static_scale(name, "a mean over time adds steps on one grid");
  if (grid_.zero_point != 0) {
    fail(name, "a mean over time needs an input grid with zero point 0 (spikes or spike sums)");
  }
  const int64_t low = static_cast<int64_t>(grid_.q_min) * time_steps;
  const int64_t high = static_cast<int64_t>(grid_.q_max) * time_steps;
  if (low < -128 || high > 127) {
    fail(name, "the sum of " + std::to_string(time_steps) + " steps of codes in [" +
                   std::to_string(grid_.q_min) + ", " + std::to_string(grid_.q_max) +
                   "] does not fit int8");
  }
  grid_ = Grid{grid_.scale / static_cast<double>(time_steps), 0, static_cast<int32_t>(low),
               static_cast<int32_t>(high)};
  push(name, TimeSum{}, shape_);
}

void LayerChain::add_pool(const std::string& name, bool average, torch::ExpandingArray<2> kernel,
                          torch::ExpandingArray<2> stride, torch::ExpandingArray<2> padding,
                          torch::ExpandingArray<2> dilation, bool ceil_mode) {
  if (ceil_mode) fail(name, "ceil_mode is not supported");
  if ((*dilation)[0] != 1 || (*dilation)[1] != 1) fail(name, "dilation is not supported");
  Pool p;
  p.average = average;
  p.channels = shape_.channels;
  p.in_height = shape_.height;
  p.in_width = shape_.width;
  p.kernel_h = (*kernel)[0];
  p.kernel_w = (*kernel)[1];
  p.stride_h = (*stride)[0];
  p.stride_w = (*stride)[1];
  p.pad_top = p.pad_bottom = (*padding)[0];
  p.pad_left = p.pad_right = (*padding)[1];
  const Shape out{p.channels, p.out_height(), p.out_width()};
  push(name, p, out);
}

void LayerChain::fold_batch_norm(const std::string& name, const torch::Tensor& weight,
                                 const torch::Tensor& bias, const torch::Tensor& mean,
                                 const torch::Tensor& var, double eps, bool affine) {
  if (!pending_ || pending_output_quant_ || pending_dynamic_quant_ || folded_) {
    fail(name, "batch norm must directly follow a QLinear or QConv2d without output quantizer");
  }
  Pending& p = *pending_;
  if (mean.numel() != p.out_channels) fail(name, "channel count differs from its layer's");
  const torch::Tensor m = mean.detach().to(torch::kDouble).contiguous();
  const torch::Tensor g = (var.detach().to(torch::kDouble) + eps).rsqrt().contiguous();
  for (int64_t c = 0; c < p.out_channels; ++c) {
    double gain = g.data_ptr<double>()[c];
    double shift = 0;
    if (affine) {
      gain *= weight[c].item<double>();
      shift = bias[c].item<double>();
    }
    p.bias_real[c] = (p.bias_real[c] - m.data_ptr<double>()[c]) * gain + shift;
    if (gain < 0) {
      // A negative gain flips the channel's codes, so the multiplier stays positive.
      auto& codes = std::visit(
          [](auto& o) -> std::vector<int8_t>& {
            using T = std::decay_t<decltype(o)>;
            if constexpr (kHasWeights<T>) {
              return o.weights;
            } else {
              throw std::logic_error("batch norm after a layer without weights");
            }
          },
          p.layer.op);
      const WeightFormat format = std::visit(
          [](auto& o) {
            using T = std::decay_t<decltype(o)>;
            if constexpr (kHasWeights<T>) {
              return o.format;
            } else {
              return WeightFormat::kInt8;
            }
          },
          p.layer.op);
      for (int64_t i = c * p.row_length; i < (c + 1) * p.row_length; ++i) {
        const int flipped = -codes[i];
        if (!format_has_code(format, flipped)) {
          fail(name, "negative gain on channel " + std::to_string(c) +
                         " flips a weight code out of the " + format_name(format) + " grid");
        }
        codes[i] = static_cast<int8_t>(flipped);
      }
    }
    p.weight_scales[c] *= std::abs(gain);
  }
  folded_ = true;
}

// Emits the pending layer with its output grid and merged activation.
void LayerChain::settle(Activation activation, const Grid& out, const std::string& quant_layer) {
  require_static_scale(pending_->layer.name,
                       "its output quantizer has a fixed scale, so its requantization needs one "
                       "on the input too; quantize its output with dynshift as well (logits: "
                       "dynshift:signed=1)");
  Pending p = std::move(*pending_);
  pending_.reset();
  pending_output_quant_.reset();
  folded_ = false;
  const double in_scale = grid_.scale;
  std::vector<int32_t> bias(p.out_channels);
  for (int64_t c = 0; c < p.out_channels; ++c) {
    bias[c] = quantize_bias(p.bias_real[c], in_scale, p.weight_scales[c]);
  }
  const bool uniform = std::all_of(p.weight_scales.begin(), p.weight_scales.end(),
                                   [&](double s) { return s == p.weight_scales.front(); });
  const std::vector<double> scales =
      uniform ? std::vector<double>{p.weight_scales.front()} : p.weight_scales;
  Requant requant = build_requant(p.layer.name, in_scale, scales, out.scale, out.zero_point,
                                  activation, p.out_channels, bias);
  // A layer without a bias (bias: false, nothing folded into it) stores none: an all-zero int32
  // array would cost 4 bytes per output for nothing (the kernels take NULL).
  if (std::all_of(bias.begin(), bias.end(), [](int32_t b) { return b == 0; })) bias.clear();
  // The quantizer's own grid may be narrower than int8 (e.g. 4-bit activations).
  requant.act_min = std::max(requant.act_min, out.q_min);
  requant.act_max = std::min(requant.act_max, out.q_max);
  if (requant.act_min > requant.act_max) {
    fail(quant_layer, "the activation leaves no value of the quantizer's grid");
  }
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (kHasWeights<T>) {
          o.bias = bias;
          o.requant = requant;
          o.activation = activation;
        }
      },
      p.layer.op);
  grid_ = out;
  push(p.layer.name, std::move(p.layer.op), p.out_shape);
}

void LayerChain::require_static_scale(const std::string& name, const std::string& what) {
  if (!grid_.per_sample) return;
  const std::string producer =
      producer_ == kModelInput ? "the model input" : "'" + model_.layers[producer_].name + "'";
  fail(name,
       "its input, the output of " + producer + ", has a per-sample scale (dynshift), but " + what);
}

// The dense layer and its dynshift output become one DynamicShiftDense: no requantization, the
// output's scale found per sample at run time.
void LayerChain::settle_dynamic_shift(Activation activation,
                                      const quant::DynamicShiftImpl& quantizer,
                                      const std::string& quant_layer) {
  const std::string name = pending_->layer.name;
  if (!std::holds_alternative<FullyConnected>(pending_->layer.op)) {
    fail(quant_layer,
         "a dynshift output quantizer is supported after a QLinear only, not after '" + name + "'");
  }
  if (quantizer.bits() > 8) {
    fail(quant_layer, "dynshift with " + std::to_string(quantizer.bits()) +
                          " bits does not fit int8; use bits <= 8");
  }
  // Unsigned codes clamp negatives to 0 already: a ReLU before them changes nothing.
  const bool is_signed = quantizer.code_min() < 0;
  if (activation != Activation::kNone && activation != Activation::kRelu) {
    fail(quant_layer, std::string("activation '") + activation_name(activation) +
                          "' before a dynshift quantizer has no integer form; use relu or none");
  }
  Pending p = std::move(*pending_);
  pending_.reset();
  pending_output_quant_.reset();
  pending_dynamic_quant_.reset();
  folded_ = false;
  auto& dense = std::get<FullyConnected>(p.layer.op);
  const bool has_bias =
      std::any_of(p.bias_real.begin(), p.bias_real.end(), [](double b) { return b != 0; });
  if (has_bias) {
    require_static_scale(name,
                         "it has a bias (or a folded batch norm), whose integer value needs the "
                         "input's real scale; train it with model.bias: false");
  }
  const bool uniform = std::all_of(p.weight_scales.begin(), p.weight_scales.end(),
                                   [&](double s) { return s == p.weight_scales.front(); });
  if (!uniform) {
    fail(name,
         "has per-channel weight scales; before a dynshift output the shift is shared by "
         "all outputs, so the weights need one scale (per_channel=0)");
  }
  DynamicShiftDense op;
  op.in_features = dense.in_features;
  op.out_features = dense.out_features;
  op.format = dense.format;
  op.weights = std::move(dense.weights);
  op.weight_scales = dense.weight_scales;
  op.code_max = static_cast<int32_t>(quantizer.code_max());
  op.relu = !is_signed || activation == Activation::kRelu;
  if (has_bias) {
    op.bias.resize(static_cast<size_t>(p.out_channels));
    for (int64_t c = 0; c < p.out_channels; ++c) {
      op.bias[static_cast<size_t>(c)] =
          quantize_bias(p.bias_real[c], grid_.scale, p.weight_scales[c]);
    }
  }
  // The accumulator's unit stands for the scale; each sample's real one is 2^shift times it.
  Grid out;
  out.scale = grid_.scale * p.weight_scales.front();
  out.zero_point = 0;
  out.q_min = op.relu ? 0 : -op.code_max;
  out.q_max = op.code_max;
  out.per_sample = true;
  grid_ = out;
  p.layer.op = std::move(op);
  push(p.layer.name, std::move(p.layer.op), p.out_shape);
}

}  // namespace lowbit::exporter::lowering
