/* Fully connected layer over packed weights with per-layer or per-channel requantization. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_fully_connected_s8(const lowbit_fc_params_t* params, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output) {
  const lowbit_format_traits_t* traits;
  lowbit_status_t status;
  size_t row_bytes;
  size_t b;
  size_t o;
  size_t i;
  if (params == NULL || input == NULL || weights == NULL || output == NULL) return LOWBIT_ERR_ARG;
  if (params->batch == 0 || params->in_features == 0 || params->out_features == 0) {
    return LOWBIT_ERR_ARG;
  }
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(params->input_zero_point)) return LOWBIT_ERR_RANGE;
  status = lowbit_requant_check(&params->requant, params->out_features);
  if (status != LOWBIT_OK) return status;
  if (weights_size == 0 ||
      weights_size !=
          lowbit_packed_size(params->weight_format, params->out_features, params->in_features)) {
    return LOWBIT_ERR_BUFFER;
  }
  row_bytes = weights_size / params->out_features;
  for (b = 0; b < params->batch; ++b) {
    const int8_t* x = input + b * params->in_features;
    int8_t* y = output + b * params->out_features;
    for (o = 0; o < params->out_features; ++o) {
      const uint8_t* row = weights + o * row_bytes;
      const size_t c = params->requant.count == 1 ? 0 : o;
      /* Exact 64-bit sum, saturated once at the end, so the result never depends on order. */
      int64_t acc = bias != NULL ? (int64_t)bias[o] : 0;
      for (i = 0; i < params->in_features; ++i) {
        const int32_t w = lowbit_decode_field(traits, lowbit_field_at(row, i, traits->bits));
        acc += (int64_t)((int32_t)x[i] - params->input_zero_point) * w;
      }
      y[o] = lowbit_requantize(lowbit_saturate_i32(acc), params->requant.multiplier[c],
                               params->requant.shift[c], params->requant.output_zero_point,
                               params->requant.act_min, params->requant.act_max);
    }
  }
  return LOWBIT_OK;
}
