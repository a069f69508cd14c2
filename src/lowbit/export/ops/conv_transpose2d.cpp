#include "lowbit/export/ops/conv_transpose2d.h"

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {

using Traits = OpTraits<ConvTranspose2d>;

namespace {

// Taps of a transposed convolution along one axis: the (output, kernel) pairs that land on an
// input position, over the cropped output.
int64_t transposed_taps(int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t in) {
  int64_t taps = 0;
  for (int64_t y = 0; y < out; ++y) {
    for (int64_t k = 0; k < kernel; ++k) {
      const int64_t n = y + pad - k;
      if (n >= 0 && n % stride == 0 && n / stride < in) ++taps;
    }
  }
  return taps;
}

}  // namespace

Shape Traits::output_shape(const ValidateContext& c, const ConvTranspose2d& up) {
  const std::string& name = c.layer.name;
  for (auto [what, value] : {std::pair<const char*, int64_t>{"in_channels", up.in_channels},
                             {"in_height", up.in_height},
                             {"in_width", up.in_width},
                             {"out_channels", up.out_channels},
                             {"out_height", up.out_height},
                             {"out_width", up.out_width},
                             {"kernel_h", up.kernel_h},
                             {"kernel_w", up.kernel_w},
                             {"stride_h", up.stride_h},
                             {"stride_w", up.stride_w}}) {
    ops::check_positive(name, what, value);
  }
  if (up.pad_top < 0 || up.pad_left < 0) ops::fail(name, "padding must be >= 0");
  if (up.out_height > up.full_height() || up.out_width > up.full_width()) {
    ops::fail(name, "output " + std::to_string(up.out_height) + "x" + std::to_string(up.out_width) +
                        " is larger than the full transposed output " +
                        std::to_string(up.full_height()) + "x" + std::to_string(up.full_width()));
  }
  // Each output sums at most in_channels * kernel_h * kernel_w taps, as a convolution row.
  if (up.row_length() > 65793) {
    ops::fail(name, "in_channels * kernel_h * kernel_w = " + std::to_string(up.row_length()) +
                        " exceeds the runtime's limit of 65793 taps per output");
  }
  const Shape expected{up.in_channels, up.in_height, up.in_width};
  if (c.in[0] != expected) {
    ops::shape_mismatch(c.model, c.layer, c.producer, c.in[0], shape_text(expected));
  }
  ops::check_weights(name, up.format, up.weights, up.out_channels, up.row_length());
  ops::check_bias_and_requant(name, up.bias, up.requant, up.out_channels);
  return {up.out_channels, up.out_height, up.out_width};
}

void Traits::run(const RunContext& c, const ConvTranspose2d& up) {
  const std::vector<int8_t>& x = c.x();
  const int32_t input_zp = c.input_zp();
  c.out.resize(static_cast<size_t>(up.out_channels * up.out_height * up.out_width));
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
        c.out[static_cast<size_t>((o * up.out_height + y) * up.out_width + xo)] =
            ops::requantize_with(up.requant, o, c.layer.output_zero_point, sum);
      }
    }
  }
}

void Traits::cost(const CostContext&, const ConvTranspose2d& up, LayerCost& cost) {
  ops::weighted_cost(cost, up.format, up.out_channels, up.row_length(), up.bias, up.requant);
  cost.macs = up.in_channels * up.out_channels *
              transposed_taps(up.out_height, up.kernel_h, up.stride_h, up.pad_top, up.in_height) *
              transposed_taps(up.out_width, up.kernel_w, up.stride_w, up.pad_left, up.in_width);
}

int64_t Traits::scratch_bytes(const ConvTranspose2d& up, const Pool*) {
  lowbit_conv_transpose2d_params_t params{};
  params.in_channels = static_cast<size_t>(up.in_channels);
  params.in_height = static_cast<size_t>(up.in_height);
  params.in_width = static_cast<size_t>(up.in_width);
  params.out_channels = static_cast<size_t>(up.out_channels);
  params.out_height = static_cast<size_t>(up.out_height);
  params.out_width = static_cast<size_t>(up.out_width);
  params.kernel_h = static_cast<size_t>(up.kernel_h);
  params.kernel_w = static_cast<size_t>(up.kernel_w);
  params.stride_h = static_cast<size_t>(up.stride_h);
  params.stride_w = static_cast<size_t>(up.stride_w);
  params.pad_top = static_cast<size_t>(up.pad_top);
  params.pad_left = static_cast<size_t>(up.pad_left);
  params.weight_format = static_cast<lowbit_format_t>(static_cast<int>(up.format));
  return static_cast<int64_t>(lowbit_conv_transpose2d_scratch_size(&params));
}

bool Traits::emit_c(const CEmitContext& c, const ConvTranspose2d& up) {
  const Layer& layer = c.model.layers[c.index];
  const std::string& s = c.symbol;
  c.data << "/* Layer " << c.index << " '" << c_comment_safe(layer.name) << "': transposed conv "
         << up.kernel_h << "x" << up.kernel_w << " stride " << up.stride_h << "x" << up.stride_w
         << ", " << up.in_channels << " -> " << up.out_channels << " channels, "
         << format_name(up.format) << ". */\n"
         << c_text::layer_data(s, layer.name, up.format, up.weights, up.out_channels,
                               up.row_length(), up.bias, up.requant);
  c.data << "static const lowbit_conv_transpose2d_params_t " << s << "_params = {" << up.in_channels
         << ", " << up.in_height << ", " << up.in_width << ", " << up.out_channels << ", "
         << up.out_height << ", " << up.out_width << ", " << up.kernel_h << ", " << up.kernel_w
         << ", " << up.stride_h << ", " << up.stride_w << ", " << up.pad_top << ", " << up.pad_left
         << ", " << c.input_zero_point << ", " << c_text::format_enum(up.format) << ", "
         << c_text::requant_init(s, up.requant, layer.output_zero_point) << "};\n\n";
  c.body << "  status = lowbit_conv_transpose2d_s8(&" << s << "_params, " << c.input << ", " << s
         << "_weights, sizeof(" << s << "_weights), " << c_text::bias_expr(s, up.bias) << ", "
         << c.output << ", arena + " << c.plan.arena_bytes << ", " << c.plan.kernel_scratch_bytes
         << ");\n";
  return true;
}

void Traits::describe(const JsonContext&, const ConvTranspose2d& up, nlohmann::json& j) {
  j["input_shape"] = ops::shape_json({up.in_channels, up.in_height, up.in_width});
  j["kernel"] = {up.kernel_h, up.kernel_w};
  j["stride"] = {up.stride_h, up.stride_w};
  j["padding"] = {up.pad_top, up.pad_left};
  ops::describe_weights(j, up.format, up.bias, up.requant, up.activation, up.weight_scales);
}

std::vector<int32_t*> Traits::multipliers(ConvTranspose2d& up) {
  std::vector<int32_t*> all;
  for (int32_t& m : up.requant.multiplier) all.push_back(&m);
  return all;
}

}  // namespace lowbit::exporter
