#include "lowbit/export/ops/pool.h"

#include <algorithm>

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/mcu_conv.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

using Traits = OpTraits<Pool>;

Shape Traits::output_shape(const ValidateContext& c, const Pool& pool) {
  const std::string& name = c.layer.name;
  for (auto [what, value] : {std::pair<const char*, int64_t>{"channels", pool.channels},
                             {"in_height", pool.in_height},
                             {"in_width", pool.in_width},
                             {"kernel_h", pool.kernel_h},
                             {"kernel_w", pool.kernel_w},
                             {"stride_h", pool.stride_h},
                             {"stride_w", pool.stride_w}}) {
    ops::check_positive(name, what, value);
  }
  if (pool.pad_top < 0 || pool.pad_bottom < 0 || pool.pad_left < 0 || pool.pad_right < 0 ||
      pool.pad_top >= pool.kernel_h || pool.pad_bottom >= pool.kernel_h ||
      pool.pad_left >= pool.kernel_w || pool.pad_right >= pool.kernel_w) {
    ops::fail(name, "pool padding must be in [0, kernel)");
  }
  if (pool.kernel_h > pool.in_height + pool.pad_top + pool.pad_bottom ||
      pool.kernel_w > pool.in_width + pool.pad_left + pool.pad_right) {
    ops::fail(name, "window is larger than the padded input");
  }
  const Shape expected{pool.channels, pool.in_height, pool.in_width};
  if (c.in[0] != expected) {
    ops::shape_mismatch(c.model, c.layer, c.producer, c.in[0], shape_text(expected));
  }
  return {pool.channels, pool.out_height(), pool.out_width()};
}

void Traits::run(const RunContext& c, const Pool& pool) {
  const std::vector<int8_t>& x = c.x();
  const int64_t oh = pool.out_height();
  const int64_t ow = pool.out_width();
  c.out.resize(static_cast<size_t>(pool.channels * oh * ow));
  for (int64_t ch = 0; ch < pool.channels; ++ch) {
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
            const int q = x[static_cast<size_t>((ch * pool.in_height + iy) * pool.in_width + ix)];
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
        c.out[static_cast<size_t>((ch * oh + y) * ow + xo)] = static_cast<int8_t>(value);
      }
    }
  }
}

void Traits::cost(const CostContext&, const Pool&, LayerCost&) {}

bool Traits::emit_c(const CEmitContext& c, const Pool& pool) {
  const std::string& s = c.symbol;
  if (c.index > 0 && c.plan.fused_with_next[c.index - 1] &&
      mcu_conv_supported(c.target, c.model, c.index - 1)) {
    c.body << "  /* Computed by layer " << c.index - 1 << "'s lowbit_mcu_conv. */\n\n";
    return false;
  }
  c.data << "static const lowbit_pool_params_t " << s << "_params = {" << pool.channels << ", "
         << pool.in_height << ", " << pool.in_width << ", " << pool.kernel_h << ", "
         << pool.kernel_w << ", " << pool.stride_h << ", " << pool.stride_w << ", " << pool.pad_top
         << ", " << pool.pad_bottom << ", " << pool.pad_left << ", " << pool.pad_right << "};\n\n";
  if (c.index > 0 && c.plan.fused_with_next[c.index - 1]) {
    c.body << "  /* Computed by layer " << c.index - 1 << "'s lowbit_conv2d_max_pool_s8. */\n\n";
    return false;
  }
  c.body << "  status = " << (pool.average ? "lowbit_avg_pool_s8" : "lowbit_max_pool_s8") << "(&"
         << s << "_params, " << c.input << ", " << c.output << ");\n";
  return true;
}

void Traits::describe(const JsonContext&, const Pool& pool, nlohmann::json& j) {
  j["input_shape"] = ops::shape_json({pool.channels, pool.in_height, pool.in_width});
  j["kernel"] = {pool.kernel_h, pool.kernel_w};
  j["stride"] = {pool.stride_h, pool.stride_w};
  j["padding"] = {pool.pad_top, pool.pad_bottom, pool.pad_left, pool.pad_right};
}

}  // namespace lowbit::exporter
