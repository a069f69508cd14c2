#include "lowbit/export/ops/dynamic_shift_dense.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/mcu_fully_connected.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"
#include "lowbit/export/packing.h"
#include "lowbit/export/target.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {

using Traits = OpTraits<DynamicShiftDense>;

std::vector<int8_t> reference_dynamic_shift(const std::vector<int64_t>& acc, int32_t code_max,
                                            bool relu, int* shift) {
  int64_t m = 0;
  for (int64_t a : acc) m = std::max(m, relu || a >= 0 ? a : -a);
  // The defining inequality m < (code_max + 1) * 2^s, solved upwards or downwards.
  int s = 0;
  if (m > 0) {
    const int64_t top = int64_t{code_max} + 1;
    while (m >= (top << s)) ++s;  // m < 2^31 stops it by s = 25
    // A small m: while m < top * 2^(s-1), i.e. m * 2^(1-s) < top, a finer grid still holds it.
    if (s == 0) {
      while ((m << (1 - s)) < top) --s;
    }
  }
  const int64_t low = relu ? 0 : -int64_t{code_max};
  std::vector<int8_t> out(acc.size());
  for (size_t o = 0; o < acc.size(); ++o) {
    int64_t v = 0;
    if (s > 0) {
      // floor((a + 2^(s-1)) / 2^s): an arithmetic right shift is a floor.
      v = (acc[o] + (int64_t{1} << (s - 1))) >> s;
    } else {
      v = acc[o] * (int64_t{1} << -s);
    }
    out[o] = static_cast<int8_t>(std::clamp<int64_t>(v, low, code_max));
  }
  if (shift != nullptr) *shift = s;
  return out;
}

Shape Traits::output_shape(const ValidateContext& c, const DynamicShiftDense& fc) {
  const std::string& name = c.layer.name;
  ops::check_dense(c, fc.in_features, fc.out_features, fc.format, fc.weights);
  if (!fc.bias.empty() && static_cast<int64_t>(fc.bias.size()) != fc.out_features) {
    ops::fail(name, "has " + std::to_string(fc.bias.size()) + " biases for " +
                        std::to_string(fc.out_features) + " outputs");
  }
  if (fc.code_max < 1 || fc.code_max > 127) {
    ops::fail(name, "code_max " + std::to_string(fc.code_max) + " is outside 1..127");
  }
  if (c.layer.output_zero_point != 0) {
    ops::fail(name, "a dynamic-shift output has zero point 0, not " +
                        std::to_string(c.layer.output_zero_point));
  }
  return {fc.out_features, 1, 1};
}

void Traits::run(const RunContext& c, const DynamicShiftDense& fc) {
  std::vector<int64_t> acc(static_cast<size_t>(fc.out_features));
  for (int64_t o = 0; o < fc.out_features; ++o) {
    // The runtime saturates its int32 sums.
    acc[static_cast<size_t>(o)] = std::clamp<int64_t>(
        ops::dense_sum(c, fc.weights, fc.bias, fc.in_features, o), INT32_MIN, INT32_MAX);
  }
  c.out = reference_dynamic_shift(acc, fc.code_max, fc.relu, nullptr);
}

namespace {

bool all_zero(const std::vector<int32_t>& values) {
  return std::all_of(values.begin(), values.end(), [](int32_t v) { return v == 0; });
}

// The layer's MCU form on an MCU target where its sums stay exact in int32; otherwise none (the
// layer calls lowbit_fc_dynshift_s8).
std::optional<McuFullyConnected> mcu_on(const Target& target, const IntegerModel& model,
                                        size_t index) {
  if (target.family != KernelFamily::kMcu) return std::nullopt;
  return mcu_dynshift_form(model, index);
}

}  // namespace

std::optional<McuFullyConnected> mcu_dynshift_form(const IntegerModel& model, size_t index) {
  const Layer& layer = model.layers[index];
  const auto* fc = std::get_if<DynamicShiftDense>(&layer.op);
  if (fc == nullptr) return std::nullopt;
  McuFullyConnected mcu =
      mcu_columns(fc->format, fc->weights, fc->bias, fc->in_features, fc->out_features,
                  value_floor(model, layer.inputs[0]), input_zero_point_of(model, layer.inputs[0]));
  int64_t constant = 0;
  for (const int32_t c : mcu.constants) {
    constant = std::max(constant, c < 0 ? -int64_t{c} : int64_t{c});
  }
  if (!mcu_sums_fit_int32(fc->format, fc->in_features, constant)) return std::nullopt;
  return mcu;
}

void Traits::cost(const CostContext& c, const DynamicShiftDense& fc, LayerCost& cost) {
  cost.macs = fc.in_features * fc.out_features;
  if (const auto mcu = mcu_on(c.target, c.model, c.index)) {
    // Constants that are all 0 (no bias, input floor at its zero point) are not stored.
    cost.weight_bytes = static_cast<int64_t>(mcu->columns.size());
    cost.bias_bytes =
        all_zero(mcu->constants) ? 0 : 4 * static_cast<int64_t>(mcu->constants.size());
    return;
  }
  ops::weighted_cost(cost, fc.format, fc.out_features, fc.in_features, fc.bias, Requant{});
}

namespace {

lowbit_fc_dynshift_params_t runtime_params(const DynamicShiftDense& fc, int32_t input_zero_point) {
  lowbit_fc_dynshift_params_t params{};
  params.in_features = static_cast<size_t>(fc.in_features);
  params.out_features = static_cast<size_t>(fc.out_features);
  params.input_zero_point = input_zero_point;
  params.weight_format = static_cast<lowbit_format_t>(static_cast<int>(fc.format));
  params.code_max = fc.code_max;
  params.relu = fc.relu ? 1 : 0;
  return params;
}

}  // namespace

int64_t Traits::runtime_scratch_bytes(const DynamicShiftDense& fc) {
  const lowbit_fc_dynshift_params_t params = runtime_params(fc, 0);
  return static_cast<int64_t>(lowbit_fc_dynshift_scratch_size(&params));
}

namespace {

// The layer on runtime/mcu's column kernels: the sums, then the shift, with no multiply by a
// variable (base * D has a literal base).
void emit_mcu(const CEmitContext& c, const DynamicShiftDense& fc, const McuFullyConnected& mcu) {
  const std::string& s = c.symbol;
  const bool constants = !all_zero(mcu.constants);
  c.data << mcu_column_array(s + "_columns", mcu.columns);
  if (constants) c.data << c_text::c_array("int32_t", s + "_constants", mcu.constants, false);
  c.data << "\n";
  c.body << "  {\n"
         << "    int32_t* const sums =\n"
         << "        (int32_t*)(((uintptr_t)(arena + " << c.plan.arena_bytes
         << ") + 3u) & ~(uintptr_t)3u);\n"
         << "    uint32_t* const work = (uint32_t*)(sums + " << (fc.out_features + 7) / 8 * 8
         << ");\n"
         << "    const int32_t base_d = (" << mcu.base << ") * lowbit_mcu_fc_sums_b" << mcu.bits
         << "(" << c.input << ", " << fc.in_features << "u, " << mcu.skip << ", " << s
         << "_columns, " << fc.out_features << "u, sums, work);\n"
         << "    lowbit_mcu_dynshift(sums, " << fc.out_features << "u, "
         << (constants ? s + "_constants" : std::string("NULL")) << ", base_d, " << mcu.step_shift
         << "u, " << fc.code_max << ", " << (fc.relu ? 1 : 0) << "u, " << c.output << ");\n"
         << "  }\n\n";
}

}  // namespace

bool Traits::emit_c(const CEmitContext& c, const DynamicShiftDense& fc) {
  const Layer& layer = c.model.layers[c.index];
  const std::string& s = c.symbol;
  c.data << "/* Layer " << c.index << " '" << c_comment_safe(layer.name) << "': " << fc.in_features
         << " -> " << fc.out_features << ", " << format_name(fc.format)
         << ", per-sample shift to codes " << (fc.relu ? 0 : -fc.code_max) << ".." << fc.code_max
         << ". */\n";
  if (const auto mcu = mcu_on(c.target, c.model, c.index)) {
    emit_mcu(c, fc, *mcu);
    return false;
  }
  c.data << c_text::c_array(
      "uint8_t", s + "_weights",
      pack_weights(fc.format, fc.weights, fc.out_features, fc.in_features, layer.name), true);
  if (!fc.bias.empty()) c.data << c_text::c_array("int32_t", s + "_bias", fc.bias, false);
  c.data << "static const lowbit_fc_dynshift_params_t " << s << "_params = {" << fc.in_features
         << ", " << fc.out_features << ", " << c.input_zero_point << ", "
         << c_text::format_enum(fc.format) << ", " << fc.code_max << ", " << (fc.relu ? 1 : 0)
         << "};\n\n";
  c.body << "  status = lowbit_fc_dynshift_s8(&" << s << "_params, " << c.input << ", " << s
         << "_weights, sizeof(" << s << "_weights), " << c_text::bias_expr(s, fc.bias) << ", "
         << c.output << ", NULL, arena + " << c.plan.arena_bytes << ", "
         << c.plan.kernel_scratch_bytes << ");\n";
  return true;
}

void Traits::describe(const JsonContext& c, const DynamicShiftDense& fc, nlohmann::json& j) {
  j["in_features"] = fc.in_features;
  j["out_features"] = fc.out_features;
  j["format"] = format_name(fc.format);
  j["bits"] = format_bits(fc.format);
  j["weight_scales"] = fc.weight_scales;
  j["bias"] = fc.bias;
  j["code_max"] = fc.code_max;
  j["relu"] = fc.relu;
  j["scale"] = "per_sample";  // the layer's output_scale is the accumulator's unit
  const auto mcu = mcu_on(c.target, c.model, c.index);
  j["kernel"] = mcu ? "mcu_column" : "runtime";
  if (mcu) j["skip"] = mcu->skip;
}

}  // namespace lowbit::exporter
