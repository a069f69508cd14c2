// Checks, arithmetic and descriptions several ops share (weighted ops, messages naming layers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter::ops {

/// Throws std::invalid_argument "integer model: layer '<layer>': <what>".
[[noreturn]] void fail(const std::string& layer, const std::string& what);

/// Fails unless value >= 1, naming the field.
void check_positive(const std::string& layer, const char* what, int64_t value);

/// Fails naming the producer and the layer: the producer outputs `got`, the layer expects
/// `expected`.
[[noreturn]] void shape_mismatch(const IntegerModel& model, const Layer& layer, int producer,
                                 const Shape& got, const std::string& expected);

/// "model input" or "layer '<name>'" for a producer.
std::string producer_name(const IntegerModel& model, int producer);

/// Checks a weighted op's format, code count (rows x row_length) and that every code is
/// representable in the format.
void check_weights(const std::string& layer, WeightFormat format,
                   const std::vector<int8_t>& weights, int64_t rows, int64_t row_length);

/// Checks a dense op's feature counts against its input and its weights (check_weights).
void check_dense(const ValidateContext& c, int64_t in_features, int64_t out_features,
                 WeightFormat format, const std::vector<int8_t>& weights);

/// bias[o] + sum_i (x[i] - input_zp) * w[o][i] of a dense op on its first input, exact in int64.
int64_t dense_sum(const RunContext& c, const std::vector<int8_t>& weights,
                  const std::vector<int32_t>& bias, int64_t in_features, int64_t o);

/// Checks bias count (none or `channels`) and the requantization's sizes and ranges.
void check_bias_and_requant(const std::string& layer, const std::vector<int32_t>& bias,
                            const Requant& requant, int64_t channels);

/// Requantizes an int64 sum (saturated to int32 first, as the runtime's accumulator) with the
/// constants of `channel`.
int8_t requantize_with(const Requant& requant, int64_t channel, int32_t zero_point, int64_t sum);

/// The model.json fields of a weighted op: format, bits, scales, bias, requantization, clamp.
void describe_weights(nlohmann::json& j, WeightFormat format, const std::vector<int32_t>& bias,
                      const Requant& requant, Activation activation,
                      const std::vector<double>& weight_scales);

/// [C, H, W] of a shape, for model.json.
nlohmann::json shape_json(const Shape& shape);

/// flash bytes of a weighted op as the portable runtime stores it: packed weights, int32 biases,
/// 8 bytes per multiplier and shift.
void weighted_cost(LayerCost& cost, WeightFormat format, int64_t rows, int64_t row_length,
                   const std::vector<int32_t>& bias, const Requant& requant);

}  // namespace lowbit::exporter::ops
