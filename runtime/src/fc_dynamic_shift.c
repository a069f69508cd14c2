/* Fully connected layer with a per-sample power-of-two output scale (BitNetMCU's "ReLUNorm"):
 * the layer's int32 sums are formed first (by the portable fully connected kernel, reading the
 * packed fields in place), the shift comes from their maximum, so the layer needs no
 * requantization constants and its output scale follows each sample. */
#include "fully_connected_internal.h"

static lowbit_status_t lowbit_fc_dynshift_check(const lowbit_fc_dynshift_params_t* p) {
  if (p == NULL || p->in_features == 0 || p->out_features == 0) return LOWBIT_ERR_ARG;
  if (lowbit_format_traits(p->weight_format) == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(p->input_zero_point) || p->code_max < 1 || p->code_max > 127 ||
      (p->relu != 0 && p->relu != 1)) {
    return LOWBIT_ERR_RANGE;
  }
  return LOWBIT_OK;
}

/* Scratch holds the sums first, then the kernel's int16 lanes: a whole number of int32 before
 * them keeps the lanes aligned. */
static size_t lowbit_fc_dynshift_sums_bytes(const lowbit_fc_dynshift_params_t* params) {
  return lowbit_mul_size(params->out_features, sizeof(int32_t));
}

size_t lowbit_fc_dynshift_scratch_size(const lowbit_fc_dynshift_params_t* params) {
  size_t sums;
  size_t lanes;
  if (lowbit_fc_dynshift_check(params) != LOWBIT_OK) return 0;
  sums = lowbit_fc_dynshift_sums_bytes(params);
  lanes = lowbit_internal_fc_lane_bytes(lowbit_format_traits(params->weight_format),
                                        params->in_features);
  if (sums == 0 || lanes == 0 || lanes > SIZE_MAX - LOWBIT_SCRATCH_SLACK - sums) return 0;
  return sums + lanes + LOWBIT_SCRATCH_SLACK;
}

/* floor((v + 2^(shift-1)) / 2^shift) (round half up, also for negative v) when shift > 0, with
 * shifts of non-negative values only; v * 2^-shift when shift <= 0 (shift >= -7), saturating
 * values that clamp anyway. */
static int32_t lowbit_dynshift_scale(int32_t v, int shift) {
  int64_t shifted;
  if (shift <= 0) {
    /* Magnitudes past 128 clamp to the same codes (relu sums below a small maximum can be large
     * negatives), and the product stays small. */
    const int32_t bounded = v > 128 ? 128 : (v < -128 ? -128 : v);
    return bounded * (INT32_C(1) << -shift);
  }
  shifted = (int64_t)v + (INT64_C(1) << (shift - 1));
  if (shifted >= 0) return (int32_t)((uint64_t)shifted >> shift);
  return -(int32_t)(((uint64_t)(-shifted) + (UINT64_C(1) << shift) - 1u) >> shift);
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
  size_t o;
  size_t sums_bytes;
  int32_t* sums;
  uint32_t largest = 0;
  int32_t low;
  int shift;
  const lowbit_status_t status = lowbit_fc_dynshift_check(params);
  if (status != LOWBIT_OK) return status;
  if (input == NULL || weights == NULL || output == NULL) return LOWBIT_ERR_ARG;
  traits = lowbit_format_traits(params->weight_format);
  if (weights_size !=
      lowbit_packed_size(params->weight_format, params->out_features, params->in_features)) {
    return LOWBIT_ERR_BUFFER;
  }
  if (scratch_size < lowbit_fc_dynshift_scratch_size(params)) return LOWBIT_ERR_BUFFER;
  sums_bytes = lowbit_fc_dynshift_sums_bytes(params);
  sums = (int32_t*)lowbit_align_scratch(
      scratch, scratch_size,
      sums_bytes + lowbit_internal_fc_lane_bytes(traits, params->in_features));
  if (sums == NULL) return LOWBIT_ERR_BUFFER;
  lowbit_internal_fc_sums(traits, input, params->in_features, params->out_features,
                          params->input_zero_point, weights, weights_size / params->out_features,
                          bias, sums, (int16_t*)(void*)((uint8_t*)sums + sums_bytes));
  for (o = 0; o < params->out_features; ++o) {
    const int32_t s = sums[o];
    /* relu: the largest sum (negatives become 0); signed: the largest magnitude. */
    const uint32_t magnitude =
        params->relu ? (s > 0 ? (uint32_t)s : 0u) : (s >= 0 ? (uint32_t)s : 0u - (uint32_t)s);
    if (magnitude > largest) largest = magnitude;
  }
  /* The finest power-of-two grid that holds the largest value: the float quantizer's rule. */
  shift = lowbit_dynshift_shift(largest, (uint32_t)params->code_max);
  low = params->relu ? 0 : -params->code_max;
  for (o = 0; o < params->out_features; ++o) {
    const int32_t q = lowbit_dynshift_scale(sums[o], shift);
    output[o] = (int8_t)(q < low ? low : (q > params->code_max ? params->code_max : q));
  }
  if (shift_out != NULL) *shift_out = (int8_t)shift;
  return LOWBIT_OK;
}
