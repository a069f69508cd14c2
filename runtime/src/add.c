/* Element-wise sum of two int8 tensors with their own scales (a residual add), requantized once
 * into the output grid with the activation clamp (docs/runtime.md, "Residual add"). */
#include "lowbit_internal.h"

lowbit_status_t lowbit_add_s8(const lowbit_add_params_t* params, const int8_t* input_a,
                              const int8_t* input_b, int8_t* output, size_t length) {
  int32_t zp_a;
  int32_t zp_b;
  int64_t m_a;
  int64_t m_b;
  int32_t zp_out;
  int32_t act_min;
  int32_t act_max;
  uint32_t right;
  size_t i;
  if (params == NULL || input_a == NULL || input_b == NULL || output == NULL || length == 0) {
    return LOWBIT_ERR_ARG;
  }
  if (!lowbit_zero_point_ok(params->zero_point_a) || !lowbit_zero_point_ok(params->zero_point_b) ||
      !lowbit_zero_point_ok(params->output_zero_point) || params->multiplier_a < 0 ||
      params->multiplier_b < 0 || params->shift < LOWBIT_SHIFT_MIN ||
      params->shift > LOWBIT_SHIFT_MAX || params->act_min < LOWBIT_INT8_MIN_I32 ||
      params->act_max > LOWBIT_INT8_MAX_I32 || params->act_min > params->act_max) {
    return LOWBIT_ERR_RANGE;
  }
  /* Locals: stores through int8_t may alias the parameters' fields. */
  zp_a = params->zero_point_a;
  zp_b = params->zero_point_b;
  m_a = (int64_t)params->multiplier_a;
  m_b = (int64_t)params->multiplier_b;
  zp_out = params->output_zero_point;
  act_min = params->act_min;
  act_max = params->act_max;
  right = (uint32_t)(31 - params->shift); /* 1 ... 62 */
  for (i = 0; i < length; ++i) {
    /* |q - zp| <= 255 and multipliers < 2^31: |sum| < 2^40, far from the 2^62 the rounding
     * below allows (it is lowbit_requantize_inline's, on a 64-bit product). */
    const int64_t sum = ((int32_t)input_a[i] - zp_a) * m_a + ((int32_t)input_b[i] - zp_b) * m_b;
    const uint64_t biased =
        (uint64_t)sum + (UINT64_C(1) << 63) + (UINT64_C(1) << (right - 1u)) - ((uint64_t)sum >> 63);
    int64_t result = (int64_t)(biased >> right) - (int64_t)(UINT64_C(1) << (63u - right));
    result += zp_out;
    result = result < act_min ? act_min : result;
    result = result > act_max ? act_max : result;
    output[i] = (int8_t)result;
  }
  return LOWBIT_OK;
}
