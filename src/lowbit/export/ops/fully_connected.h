// The dense layer op.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Dense layer: out[o] = requant(bias[o] + sum_i (x[i] - input_zp) * w[o][i]).
struct FullyConnected {
  int64_t in_features = 0;   ///< Inputs (C * H * W of the producer; flatten is implicit).
  int64_t out_features = 0;  ///< Outputs.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  std::vector<int8_t> weights;                ///< Codes, row-major [out_features][in_features].
  std::vector<int32_t> bias;  ///< int32 [out_features] in the accumulator scale (may be empty).
  Requant requant;            ///< Per-layer or per-channel requantization and clamp.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
  /// Real weight scale(s), 1 or one per output channel; recorded in model.json only (the integer
  /// path uses the multipliers). May be empty.
  std::vector<double> weight_scales;
};

/// Everything the passes know of a dense layer (see OpTraits). MCU targets run it on the column
/// kernels of mcu_fully_connected when mcu_fc_supported.
template <>
struct OpTraits<FullyConnected> : OpTraitsDefaults {
  static constexpr const char* kName = "dense";  ///< Table name.
  static constexpr bool kOnnx = true;            ///< Gemm / MatMul in ONNX.
  /// "fully_connected".
  static const char* c_name(const FullyConnected&) { return "fully_connected"; }
  /// Checks the op; {out_features, 1, 1}.
  static Shape output_shape(const ValidateContext& c, const FullyConnected& fc);
  /// The reference arithmetic.
  static void run(const RunContext& c, const FullyConnected& fc);
  /// The requantization's lower clamp.
  static std::optional<int32_t> value_floor(const FullyConnected& fc) { return fc.requant.act_min; }
  /// Portable or MCU column form bytes; in * out MACs.
  static void cost(const CostContext& c, const FullyConnected& fc, LayerCost& cost);
  /// lowbit_fc_scratch_size.
  template <class Pool>
  static int64_t scratch_bytes(const FullyConnected& fc, const Pool*) {
    return portable_scratch_bytes(fc);
  }
  /// The runtime's lowbit_fc_scratch_size for the op.
  static int64_t portable_scratch_bytes(const FullyConnected& fc);
  /// Weights, parameters and the runtime or MCU kernel call.
  static bool emit_c(const CEmitContext& c, const FullyConnected& fc);
  /// Features, weights, requantization and the kernel used.
  static void describe(const JsonContext& c, const FullyConnected& fc, nlohmann::json& j);
  /// Its weights and biases.
  static std::optional<WeightsView> weights(const FullyConnected& fc) {
    return WeightsView{fc.format, &fc.weights, &fc.bias};
  }
  /// Its requantization multipliers.
  static std::vector<int32_t*> multipliers(FullyConnected& fc);
};

}  // namespace lowbit::exporter
