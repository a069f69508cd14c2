// The dense layer normalised per sample by a power-of-two shift (BitNetMCU's ReLUNorm).
#pragma once

#include <optional>

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

struct McuFullyConnected;

/// Dense layer whose output scale follows each sample: acc[o] = bias[o] + sum_i (x[i] - input_zp)
/// * w[o][i]; with m the largest acc (relu) or |acc|, shift = the smallest integer s with
/// m < (code_max + 1) * 2^s, and out[o] = clamp(round_half_up(acc[o] / 2^s), relu ? 0 :
/// -code_max, code_max). The lowering of a QLinear whose output quantizer is `dynshift`; no
/// requantization constants. The layer's output_scale is nominal (the accumulator's unit): each
/// sample's real scale is 2^shift times it.
struct DynamicShiftDense {
  int64_t in_features = 0;   ///< Inputs (C * H * W of the producer; flatten is implicit).
  int64_t out_features = 0;  ///< Outputs.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  std::vector<int8_t> weights;                ///< Codes, row-major [out_features][in_features].
  std::vector<int32_t> bias;  ///< int32 [out_features] in the accumulator scale (may be empty).
  int32_t code_max = 127;     ///< Largest output code, 1..127.
  bool relu = true;           ///< Outputs 0..code_max (true) or -code_max..code_max.
  /// Real weight scale(s), recorded in model.json only. May be empty.
  std::vector<double> weight_scales;
};

/// The reference arithmetic of DynamicShiftDense on accumulators `acc`: the codes and the shift.
std::vector<int8_t> reference_dynamic_shift(const std::vector<int64_t>& acc, int32_t code_max,
                                            bool relu, int* shift);

/// The column form of layer `index` when it is a DynamicShiftDense that runs on runtime/mcu's
/// column kernels on MCU targets (its accumulators stay exact in int32); none otherwise (the
/// layer then calls lowbit_fc_dynshift_s8).
std::optional<McuFullyConnected> mcu_dynshift_form(const IntegerModel& model, size_t index);

/// Everything the passes know of a dynamic-shift dense layer (see OpTraits).
template <>
struct OpTraits<DynamicShiftDense> : OpTraitsDefaults {
  static constexpr const char* kName = "dense_dynshift";  ///< Table name.
  /// ONNX has no per-sample power-of-two rescale.
  static const char* onnx_refusal() {
    return "its per-sample shift (dynshift) has no ONNX QDQ/QONNX form";
  }
  /// "fc_dynshift".
  static const char* c_name(const DynamicShiftDense&) { return "fc_dynshift"; }
  /// Checks the op; {out_features, 1, 1}.
  static Shape output_shape(const ValidateContext& c, const DynamicShiftDense& fc);
  /// The reference arithmetic.
  static void run(const RunContext& c, const DynamicShiftDense& fc);
  /// 0 with relu, else -code_max.
  static std::optional<int32_t> value_floor(const DynamicShiftDense& fc) {
    return fc.relu ? 0 : -fc.code_max;
  }
  /// Packed weights and biases; in * out MACs.
  static void cost(const CostContext& c, const DynamicShiftDense& fc, LayerCost& cost);
  /// lowbit_fc_dynshift_scratch_size.
  template <class Pool>
  static int64_t scratch_bytes(const DynamicShiftDense& fc, const Pool*) {
    return runtime_scratch_bytes(fc);
  }
  /// The runtime's lowbit_fc_dynshift_scratch_size for the op.
  static int64_t runtime_scratch_bytes(const DynamicShiftDense& fc);
  /// Weights, parameters and the lowbit_fc_dynshift_s8 call; on MCU targets the column form and
  /// the lowbit_mcu_fc_sums_b<bits> and lowbit_mcu_dynshift calls.
  static bool emit_c(const CEmitContext& c, const DynamicShiftDense& fc);
  /// Features, weights, code range.
  static void describe(const JsonContext& c, const DynamicShiftDense& fc, nlohmann::json& j);
  /// Its weights and biases.
  static std::optional<WeightsView> weights(const DynamicShiftDense& fc) {
    return WeightsView{fc.format, &fc.weights, &fc.bias};
  }
};

}  // namespace lowbit::exporter
