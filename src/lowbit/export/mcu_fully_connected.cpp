#include "lowbit/export/mcu_fully_connected.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "lowbit/export/lowering/requant_precision.h"
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

int field_mask(int bits) {
  return (1 << bits) - 1;
}

}  // namespace

bool mcu_sums_fit_int32(WeightFormat format, int64_t in_features, int64_t constant_bound) {
  const int bits = format_bits(format);
  // Every term of acc_j = constant_j + base * D + 2^step * S_j, and each partial sum, in int32.
  const int64_t sums = in_features * 255 * field_mask(bits) * (format_is_odd_grid(format) ? 2 : 1);
  const int64_t base_d = in_features * 255 * std::llabs(format_code_min(format));
  return sums + base_d + constant_bound < kLimit32;
}

bool mcu_dense_fits_32bit(const IntegerModel& model, size_t index) {
  if (!requant_fits_32bit(model, index)) return false;
  const DenseRows rows = dense_rows(model.layers[index].op);
  int64_t constant = 0;
  for (const int64_t b : accumulator_bounds(model, index)) constant = std::max(constant, b);
  return mcu_sums_fit_int32(rows.format, rows.length, constant);
}

bool mcu_fc_supported(const IntegerModel& model, size_t index) {
  return std::holds_alternative<FullyConnected>(model.layers[index].op) &&
         mcu_dense_fits_32bit(model, index);
}

McuFullyConnected mcu_columns(WeightFormat format, const std::vector<int8_t>& weights,
                              const std::vector<int32_t>& bias, int64_t in_features,
                              int64_t out_features, int32_t skip, int64_t zero_point) {
  McuFullyConnected mcu;
  mcu.skip = skip;
  mcu.bits = format_bits(format);
  mcu.base = format_code_min(format);
  mcu.step_shift = format_is_odd_grid(format) ? 1 : 0;
  mcu.row_bytes = (out_features * mcu.bits + 7) / 8;
  mcu.columns.assign(static_cast<size_t>(in_features * mcu.row_bytes), 0);
  mcu.constants.resize(static_cast<size_t>(out_features));
  mcu.constants_fit_int16 = true;
  for (int64_t o = 0; o < out_features; ++o) {
    int64_t weight_sum = 0;
    for (int64_t i = 0; i < in_features; ++i) {
      const int code = weights[static_cast<size_t>(o * in_features + i)];
      weight_sum += code;
      const auto field = static_cast<unsigned>((code - mcu.base) >> mcu.step_shift);
      const int64_t bit = o * mcu.bits;
      mcu.columns[static_cast<size_t>(i * mcu.row_bytes + bit / 8)] |=
          static_cast<uint8_t>(field << (bit % 8));
    }
    const int64_t b = bias.empty() ? 0 : bias[static_cast<size_t>(o)];
    const int64_t constant = b + (skip - zero_point) * weight_sum;
    mcu.constants[static_cast<size_t>(o)] = static_cast<int32_t>(constant);
    mcu.constants_fit_int16 = mcu.constants_fit_int16 && constant >= -32768 && constant <= 32767;
  }
  return mcu;
}

McuFullyConnected mcu_fully_connected(const IntegerModel& model, size_t index) {
  const Layer& layer = model.layers[index];
  const auto& fc = std::get<FullyConnected>(layer.op);
  McuFullyConnected mcu =
      mcu_columns(fc.format, fc.weights, fc.bias, fc.in_features, fc.out_features,
                  value_floor(model, layer.inputs[0]), input_zero_point_of(model, layer.inputs[0]));
  add_short_multipliers(mcu, fc.requant);
  return mcu;
}

void add_short_multipliers(McuFullyConnected& mcu, const Requant& requant) {
  for (size_t c = 0; c < requant.multiplier.size(); ++c) {
    const ShortMultiplier s = short_multiplier(requant.multiplier[c], requant.shift[c]);
    mcu.m.push_back(s.m);
    mcu.r.push_back(static_cast<uint8_t>(s.r));
  }
}

int64_t mcu_fc_scratch_bytes(WeightFormat format, int64_t out_features) {
  const int bits = format_bits(format);
  // Sums rounded up to 8, the most codes a byte holds, as lowbit_mcu_fc_run places them.
  const int64_t sums = (out_features + 7) / 8 * 8;
  const auto work = static_cast<int64_t>(
      LOWBIT_MCU_FC_WORK_WORDS(static_cast<uint32_t>(out_features), static_cast<uint32_t>(bits)));
  return 4 * (sums + work) + 3;
}

int64_t mcu_fc_flash_bytes(const McuFullyConnected& mcu) {
  const auto constants =
      static_cast<int64_t>(mcu.constants.size()) * (mcu.constants_fit_int16 ? 2 : 4);
  return static_cast<int64_t>(mcu.columns.size()) + constants +
         static_cast<int64_t>(mcu.m.size()) * 5;
}

McuFcLayer mcu_fc_layer(const IntegerModel& model, size_t index) {
  const Layer& layer = model.layers[index];
  const auto& fc = std::get<FullyConnected>(layer.op);
  McuFcLayer out;
  out.mcu = mcu_fully_connected(model, index);
  out.in_features = fc.in_features;
  out.out_features = fc.out_features;
  out.output_zero_point = layer.output_zero_point;
  out.act_min = fc.requant.act_min;
  out.act_max = fc.requant.act_max;
  return out;
}

namespace {

int mcu_fc_kind(const McuFullyConnected& mcu) {
  return mcu.bits * 1000 - mcu.base;
}

bool all_per_tensor(const std::vector<McuFcLayer>& layers) {
  return std::all_of(layers.begin(), layers.end(),
                     [](const McuFcLayer& l) { return l.mcu.m.size() == 1; });
}

/// One field of the descriptor: its C type, and its value (a C expression) per layer.
struct Field {
  std::string type;
  std::string name;
  int size = 4;                     ///< Bytes, for ordering the fields without padding.
  bool array = false;               ///< Points at the layer's array `<symbol><suffix>`.
  std::vector<std::string> values;  ///< One per layer; the suffix for arrays.

  /// Whether the descriptor holds the field; otherwise the runner uses the literal.
  bool stored() const {
    return array || std::any_of(values.begin(), values.end(),
                                [&](const std::string& v) { return v != values.front(); });
  }
};

/// The descriptor fields of `layers`, widest first so that the struct has no padding.
std::vector<Field> descriptor_fields(const std::vector<McuFcLayer>& layers) {
  bool c16 = false;
  bool c32 = false;
  int64_t largest = 0;
  for (const McuFcLayer& l : layers) {
    (l.mcu.constants_fit_int16 ? c16 : c32) = true;
    largest = std::max({largest, l.in_features, l.out_features});
  }
  const bool inline_m = all_per_tensor(layers);
  const std::string count_type = largest <= 65535 ? "uint16_t" : "uint32_t";
  const int count_size = largest <= 65535 ? 2 : 4;
  std::vector<Field> fields = {
      {"const uint8_t*", "columns", 4, true, {}},
      {c16 && c32 ? "const void*" : (c16 ? "const int16_t*" : "const int32_t*"),
       "constants",
       4,
       true,
       {}},
      {inline_m ? "int32_t" : "const int32_t*", "m", 4, !inline_m, {}},
      {count_type, "n_in", count_size, false, {}},
      {count_type, "n_out", count_size, false, {}},
      {"int16_t", "kind", 2, false, {}},
      {"int16_t", "skip", 2, false, {}},
      {"int16_t", "zp", 2, false, {}},
      {"int16_t", "lo", 2, false, {}},
      {"int16_t", "hi", 2, false, {}},
      {inline_m ? "uint8_t" : "const uint8_t*", "r", inline_m ? 1 : 4, !inline_m, {}},
      {"uint8_t", "step_shift", 1, false, {}},
      {"uint8_t", "per_channel", 1, false, {}},
      {"uint8_t", "c16", 1, false, {}},
  };
  for (size_t k = 0; k < layers.size(); ++k) {
    const McuFcLayer& l = layers[k];
    const std::vector<std::string> values = {
        "_columns",
        "_constants",
        inline_m ? std::to_string(l.mcu.m[0]) : "_m",
        std::to_string(l.in_features),
        std::to_string(l.out_features),
        std::to_string(mcu_fc_kind(l.mcu)),
        std::to_string(l.mcu.skip),
        std::to_string(l.output_zero_point),
        std::to_string(l.act_min),
        std::to_string(l.act_max),
        inline_m ? std::to_string(l.mcu.r[0]) : "_r",
        std::to_string(l.mcu.step_shift),
        l.mcu.m.size() > 1 ? "1" : "0",
        l.mcu.constants_fit_int16 ? "1" : "0",
    };
    for (size_t f = 0; f < fields.size(); ++f) fields[f].values.push_back(values[f]);
  }
  std::stable_sort(fields.begin(), fields.end(),
                   [](const Field& a, const Field& b) { return a.size > b.size; });
  return fields;
}

/// The runner's expression for a field: the descriptor's member or the shared literal.
std::string field_expr(const std::vector<Field>& fields, const std::string& name) {
  for (const Field& f : fields) {
    if (f.name != name) continue;
    return f.stored() ? "l->" + f.name : "(" + f.values.front() + ")";
  }
  throw std::logic_error("mcu_fc_runner: no descriptor field " + name);
}

}  // namespace

std::string mcu_column_array(const std::string& name, const std::vector<uint8_t>& columns) {
  std::ostringstream out;
  // Word-aligned rows let the kernels of cores with a multiplier read them a word at a time.
  out << "static const uint8_t " << name << "[" << columns.size() << "] LOWBIT_MCU_ALIGN4 = {";
  for (size_t i = 0; i < columns.size(); ++i) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", columns[i]);
    out << (i % 16 == 0 ? "\n    " : " ") << hex << (i + 1 < columns.size() ? "," : "");
  }
  out << "\n};\n";
  return out.str();
}

std::string mcu_fc_data(const std::vector<McuFcLayer>& layers, size_t k,
                        const std::string& symbol) {
  const McuFullyConnected& mcu = layers[k].mcu;
  std::ostringstream out;
  out << mcu_column_array(symbol + "_columns", mcu.columns);
  out << c_list(mcu.constants_fit_int16 ? "int16_t" : "int32_t", symbol + "_constants",
                mcu.constants);
  // One multiplier per layer lives in the descriptor; per-channel ones need arrays.
  if (!all_per_tensor(layers)) {
    out << c_list("int32_t", symbol + "_m", mcu.m);
    out << c_list("uint8_t", symbol + "_r", mcu.r);
  }
  std::string values;
  for (const Field& f : descriptor_fields(layers)) {
    if (!f.stored()) continue;
    values += (values.empty() ? "" : ", ") + (f.array ? symbol : "") + f.values[k];
  }
  out << "static const lowbit_mcu_fc_layer_t " << symbol << "_layer = {" << values << "};\n";
  return out.str();
}

std::string mcu_fc_runner(const std::vector<McuFcLayer>& layers) {
  const std::vector<Field> fields = descriptor_fields(layers);
  const auto get = [&](const std::string& name) { return field_expr(fields, name); };
  std::vector<int> kinds;
  bool c16 = false;
  bool c32 = false;
  for (const McuFcLayer& l : layers) {
    const int kind = mcu_fc_kind(l.mcu);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    (l.mcu.constants_fit_int16 ? c16 : c32) = true;
  }
  std::ostringstream out;
  out << "/* A fully connected layer on runtime/mcu's column kernels (docs/export.md, "
         "\"Targets\"):\n"
      << " * one descriptor per layer and one call site, which keeps the code small. Values that\n"
      << " * all layers share are literals below rather than descriptor fields. */\n"
      << "typedef struct {\n";
  for (const Field& f : fields) {
    if (f.stored()) out << "  " << f.type << " " << f.name << ";\n";
  }
  out << "} lowbit_mcu_fc_layer_t;\n\n"
      << "static void lowbit_mcu_fc_run(const lowbit_mcu_fc_layer_t* l, const int8_t* x, int8_t* "
         "y,\n"
      << "                              int8_t* scratch) {\n"
      << "  int32_t* const sums = (int32_t*)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);\n"
      << "  uint32_t* const work = (uint32_t*)(sums + ((" << get("n_out") << " + 7u) & ~7u));\n";
  const auto sums_call = [&](int kind) {
    const int bits = kind / 1000;
    const int base = bits * 1000 - kind;
    // The weight of field 0 is a constant per kind, so base * D compiles to shifts and adds.
    return "(" + std::to_string(base) + ") * lowbit_mcu_fc_sums_b" + std::to_string(bits) + "(x, " +
           get("n_in") + ", " + get("skip") + ", " + get("columns") + ", " + get("n_out") +
           ", sums, work);\n";
  };
  if (kinds.size() == 1) {
    out << "  const int32_t base_d = " << sums_call(kinds.front());
  } else {
    out << "  int32_t base_d = 0;\n  switch (" << get("kind") << ") {\n";
    for (const int kind : kinds) {
      out << "    case " << kind << ":\n      base_d = " << sums_call(kind) << "      break;\n";
    }
    out << "    default:\n      break;\n  }\n";
  }
  // Per-tensor multipliers are passed by address: the descriptor's, or one shared constant when
  // every layer has the same (power-of-two scales give that).
  std::string m_arg = get("m");
  std::string r_arg = get("r");
  if (all_per_tensor(layers)) {
    const auto by_address = [&](std::string& arg, const char* type, const char* name) {
      if (arg[0] != '(') {
        arg = "&" + arg;
        return;
      }
      out << "  static const " << type << " " << name << " = " << arg << ";\n";
      arg = std::string("&") + name;
    };
    by_address(m_arg, "int32_t", "m");
    by_address(r_arg, "uint8_t", "r");
  }
  const std::string args = "base_d, " + get("step_shift") + ", " + m_arg + ", " + r_arg + ", " +
                           get("per_channel") + ", " + get("zp") + ", " + get("lo") + ", " +
                           get("hi") + ", y);\n";
  const std::string n_out = get("n_out");
  if (c16 && c32) {
    out << "  if (" << get("c16") << ") {\n    lowbit_mcu_requant_c16(sums, " << n_out
        << ", (const int16_t*)l->constants, " << args << "  } else {\n    lowbit_mcu_requant(sums, "
        << n_out << ", (const int32_t*)l->constants, " << args << "  }\n";
  } else if (c16) {
    out << "  lowbit_mcu_requant_c16(sums, " << n_out << ", l->constants, " << args;
  } else {
    out << "  lowbit_mcu_requant(sums, " << n_out << ", l->constants, " << args;
  }
  out << "}\n\n";
  return out.str();
}

}  // namespace lowbit::exporter
