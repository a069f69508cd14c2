/* Fully connected layer with a per-sample power-of-two output scale (BitNetMCU's "ReLUNorm"):
 * the layer's int32 sums are formed first, the shift comes from their maximum, so the layer
 * needs no requantization constants and its output scale follows each sample. */
#include "lowbit_internal.h"

static lowbit_status_t lowbit_fc_dynshift_check(const lowbit_fc_dynshift_params_t* p) {
  if (p == NULL || p->in_features == 0 || p->out_features == 0) return LOWBIT_ERR_ARG;
  if (lowbit_format_traits(p->weight_format) == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(p->input_zero_point) || p->code_max < 1 || p->code_max > 127 ||
      (p->relu != 0 && p->relu != 1)) {
    return LOWBIT_ERR_RANGE;
  }
  return LOWBIT_OK;
}

size_t lowbit_fc_dynshift_scratch_size(const lowbit_fc_dynshift_params_t* params) {
  size_t sums;
  if (lowbit_fc_dynshift_check(params) != LOWBIT_OK) return 0;
  sums = lowbit_mul_size(params->out_features, sizeof(int32_t));
  if (sums == 0 || sums > SIZE_MAX - LOWBIT_SCRATCH_SLACK) return 0;
  return sums + LOWBIT_SCRATCH_SLACK;
}

/* bias + sum_i (x_i - zp) w_i of one packed row, exact in 64 bits, saturated to int32. */
static int32_t lowbit_dynshift_row(const lowbit_format_traits_t* traits, const uint8_t* row,
                                   const int8_t* x, size_t n, int32_t zp, int32_t bias) {
  int64_t sum = bias;
  size_t i;
  for (i = 0; i < n; ++i) {
    const int32_t w = lowbit_decode_field(traits, lowbit_field_at(row, i, traits->bits));
    sum += (int64_t)((int32_t)x[i] - zp) * w;
  }
  return sum < INT32_MIN ? INT32_MIN : (sum > INT32_MAX ? INT32_MAX : (int32_t)sum);
}

/* floor((v + half) / 2^shift) for half = 2^shift / 2 (round half up, also for negative v) when
 * shift > 0; v * 2^-shift, exact, when shift <= 0. */
static int64_t lowbit_dynshift_scale(int64_t v, int shift) {
  int64_t shifted;
  int64_t divisor;
  if (shift <= 0) return v * (INT64_C(1) << -shift);
  shifted = v + (INT64_C(1) << (shift - 1));
  divisor = INT64_C(1) << shift;
  return shifted >= 0 ? shifted / divisor : -((-shifted + divisor - 1) / divisor);
}

/* The smallest s (negative: a left shift) with m < (code_max + 1) * 2^s; 0 for m == 0. */
static int lowbit_dynshift_shift(uint32_t m, uint32_t code_max) {
  int shift = 0;
  if (m == 0) return 0;
  while ((m >> shift) > code_max) ++shift;
  if (shift > 0) return shift;
  while (((uint64_t)m << (-shift + 1)) <= code_max) --shift;
  return shift;
}

lowbit_status_t lowbit_fc_dynshift_s8(const lowbit_fc_dynshift_params_t* params,
                                      const int8_t* input, const uint8_t* weights,
                                      size_t weights_size, const int32_t* bias, int8_t* output,
                                      int8_t* shift_out, void* scratch, size_t scratch_size) {
  const lowbit_format_traits_t* traits;
  size_t row_bytes;
  size_t o;
  int32_t* sums;
  uint32_t largest = 0;
  int shift;
  const lowbit_status_t status = lowbit_fc_dynshift_check(params);
  if (status != LOWBIT_OK) return status;
  if (input == NULL || weights == NULL || output == NULL) return LOWBIT_ERR_ARG;
  traits = lowbit_format_traits(params->weight_format);
  row_bytes = lowbit_packed_row_bytes(params->weight_format, params->in_features);
  if (weights_size !=
      lowbit_packed_size(params->weight_format, params->out_features, params->in_features)) {
    return LOWBIT_ERR_BUFFER;
  }
  sums =
      (int32_t*)lowbit_align_scratch(scratch, scratch_size, params->out_features * sizeof(int32_t));
  if (sums == NULL) return LOWBIT_ERR_BUFFER;
  for (o = 0; o < params->out_features; ++o) {
    const int32_t s =
        lowbit_dynshift_row(traits, weights + o * row_bytes, input, params->in_features,
                            params->input_zero_point, bias != NULL ? bias[o] : 0);
    /* relu: the largest sum (negatives become 0); signed: the largest magnitude. */
    const uint32_t magnitude = params->relu ? (s > 0 ? (uint32_t)s : 0u)
                                            : (s >= 0 ? (uint32_t)s : (uint32_t)(-(int64_t)s));
    if (magnitude > largest) largest = magnitude;
    sums[o] = s;
  }
  /* The finest power-of-two grid that holds the largest value: the float quantizer's rule. */
  shift = lowbit_dynshift_shift(largest, (uint32_t)params->code_max);
  for (o = 0; o < params->out_features; ++o) {
    const int64_t low = params->relu ? 0 : -(int64_t)params->code_max;
    int64_t q = lowbit_dynshift_scale(sums[o], shift);
    q = q < low ? low : (q > params->code_max ? params->code_max : q);
    output[o] = (int8_t)q;
  }
  if (shift_out != NULL) *shift_out = (int8_t)shift;
  return LOWBIT_OK;
}
