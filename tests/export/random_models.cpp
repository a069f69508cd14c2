#include "export/random_models.h"

#include <algorithm>
#include <cmath>

#include "lowbit/export/lowering/requantization.h"

namespace lowbit::exporter::testing {

namespace {

double uniform(std::mt19937& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

int uniform_int(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

double code_rms(const std::vector<int8_t>& codes) {
  double sum = 0;
  for (int8_t c : codes) sum += static_cast<double>(c) * c;
  return std::sqrt(sum / static_cast<double>(codes.size()) + 1e-6);
}

// Spread of (x - zp) of the activations we feed, in int8 units.
constexpr double kActivationSpread = 40;

// Weight scales and output quantization for a layer: accumulators spread about
// kActivationSpread output units (or span [-3, 3] before a hard-sigmoid).
struct LayerScales {
  std::vector<double> weight_scales;
  double output_scale;
  int32_t output_zero_point;
};

LayerScales pick_scales(double input_scale, int64_t fan_in, const std::vector<int8_t>& codes,
                        int64_t channels, bool per_channel, Activation activation,
                        std::mt19937& rng) {
  const double acc_spread =
      std::sqrt(static_cast<double>(fan_in)) * code_rms(codes) * kActivationSpread;
  LayerScales scales;
  if (activation == Activation::kHardSigmoid) {
    scales.output_scale = 1.0 / 255;
    scales.output_zero_point = -128;
  } else {
    // Relu6 needs 6 to span many output steps; otherwise keep scales from drifting.
    scales.output_scale = activation == Activation::kRelu6 ? 6.0 / uniform(rng, 60, 120)
                                                           : input_scale * uniform(rng, 0.5, 2.0);
    scales.output_zero_point =
        activation == Activation::kNone ? uniform_int(rng, -10, 10) : uniform_int(rng, -128, -100);
  }
  // Weight scale that maps the accumulator spread to kActivationSpread output units (or to
  // [-3, 3] before a hard-sigmoid).
  const double base = activation == Activation::kHardSigmoid
                          ? 3.0 / (input_scale * acc_spread)
                          : scales.output_scale * kActivationSpread / (input_scale * acc_spread);
  for (int64_t c = 0; c < (per_channel ? channels : 1); ++c) {
    scales.weight_scales.push_back(base * uniform(rng, 0.6, 1.4));
  }
  return scales;
}

std::vector<int32_t> random_bias(int64_t count, double spread, std::mt19937& rng) {
  std::vector<int32_t> bias;
  for (int64_t i = 0; i < count; ++i) {
    bias.push_back(static_cast<int32_t>(std::lround(uniform(rng, -spread, spread))));
  }
  return bias;
}

Layer fc_layer(const IntegerModel& model, const std::string& name, int producer, int64_t in,
               int64_t out, WeightFormat format, Activation activation, bool per_channel,
               std::mt19937& rng) {
  FullyConnected fc;
  fc.in_features = in;
  fc.out_features = out;
  fc.format = format;
  fc.weights = random_codes(format, in * out, rng);
  fc.activation = activation;
  const double input_scale = input_scale_of(model, producer);
  LayerScales s = pick_scales(input_scale, in, fc.weights, out, per_channel, activation, rng);
  fc.bias = random_bias(out, std::sqrt(static_cast<double>(in)) * code_rms(fc.weights) * 20, rng);
  fc.weight_scales = s.weight_scales;
  fc.requant = build_requant(name, input_scale, s.weight_scales, s.output_scale,
                             s.output_zero_point, activation, out, fc.bias);
  return Layer{name, {producer}, fc, s.output_scale, s.output_zero_point};
}

Layer same_quantization(const IntegerModel& model, const std::string& name, int producer, Op op) {
  return Layer{name,
               {producer},
               std::move(op),
               input_scale_of(model, producer),
               input_zero_point_of(model, producer)};
}

}  // namespace

std::vector<int8_t> random_codes(WeightFormat format, int64_t count, std::mt19937& rng) {
  std::vector<int8_t> codes;
  const int lo = format_code_min(format);
  const int hi = format_code_max(format);
  for (int64_t i = 0; i < count; ++i) {
    int code = 0;
    if (format == WeightFormat::kInt2) {
      code = uniform_int(rng, 0, 15) == 0 ? -2 : uniform_int(rng, -1, 1);
    } else if (format_is_odd_grid(format)) {
      code = 2 * uniform_int(rng, 0, (hi - lo) / 2) + lo;
    } else {
      code = uniform_int(rng, lo, hi);
    }
    codes.push_back(static_cast<int8_t>(code));
  }
  return codes;
}

IntegerModel random_mlp(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "mlp";
  model.input_shape = {33, 1, 1};
  model.input_scale = 0.05;
  model.input_zero_point = 3;
  const int64_t sizes[] = {33, 17, 31, 15, 7, 3, 1};
  const Activation acts[] = {Activation::kRelu, Activation::kRelu6, Activation::kNone,
                             Activation::kRelu, Activation::kNone,  Activation::kNone};
  for (int i = 0; i < 6; ++i) {
    model.layers.push_back(fc_layer(model, "fc" + std::to_string(i), i - 1, sizes[i], sizes[i + 1],
                                    format, acts[i], i % 2 == 0, rng));
  }
  return model;
}

IntegerModel random_demo_mlp(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "demo";
  model.input_shape = {256, 1, 1};
  model.input_scale = 0.02;
  model.input_zero_point = -20;
  const int64_t sizes[] = {256, 64, 64, 64, 10};
  for (int i = 0; i < 4; ++i) {
    model.layers.push_back(fc_layer(model, "fc" + std::to_string(i + 1), i - 1, sizes[i],
                                    sizes[i + 1], format,
                                    i < 3 ? Activation::kRelu : Activation::kNone, false, rng));
  }
  return model;
}

IntegerModel trained_like_demo_mlp(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model = random_demo_mlp(format, seed);
  model.input_zero_point = -55;
  const int lo = format_code_min(format);
  const int levels = format_code_max(format) - lo;
  const int step = format_is_odd_grid(format) ? 2 : 1;
  for (Layer& layer : model.layers) {
    auto& fc = std::get<FullyConnected>(layer.op);
    // A binomial over the grid's steps: a bell centred on the grid's middle.
    std::binomial_distribution<int> bell(levels / step, 0.5);
    for (int8_t& code : fc.weights) code = static_cast<int8_t>(lo + step * bell(rng));
    for (int32_t& b : fc.bias) b /= 8;
  }
  return model;
}

IntegerModel random_wide_mlp(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "wide";
  model.input_shape = {601, 1, 1};
  model.input_scale = 0.03;
  model.input_zero_point = -7;
  model.layers.push_back(fc_layer(model, "fc0", -1, 601, 9, format, Activation::kRelu, true, rng));
  model.layers.push_back(fc_layer(model, "fc1", 0, 9, 3, format, Activation::kNone, false, rng));
  return model;
}

IntegerModel random_two_branch(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "two_branch";
  model.input_shape = {36, 1, 1};
  model.input_scale = 0.1;
  model.input_zero_point = -5;
  model.layers.push_back(same_quantization(model, "x_slice", kModelInput, Slice{0, 22}));
  model.layers.push_back(same_quantization(model, "y_slice", kModelInput, Slice{22, 14}));
  model.layers.push_back(fc_layer(model, "x_fc", 0, 22, 32, format, Activation::kRelu, true, rng));
  model.layers.push_back(
      fc_layer(model, "y_fc", 1, 14, 32, format, Activation::kRelu6, false, rng));
  const double out_scale = std::max(model.layers[2].output_scale, model.layers[3].output_scale);
  Concat cat;
  cat.inputs.push_back(build_concat_input("concat", model.layers[2].output_scale, out_scale));
  cat.inputs.push_back(build_concat_input("concat", model.layers[3].output_scale, out_scale));
  model.layers.push_back(Layer{"concat", {2, 3}, cat, out_scale, -120});
  model.layers.push_back(fc_layer(model, "fc1", 4, 64, 16, format, Activation::kRelu, true, rng));
  model.layers.push_back(
      fc_layer(model, "out", 5, 16, 1, format, Activation::kHardSigmoid, false, rng));
  return model;
}

IntegerModel random_cnn(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "cnn";
  model.input_shape = {3, 9, 11};
  model.input_scale = 0.02;
  model.input_zero_point = -7;

  Conv2d dw;
  dw.in_channels = 3;
  dw.in_height = 9;
  dw.in_width = 11;
  dw.out_channels = 6;
  dw.kernel_h = dw.kernel_w = 3;
  dw.pad_top = dw.pad_bottom = dw.pad_left = dw.pad_right = 1;
  dw.groups = 3;
  dw.format = format;
  dw.activation = Activation::kRelu6;
  dw.weights = random_codes(format, dw.out_channels * dw.row_length(), rng);
  LayerScales s =
      pick_scales(model.input_scale, dw.row_length(), dw.weights, 6, true, dw.activation, rng);
  dw.bias = random_bias(6, 60, rng);
  dw.weight_scales = s.weight_scales;
  dw.requant = build_requant("depthwise", model.input_scale, s.weight_scales, s.output_scale,
                             s.output_zero_point, dw.activation, 6, dw.bias);
  model.layers.push_back(
      Layer{"depthwise", {kModelInput}, dw, s.output_scale, s.output_zero_point});

  Conv2d pw;
  pw.in_channels = 6;
  pw.in_height = 9;
  pw.in_width = 11;
  pw.out_channels = 8;
  pw.format = format;
  pw.activation = Activation::kRelu;
  pw.weights = random_codes(format, pw.out_channels * pw.row_length(), rng);
  const double pw_in = model.layers[0].output_scale;
  s = pick_scales(pw_in, 6, pw.weights, 8, false, pw.activation, rng);
  pw.weight_scales = s.weight_scales;
  pw.requant = build_requant("pointwise", pw_in, s.weight_scales, s.output_scale,
                             s.output_zero_point, pw.activation, 8, pw.bias);
  model.layers.push_back(Layer{"pointwise", {0}, pw, s.output_scale, s.output_zero_point});

  Pool max_pool;
  max_pool.channels = 8;
  max_pool.in_height = 9;
  max_pool.in_width = 11;
  max_pool.kernel_h = max_pool.kernel_w = 2;
  max_pool.stride_h = max_pool.stride_w = 2;
  model.layers.push_back(same_quantization(model, "max_pool", 1, max_pool));  // 8x4x5

  Pool avg_pool;
  avg_pool.average = true;
  avg_pool.channels = 8;
  avg_pool.in_height = 4;
  avg_pool.in_width = 5;
  avg_pool.kernel_h = avg_pool.kernel_w = 2;
  avg_pool.pad_bottom = avg_pool.pad_right = 1;
  model.layers.push_back(same_quantization(model, "avg_pool", 2, avg_pool));  // 8x4x5
  model.layers.push_back(same_quantization(model, "flatten", 3, Flatten{}));
  model.layers.push_back(
      fc_layer(model, "classifier", 4, 160, 5, format, Activation::kNone, true, rng));
  return model;
}

namespace {

// A square `kernel` conv of `producer` (pad kernel / 2) with random codes and scales.
Layer conv_layer(const IntegerModel& model, const std::string& name, int producer, const Shape& in,
                 int64_t out, int64_t kernel, int64_t stride, WeightFormat format,
                 Activation activation, std::mt19937& rng, int64_t groups = 1) {
  Conv2d conv;
  conv.groups = groups;
  conv.in_channels = in.channels;
  conv.in_height = in.height;
  conv.in_width = in.width;
  conv.out_channels = out;
  conv.kernel_h = conv.kernel_w = kernel;
  conv.stride_h = conv.stride_w = stride;
  conv.pad_top = conv.pad_bottom = conv.pad_left = conv.pad_right = kernel / 2;
  conv.format = format;
  conv.activation = activation;
  conv.weights = random_codes(format, out * conv.row_length(), rng);
  const double input_scale = input_scale_of(model, producer);
  const LayerScales s =
      pick_scales(input_scale, conv.row_length(), conv.weights, out, true, activation, rng);
  conv.bias = random_bias(out, 40, rng);
  conv.weight_scales = s.weight_scales;
  conv.requant = build_requant(name, input_scale, s.weight_scales, s.output_scale,
                               s.output_zero_point, activation, out, conv.bias);
  return Layer{name, {producer}, conv, s.output_scale, s.output_zero_point};
}

// The residual add of producers a and b into a grid near the larger input scale, relu merged.
Layer add_layer(const IntegerModel& model, const std::string& name, int a, int b,
                std::mt19937& rng) {
  const double scale_a = input_scale_of(model, a);
  const double scale_b = input_scale_of(model, b);
  const double out_scale = std::max(scale_a, scale_b) * uniform(rng, 0.8, 1.6);
  const int32_t zp = uniform_int(rng, -128, -110);
  return Layer{name,
               {a, b},
               build_add(name, scale_a, scale_b, out_scale, zp, Activation::kRelu),
               out_scale,
               zp};
}

// A transposed convolution of `in` (kernel, stride, pad) cropped to out_h x out_w.
Layer conv_transpose_layer(const IntegerModel& model, const std::string& name, int producer,
                           const Shape& in, int64_t out, int64_t kernel, int64_t stride,
                           int64_t pad, int64_t out_h, int64_t out_w, WeightFormat format,
                           std::mt19937& rng) {
  ConvTranspose2d up;
  up.in_channels = in.channels;
  up.in_height = in.height;
  up.in_width = in.width;
  up.out_channels = out;
  up.kernel_h = up.kernel_w = kernel;
  up.stride_h = up.stride_w = stride;
  up.pad_top = up.pad_left = pad;
  up.out_height = out_h;
  up.out_width = out_w;
  up.format = format;
  up.weights = random_codes(format, out * up.row_length(), rng);
  const double input_scale = input_scale_of(model, producer);
  // Each output sees about a stride^2-th of the kernel taps.
  const LayerScales s = pick_scales(input_scale, up.row_length() / (stride * stride), up.weights,
                                    out, true, Activation::kNone, rng);
  up.bias = random_bias(out, 40, rng);
  up.weight_scales = s.weight_scales;
  up.requant = build_requant(name, input_scale, s.weight_scales, s.output_scale,
                             s.output_zero_point, Activation::kNone, out, up.bias);
  return Layer{name, {producer}, up, s.output_scale, s.output_zero_point};
}

// LIF neurons on the current of `producer` (channels x plane); spikes have scale 1, zero point 0.
Layer lif_layer(const std::string& name, int producer, int64_t channels, int64_t plane,
                bool per_channel, int leak_shift, int membrane_bits, LifReset reset,
                bool reset_delay, std::mt19937& rng) {
  Lif lif;
  lif.channels = channels;
  lif.plane = plane;
  for (int64_t c = 0; c < (per_channel ? channels : 1); ++c) {
    lif.threshold.push_back(uniform_int(rng, 20, 120));
    if (leak_shift == 0) lif.beta_q15.push_back(uniform_int(rng, 20000, 32768));
  }
  lif.leak_shift = leak_shift;
  lif.membrane_bits = membrane_bits;
  lif.reset = reset;
  lif.reset_delay = reset_delay;
  return Layer{name, {producer}, lif, 1.0, 0};
}

// The sum over the model's time steps of `producer` (zero point 0): a rate, scale / T.
Layer time_sum_layer(const IntegerModel& model, const std::string& name, int producer) {
  return Layer{name,
               {producer},
               TimeSum{},
               input_scale_of(model, producer) / static_cast<double>(model.time_steps),
               0};
}

}  // namespace

IntegerModel random_spiking(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "spiking";
  model.input_shape = {2, 9, 11};
  model.input_scale = 0.05;
  model.input_zero_point = 3;
  model.time_steps = 4;
  auto& l = model.layers;
  // Per time step: two strided spiking blocks and a spiking residual block.
  l.push_back(conv_layer(model, "enc1", kModelInput, model.input_shape, 6, 3, 2, format,
                         Activation::kNone, rng));  // 0: 6x5x6 current
  l.push_back(lif_layer("enc1.lif", 0, 6, 30, true, 3, 16, LifReset::kSubtract, true, rng));
  l.push_back(time_sum_layer(model, "enc1.rate", 1));  // 2: counts 0..4
  l.push_back(conv_layer(model, "enc2", 1, {6, 5, 6}, 8, 3, 2, format, Activation::kNone, rng));
  l.push_back(lif_layer("enc2.lif", 3, 8, 9, false, 0, 32, LifReset::kZero, false, rng));
  l.push_back(conv_layer(model, "res", 4, {8, 3, 3}, 8, 3, 1, format, Activation::kNone, rng));
  l.push_back(lif_layer("res.lif", 5, 8, 9, true, 0, 16, LifReset::kNone, true, rng));
  l.push_back(Layer{"res.add", {4, 6}, build_add("res.add", 1, 1, 1, 0, Activation::kNone), 1, 0});
  l.push_back(time_sum_layer(model, "bottleneck.rate", 7));  // 8: counts 0..8
  // Once per sequence: upsample, crop, leaky ReLU, concat the skip, upsample, head.
  l.push_back(conv_transpose_layer(model, "dec2", 8, {8, 3, 3}, 5, 4, 2, 1, 5, 6, format, rng));
  l.push_back(same_quantization(model, "dec2.act", 9, LeakyRelu{3277}));  // 10: 5x5x6
  const double cat_scale = std::max(input_scale_of(model, 10), input_scale_of(model, 2));
  Concat cat;
  cat.inputs = {build_concat_input("cat", input_scale_of(model, 10), cat_scale),
                build_concat_input("cat", input_scale_of(model, 2), cat_scale)};
  l.push_back(Layer{"cat", {10, 2}, cat, cat_scale, 0});  // 11: 11x5x6
  l.push_back(conv_transpose_layer(model, "dec1", 11, {11, 5, 6}, 4, 3, 3, 0, 9, 11, format, rng));
  l.push_back(conv_layer(model, "head", 12, {4, 9, 11}, 2, 3, 1, format, Activation::kNone, rng));
  return model;
}

IntegerModel random_residual(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "residual";
  model.input_shape = {3, 7, 9};
  model.input_scale = 0.03;
  model.input_zero_point = 5;
  const Shape full{6, 7, 9};
  const Shape half{8, 4, 5};
  model.layers.push_back(conv_layer(model, "stem", kModelInput, model.input_shape, 6, 3, 1, format,
                                    Activation::kRelu, rng));  // 0: 6x7x9
  model.layers.push_back(
      conv_layer(model, "b1.conv1", 0, full, 8, 3, 2, format, Activation::kRelu, rng));
  model.layers.push_back(
      conv_layer(model, "b1.conv2", 1, half, 8, 3, 1, format, Activation::kNone, rng));
  // The strided 1x1 shortcut reads the stem, which stays alive across the branch.
  model.layers.push_back(
      conv_layer(model, "b1.shortcut", 0, full, 8, 1, 2, format, Activation::kNone, rng));
  model.layers.push_back(add_layer(model, "b1.add", 2, 3, rng));  // 4: 8x4x5
  model.layers.push_back(
      conv_layer(model, "b2.conv1", 4, half, 8, 3, 1, format, Activation::kRelu, rng));
  model.layers.push_back(
      conv_layer(model, "b2.conv2", 5, half, 8, 3, 1, format, Activation::kNone, rng));
  model.layers.push_back(add_layer(model, "b2.add", 6, 4, rng));  // identity shortcut
  Pool pool;
  pool.average = true;
  pool.channels = 8;
  pool.in_height = pool.kernel_h = pool.stride_h = 4;
  pool.in_width = pool.kernel_w = pool.stride_w = 5;
  model.layers.push_back(same_quantization(model, "avgpool", 7, pool));  // global: 8x1x1
  model.layers.push_back(fc_layer(model, "fc", 8, 8, 5, format, Activation::kNone, true, rng));
  return model;
}

IntegerModel random_mcu_cnn(WeightFormat format, uint32_t seed) {
  std::mt19937 rng(seed);
  IntegerModel model;
  model.name = "mcu_cnn";
  model.input_shape = {2, 10, 9};
  model.input_scale = 0.02;
  model.input_zero_point = -7;
  model.layers.push_back(conv_layer(model, "conv1", kModelInput, model.input_shape, 12, 3, 1,
                                    format, Activation::kRelu, rng));  // 0: 12x10x9
  Pool pool;
  pool.channels = 12;
  pool.in_height = 10;
  pool.in_width = 9;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  pool.pad_top = pool.pad_left = pool.pad_right = 1;
  model.layers.push_back(same_quantization(model, "pool1", 0, pool));  // 1: 12x5x5, fused
  model.layers.push_back(conv_layer(model, "depthwise", 1, {12, 5, 5}, 12, 3, 1, format,
                                    Activation::kRelu, rng, 12));  // 2: 12x5x5
  model.layers.push_back(conv_layer(model, "conv2", 2, {12, 5, 5}, 10, 3, 2, format,
                                    Activation::kRelu6, rng));  // 3: 10x3x3
  model.layers.push_back(same_quantization(model, "flatten", 3, Flatten{}));
  model.layers.push_back(fc_layer(model, "fc", 4, 90, 5, format, Activation::kNone, true, rng));
  return model;
}

std::vector<int8_t> random_inputs(int64_t input_size, int64_t samples, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> inputs(static_cast<size_t>(input_size * 2), -128);
  std::fill(inputs.begin() + input_size, inputs.end(), 127);
  for (int64_t i = 0; i < input_size * samples; ++i) {
    inputs.push_back(static_cast<int8_t>(uniform_int(rng, -64, 63)));
  }
  return inputs;
}

}  // namespace lowbit::exporter::testing
