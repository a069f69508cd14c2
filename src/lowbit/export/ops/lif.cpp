#include "lowbit/export/ops/lif.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

using Traits = OpTraits<Lif>;

namespace {

// floor(a / 2^k), also for negative a.
int64_t floor_shift(int64_t a, int k) {
  return a >= 0 ? a >> k : -((-a + (int64_t{1} << k) - 1) >> k);
}

// Per-layer (1) or per-channel (channels) parameters, each in [low, high].
void check_values(const std::string& layer, const char* what, const std::vector<int32_t>& v,
                  int64_t channels, int64_t low, int64_t high) {
  if (v.size() != 1 && static_cast<int64_t>(v.size()) != channels) {
    ops::fail(layer, "expected 1 or " + std::to_string(channels) + " " + what + " values, got " +
                         std::to_string(v.size()));
  }
  for (int32_t value : v) {
    if (value < low || value > high) {
      ops::fail(layer, std::string(what) + " " + std::to_string(value) + " is outside [" +
                           std::to_string(low) + ", " + std::to_string(high) + "]");
    }
  }
}

}  // namespace

const char* lif_reset_name(LifReset reset) {
  switch (reset) {
    case LifReset::kSubtract:
      return "subtract";
    case LifReset::kZero:
      return "zero";
    case LifReset::kNone:
      return "none";
  }
  throw std::invalid_argument("unknown LIF reset value " + std::to_string(static_cast<int>(reset)));
}

int64_t lif_state_bytes(const Lif& lif) {
  const int64_t neurons = lif.channels * lif.plane;
  return neurons * (lif.membrane_bits / 8) + (lif.reset_delay ? neurons : 0);
}

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

Shape Traits::output_shape(const ValidateContext& c, const Lif& lif) {
  const std::string& name = c.layer.name;
  ops::check_positive(name, "channels", lif.channels);
  ops::check_positive(name, "plane", lif.plane);
  if (c.in[0].size() != lif.channels * lif.plane) {
    ops::shape_mismatch(
        c.model, c.layer, c.producer, c.in[0],
        std::to_string(lif.channels) + " channels of " + std::to_string(lif.plane) + " elements");
  }
  if (lif.membrane_bits != 16 && lif.membrane_bits != 32) {
    ops::fail(name, "membrane_bits must be 16 or 32, got " + std::to_string(lif.membrane_bits));
  }
  const int64_t membrane_max = lif.membrane_bits == 16 ? 32767 : 2147483647;
  check_values(name, "threshold", lif.threshold, lif.channels, 1, membrane_max);
  if (lif.leak_shift < 0 || lif.leak_shift > 15) {
    ops::fail(name, "leak_shift " + std::to_string(lif.leak_shift) + " is outside [0, 15]");
  }
  if (lif.leak_shift == 0) check_values(name, "beta_q15", lif.beta_q15, lif.channels, 0, 32768);
  if (c.layer.output_scale != 1 || c.layer.output_zero_point != 0) {
    ops::fail(name, "spikes have scale 1 and zero point 0");
  }
  return c.in[0];
}

void Traits::run(const RunContext& c, const Lif& lif) {
  // state: the membranes, then the pending resets, one per neuron.
  const std::vector<int8_t>& x = c.x();
  const size_t n = x.size();
  c.out.resize(n);
  for (size_t k = 0; k < n; ++k) {
    const int64_t channel = static_cast<int64_t>(k) / lif.plane;
    uint8_t reset = static_cast<uint8_t>(c.state[n + k]);
    c.out[k] = reference_lif_step(x[k] - c.input_zp(), lif, channel, c.state[k], reset);
    c.state[n + k] = reset;
  }
}

void Traits::cost(const CostContext&, const Lif& lif, LayerCost& cost) {
  const size_t leaks = lif.leak_shift == 0 ? lif.beta_q15.size() : 0;
  cost.requant_bytes = 4 * static_cast<int64_t>(lif.threshold.size() + leaks);
  cost.state_bytes = lif_state_bytes(lif);
  cost.state_alignment = lif.membrane_bits / 8;
}

bool Traits::emit_c(const CEmitContext& c, const Lif& lif) {
  const std::string& s = c.symbol;
  c.data << c_text::c_array("int32_t", s + "_threshold", lif.threshold, false);
  if (lif.leak_shift == 0)
    c.data << c_text::c_array("int32_t", s + "_beta_q15", lif.beta_q15, false);
  c.data << "static const lowbit_lif_params_t " << s << "_params = {" << lif.channels << ", "
         << lif.plane << ", " << c.input_zero_point << ", " << s << "_threshold, "
         << (lif.leak_shift == 0 ? s + "_beta_q15" : std::string("NULL")) << ", "
         << lif.threshold.size() << ", " << lif.leak_shift << ", LOWBIT_LIF_RESET_"
         << c_text::upper(lif_reset_name(lif.reset)) << ", " << (lif.reset_delay ? 1 : 0) << ", "
         << lif.membrane_bits << "};\n\n";
  const std::string l = "l" + std::to_string(c.index);
  c.body << "  status = lowbit_lif_step_s8(&" << s << "_params, " << c.input << ", state->" << l
         << "_membrane, " << (lif.reset_delay ? "state->" + l + "_reset" : "NULL") << ", "
         << c.output << ");\n";
  return true;
}

void Traits::c_state_members(const CStateContext& c, const Lif& lif) {
  const std::string l = "l" + std::to_string(c.index);
  const std::string name = c_comment_safe(c.model.layers[c.index].name);
  const int64_t n = lif.channels * lif.plane;
  (lif.membrane_bits == 32 ? c.wide : c.narrow)
      << "  int" << lif.membrane_bits << "_t " << l << "_membrane[" << n << "]; /**< Membranes of '"
      << name << "'. */\n";
  if (lif.reset_delay) {
    c.bytes << "  uint8_t " << l << "_reset[" << n << "]; /**< Pending resets of '" << name
            << "'. */\n";
  }
}

void Traits::describe(const JsonContext&, const Lif& lif, nlohmann::json& j) {
  j["threshold"] = lif.threshold;
  if (lif.leak_shift == 0) j["beta_q15"] = lif.beta_q15;
  j["leak_shift"] = lif.leak_shift;
  j["membrane_bits"] = lif.membrane_bits;
  j["reset"] = lif_reset_name(lif.reset);
  j["reset_delay"] = lif.reset_delay;
}

}  // namespace lowbit::exporter
