#include "lowbit/export/mcu_fully_connected.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "lowbit/export/requant_precision.h"
#include "lowbit_mcu.h"

namespace lowbit::exporter {

namespace {

constexpr int64_t kLimit32 = int64_t{1} << 31;

template <typename T>
std::string c_list(const char* type, const std::string& name, const std::vector<T>& values) {
  std::ostringstream out;
  out << "static const " << type << " " << name << "[" << values.size() << "] = {";
  for (size_t i = 0; i < values.size(); ++i) {
    out << (i % 16 == 0 ? "\n    " : " ") << static_cast<int64_t>(values[i])
        << (i + 1 < values.size() ? "," : "");
  }
  out << "\n};\n";
  return out.str();
}

int field_mask(int bits) { return (1 << bits) - 1; }

}  // namespace

bool mcu_fc_supported(const IntegerModel& model, size_t index) {
  const auto* fc = std::get_if<FullyConnected>(&model.layers[index].op);
  if (fc == nullptr || !requant_fits_32bit(model, index)) return false;
  const int bits = format_bits(fc->format);
  const int64_t n = fc->in_features;
  // Every term of acc_j = constant_j + base * D + 2^step * S_j, and each partial sum, in int32.
  const int64_t sums = n * 255 * field_mask(bits) * (format_is_odd_grid(fc->format) ? 2 : 1);
  const int64_t base_d = n * 255 * std::llabs(format_code_min(fc->format));
  int64_t constant = 0;
  for (const int64_t b : accumulator_bounds(model, index)) constant = std::max(constant, b);
  return sums + base_d + constant < kLimit32;
}

McuFullyConnected mcu_fully_connected(const IntegerModel& model, size_t index) {
  const Layer& layer = model.layers[index];
  const auto& fc = std::get<FullyConnected>(layer.op);
  McuFullyConnected mcu;
  mcu.skip = value_floor(model, layer.inputs[0]);
  mcu.bits = format_bits(fc.format);
  mcu.base = format_code_min(fc.format);
  mcu.step_shift = format_is_odd_grid(fc.format) ? 1 : 0;
  mcu.row_bytes = (fc.out_features * mcu.bits + 7) / 8;
  mcu.columns.assign(static_cast<size_t>(fc.in_features * mcu.row_bytes), 0);
  const int64_t zp = input_zero_point_of(model, layer.inputs[0]);
  mcu.constants.resize(static_cast<size_t>(fc.out_features));
  mcu.constants_fit_int16 = true;
  for (int64_t o = 0; o < fc.out_features; ++o) {
    int64_t weight_sum = 0;
    for (int64_t i = 0; i < fc.in_features; ++i) {
      const int code = fc.weights[static_cast<size_t>(o * fc.in_features + i)];
      weight_sum += code;
      const auto field = static_cast<unsigned>((code - mcu.base) >> mcu.step_shift);
      const int64_t bit = o * mcu.bits;
      mcu.columns[static_cast<size_t>(i * mcu.row_bytes + bit / 8)] |=
          static_cast<uint8_t>(field << (bit % 8));
    }
    const int64_t bias = fc.bias.empty() ? 0 : fc.bias[static_cast<size_t>(o)];
    const int64_t constant = bias + (mcu.skip - zp) * weight_sum;
    mcu.constants[static_cast<size_t>(o)] = static_cast<int32_t>(constant);
    mcu.constants_fit_int16 = mcu.constants_fit_int16 && constant >= -32768 && constant <= 32767;
  }
  for (size_t c = 0; c < fc.requant.multiplier.size(); ++c) {
    const ShortMultiplier s = short_multiplier(fc.requant.multiplier[c], fc.requant.shift[c]);
    mcu.m.push_back(s.m);
    mcu.r.push_back(static_cast<uint8_t>(s.r));
  }
  return mcu;
}

int64_t mcu_fc_scratch_bytes(const FullyConnected& fc) {
  const int bits = format_bits(fc.format);
  const int64_t per_byte = 8 / bits;
  // Sums rounded up to 8, the most codes a byte holds, as lowbit_mcu_fc_run places them.
  const int64_t sums = (fc.out_features + 7) / 8 * 8;
  (void)per_byte;
  const auto work = static_cast<int64_t>(
      LOWBIT_MCU_FC_WORK_WORDS(static_cast<uint32_t>(fc.out_features), static_cast<uint32_t>(bits)));
  return 4 * (sums + work) + 3;
}

int64_t mcu_fc_flash_bytes(const McuFullyConnected& mcu) {
  const auto constants =
      static_cast<int64_t>(mcu.constants.size()) * (mcu.constants_fit_int16 ? 2 : 4);
  return static_cast<int64_t>(mcu.columns.size()) + constants +
         static_cast<int64_t>(mcu.m.size()) * 5;
}

std::string mcu_fc_data(const McuFullyConnected& mcu, const std::string& symbol) {
  std::ostringstream out;
  // Word-aligned rows let the kernels of cores with a multiplier read them a word at a time.
  out << "static const uint8_t " << symbol << "_columns[" << mcu.columns.size()
      << "] LOWBIT_MCU_ALIGN4 = {";
  for (size_t i = 0; i < mcu.columns.size(); ++i) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", mcu.columns[i]);
    out << (i % 16 == 0 ? "\n    " : " ") << hex << (i + 1 < mcu.columns.size() ? "," : "");
  }
  out << "\n};\n";
  out << c_list(mcu.constants_fit_int16 ? "int16_t" : "int32_t", symbol + "_constants",
                mcu.constants);
  out << c_list("int32_t", symbol + "_m", mcu.m);
  out << c_list("uint8_t", symbol + "_r", mcu.r);
  return out.str();
}

int mcu_fc_kind(const McuFullyConnected& mcu) { return mcu.bits * 1000 - mcu.base; }

std::string mcu_fc_runner(const std::vector<McuFullyConnected>& layers) {
  std::vector<int> kinds;
  bool c16 = false;
  bool c32 = false;
  for (const McuFullyConnected& mcu : layers) {
    const int kind = mcu_fc_kind(mcu);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    (mcu.constants_fit_int16 ? c16 : c32) = true;
  }
  std::ostringstream out;
  out << "/* A fully connected layer on runtime/mcu's column kernels (docs/export.md, \"Targets\"):\n"
      << " * one descriptor per layer and one call site, which keeps the code small. */\n"
      << "typedef struct {\n"
      << "  const uint8_t* columns;\n  const void* constants;\n  const int32_t* m;\n"
      << "  const uint8_t* r;\n  uint16_t n_in;\n  uint16_t n_out;\n  int16_t kind;\n"
      << "  int16_t skip;\n  int16_t zp;\n  int16_t lo;\n  int16_t hi;\n  uint8_t step_shift;\n"
      << "  uint8_t per_channel;\n  uint8_t c16;\n} lowbit_mcu_fc_layer_t;\n\n"
      << "static void lowbit_mcu_fc_run(const lowbit_mcu_fc_layer_t* l, const int8_t* x, int8_t* y,\n"
      << "                              int8_t* scratch) {\n"
      << "  int32_t* const sums = (int32_t*)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);\n"
      << "  uint32_t* const work = (uint32_t*)(sums + ((l->n_out + 7u) & ~7u));\n"
      << "  int32_t base_d = 0;\n"
      << "  switch (l->kind) {\n";
  for (const int kind : kinds) {
    const int bits = kind / 1000;
    const int base = bits * 1000 - kind;
    // The weight of field 0 is a constant per kind, so base * D compiles to shifts and adds.
    out << "    case " << kind << ":\n      base_d = (" << base << ") * lowbit_mcu_fc_sums_b" << bits
        << "(x, l->n_in, l->skip, l->columns, l->n_out, sums, work);\n      break;\n";
  }
  out << "    default:\n      break;\n  }\n";
  const std::string args =
      "base_d, l->step_shift, l->m, l->r, l->per_channel, l->zp, l->lo, l->hi, y);\n";
  if (c16 && c32) {
    out << "  if (l->c16) {\n    lowbit_mcu_requant_c16(sums, l->n_out, (const int16_t*)l->constants, "
        << args << "  } else {\n    lowbit_mcu_requant(sums, l->n_out, (const int32_t*)l->constants, "
        << args << "  }\n";
  } else if (c16) {
    out << "  lowbit_mcu_requant_c16(sums, l->n_out, (const int16_t*)l->constants, " << args;
  } else {
    out << "  lowbit_mcu_requant(sums, l->n_out, (const int32_t*)l->constants, " << args;
  }
  out << "}\n\n";
  return out.str();
}

std::string mcu_fc_descriptor(const McuFullyConnected& mcu, const FullyConnected& fc,
                              const std::string& symbol, int32_t output_zero_point) {
  std::ostringstream out;
  out << "static const lowbit_mcu_fc_layer_t " << symbol << "_layer = {" << symbol << "_columns, "
      << symbol << "_constants, " << symbol << "_m, " << symbol << "_r, " << fc.in_features << ", "
      << fc.out_features << ", " << mcu_fc_kind(mcu) << ", " << mcu.skip << ", "
      << output_zero_point << ", " << fc.requant.act_min << ", " << fc.requant.act_max << ", "
      << mcu.step_shift << ", " << (mcu.m.size() > 1 ? 1 : 0) << ", "
      << (mcu.constants_fit_int16 ? 1 : 0) << "};\n";
  return out.str();
}

}  // namespace lowbit::exporter
