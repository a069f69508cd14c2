#include "lowbit/export/ops/conv2d.h"

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/mcu_conv.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"
#include "lowbit/export/ops/pool.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {

using Traits = OpTraits<Conv2d>;

namespace {

// The runtime's view of a conv2d (requantization left empty: scratch does not depend on it).
lowbit_conv2d_params_t runtime_params(const Conv2d& conv) {
  lowbit_conv2d_params_t p{};
  p.in_channels = static_cast<size_t>(conv.in_channels);
  p.in_height = static_cast<size_t>(conv.in_height);
  p.in_width = static_cast<size_t>(conv.in_width);
  p.out_channels = static_cast<size_t>(conv.out_channels);
  p.kernel_h = static_cast<size_t>(conv.kernel_h);
  p.kernel_w = static_cast<size_t>(conv.kernel_w);
  p.stride_h = static_cast<size_t>(conv.stride_h);
  p.stride_w = static_cast<size_t>(conv.stride_w);
  p.pad_top = static_cast<size_t>(conv.pad_top);
  p.pad_bottom = static_cast<size_t>(conv.pad_bottom);
  p.pad_left = static_cast<size_t>(conv.pad_left);
  p.pad_right = static_cast<size_t>(conv.pad_right);
  p.groups = static_cast<size_t>(conv.groups);
  p.weight_format = static_cast<lowbit_format_t>(static_cast<int>(conv.format));
  return p;
}

// The runtime's view of the max pool fused into a conv2d.
lowbit_pool_params_t pool_runtime_params(const Pool& pool) {
  lowbit_pool_params_t p{};
  p.channels = static_cast<size_t>(pool.channels);
  p.in_height = static_cast<size_t>(pool.in_height);
  p.in_width = static_cast<size_t>(pool.in_width);
  p.kernel_h = static_cast<size_t>(pool.kernel_h);
  p.kernel_w = static_cast<size_t>(pool.kernel_w);
  p.stride_h = static_cast<size_t>(pool.stride_h);
  p.stride_w = static_cast<size_t>(pool.stride_w);
  p.pad_top = static_cast<size_t>(pool.pad_top);
  p.pad_bottom = static_cast<size_t>(pool.pad_bottom);
  p.pad_left = static_cast<size_t>(pool.pad_left);
  p.pad_right = static_cast<size_t>(pool.pad_right);
  return p;
}

}  // namespace

Shape Traits::output_shape(const ValidateContext& c, const Conv2d& conv) {
  const std::string& name = c.layer.name;
  for (auto [what, value] : {std::pair<const char*, int64_t>{"in_channels", conv.in_channels},
                             {"in_height", conv.in_height},
                             {"in_width", conv.in_width},
                             {"out_channels", conv.out_channels},
                             {"kernel_h", conv.kernel_h},
                             {"kernel_w", conv.kernel_w},
                             {"stride_h", conv.stride_h},
                             {"stride_w", conv.stride_w},
                             {"groups", conv.groups}}) {
    ops::check_positive(name, what, value);
  }
  if (conv.pad_top < 0 || conv.pad_bottom < 0 || conv.pad_left < 0 || conv.pad_right < 0) {
    ops::fail(name, "padding must be >= 0");
  }
  if (conv.in_channels % conv.groups != 0 || conv.out_channels % conv.groups != 0) {
    ops::fail(name, "groups " + std::to_string(conv.groups) + " must divide in_channels " +
                        std::to_string(conv.in_channels) + " and out_channels " +
                        std::to_string(conv.out_channels));
  }
  if (conv.kernel_h > conv.in_height + conv.pad_top + conv.pad_bottom ||
      conv.kernel_w > conv.in_width + conv.pad_left + conv.pad_right) {
    ops::fail(name, "kernel is larger than the padded input");
  }
  // The runtime sums one output in int32: 65793 taps * 255 * 128 < 2^31.
  if (conv.row_length() > 65793) {
    ops::fail(name,
              "in_channels / groups * kernel_h * kernel_w = " + std::to_string(conv.row_length()) +
                  " exceeds the runtime's limit of 65793 taps per output");
  }
  const Shape expected{conv.in_channels, conv.in_height, conv.in_width};
  if (c.in[0] != expected) {
    ops::shape_mismatch(c.model, c.layer, c.producer, c.in[0], shape_text(expected));
  }
  ops::check_weights(name, conv.format, conv.weights, conv.out_channels, conv.row_length());
  ops::check_bias_and_requant(name, conv.bias, conv.requant, conv.out_channels);
  return {conv.out_channels, conv.out_height(), conv.out_width()};
}

void Traits::run(const RunContext& c, const Conv2d& conv) {
  const std::vector<int8_t>& x = c.x();
  const int32_t input_zp = c.input_zp();
  const int64_t oh = conv.out_height();
  const int64_t ow = conv.out_width();
  const int64_t in_per_group = conv.in_channels / conv.groups;
  const int64_t out_per_group = conv.out_channels / conv.groups;
  c.out.resize(static_cast<size_t>(conv.out_channels * oh * ow));
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
        c.out[static_cast<size_t>((o * oh + y) * ow + xo)] =
            ops::requantize_with(conv.requant, o, c.layer.output_zero_point, sum);
      }
    }
  }
}

void Traits::cost(const CostContext& c, const Conv2d& conv, LayerCost& cost) {
  if (mcu_conv_supported(c.target, c.model, c.index)) {
    const McuFullyConnected mcu = mcu_conv_columns(c.model, c.index);
    cost.weight_bytes = static_cast<int64_t>(mcu.columns.size());
    cost.bias_bytes = 4 * static_cast<int64_t>(mcu.constants.size());  // int32 constants
    cost.requant_bytes = 5 * static_cast<int64_t>(mcu.m.size());
  } else {
    ops::weighted_cost(cost, conv.format, conv.out_channels, conv.row_length(), conv.bias,
                       conv.requant);
  }
  cost.macs = c.shapes[c.index].size() * conv.row_length();
  if (c.plan.fused_with_next[c.index]) cost.output_bytes = 0;  // pooled before it is stored
}

int64_t Traits::scratch_bytes(const Conv2d& conv, const Pool* fused_pool) {
  const lowbit_conv2d_params_t params = runtime_params(conv);
  if (fused_pool == nullptr) return static_cast<int64_t>(lowbit_conv2d_scratch_size(&params));
  const lowbit_pool_params_t pool = pool_runtime_params(*fused_pool);
  return static_cast<int64_t>(lowbit_conv2d_max_pool_scratch_size(&params, &pool));
}

bool Traits::emit_c(const CEmitContext& c, const Conv2d& conv) {
  const Layer& layer = c.model.layers[c.index];
  const std::string& s = c.symbol;
  c.data << "/* Layer " << c.index << " '" << c_comment_safe(layer.name) << "': conv "
         << conv.kernel_h << "x" << conv.kernel_w << ", " << conv.in_channels << " -> "
         << conv.out_channels << " channels, groups " << conv.groups << ", "
         << format_name(conv.format) << ". */\n";
  if (mcu_conv_supported(c.target, c.model, c.index)) {
    // The pool fused after it writes the output; lowbit_mcu_conv pools as it goes.
    const bool fused = c.plan.fused_with_next[c.index];
    const std::string out =
        fused ? c_text::buffer_expr(c.plan.outputs[c.index + 1], c.index + 1) : c.output;
    c.data << mcu_conv_data(s, conv, mcu_conv_columns(c.model, c.index),
                            fused ? &std::get<Pool>(c.model.layers[c.index + 1].op) : nullptr,
                            c.input_zero_point, layer);
    c.body << (conv.groups > 1 ? "  lowbit_mcu_conv_depthwise(&" : "  lowbit_mcu_conv(&") << s
           << "_mcu, " << c.input << ", " << out << ", arena + " << c.plan.arena_bytes << ");\n\n";
    return false;
  }
  c.data << c_text::layer_data(s, layer.name, conv.format, conv.weights, conv.out_channels,
                               conv.row_length(), conv.bias, conv.requant);
  c.data << "static const lowbit_conv2d_params_t " << s << "_params = {" << conv.in_channels << ", "
         << conv.in_height << ", " << conv.in_width << ", " << conv.out_channels << ", "
         << conv.kernel_h << ", " << conv.kernel_w << ", " << conv.stride_h << ", " << conv.stride_w
         << ", " << conv.pad_top << ", " << conv.pad_bottom << ", " << conv.pad_left << ", "
         << conv.pad_right << ", " << conv.groups << ", " << c.input_zero_point << ", "
         << c_text::format_enum(conv.format) << ", "
         << c_text::requant_init(s, conv.requant, layer.output_zero_point) << "};\n\n";
  const std::string bias = c_text::bias_expr(s, conv.bias);
  const std::string scratch = ", arena + " + std::to_string(c.plan.arena_bytes) + ", " +
                              std::to_string(c.plan.kernel_scratch_bytes) + ");\n";
  if (c.plan.fused_with_next[c.index]) {
    // The max pool after it is computed here (its params are emitted with its own layer).
    c.body << "  status = lowbit_conv2d_max_pool_s8(&" << s << "_params, &" << c.prefix << "_l"
           << c.index + 1 << "_params, " << c.input << ", " << s << "_weights, sizeof(" << s
           << "_weights), " << bias << ", "
           << c_text::buffer_expr(c.plan.outputs[c.index + 1], c.index + 1) << scratch;
  } else {
    c.body << "  status = lowbit_conv2d_s8(&" << s << "_params, " << c.input << ", " << s
           << "_weights, sizeof(" << s << "_weights), " << bias << ", " << c.output << scratch;
  }
  return true;
}

void Traits::describe(const JsonContext& c, const Conv2d& conv, nlohmann::json& j) {
  // "kernel" is the window here, so the code that runs the layer is "implementation".
  const bool mcu = mcu_conv_supported(c.target, c.model, c.index);
  j["implementation"] = mcu ? "mcu_column" : "runtime";
  if (mcu) j["skip"] = mcu_conv_skip(c.model, c.index);
  j["input_shape"] = ops::shape_json({conv.in_channels, conv.in_height, conv.in_width});
  j["kernel"] = {conv.kernel_h, conv.kernel_w};
  j["stride"] = {conv.stride_h, conv.stride_w};
  j["padding"] = {conv.pad_top, conv.pad_bottom, conv.pad_left, conv.pad_right};
  j["groups"] = conv.groups;
  ops::describe_weights(j, conv.format, conv.bias, conv.requant, conv.activation,
                        conv.weight_scales);
}

std::vector<int32_t*> Traits::multipliers(Conv2d& conv) {
  std::vector<int32_t*> all;
  for (int32_t& m : conv.requant.multiplier) all.push_back(&m);
  return all;
}

}  // namespace lowbit::exporter
