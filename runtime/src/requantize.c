/* The single requantization rule of the runtime (Q31 multiplier, shift, round half away), defined
 * as lowbit_requantize_inline in lowbit_internal.h so the kernels inline it; checks of its
 * parameters. */
#include "lowbit_internal.h"

int8_t lowbit_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_zero_point,
                         int32_t act_min, int32_t act_max) {
  return lowbit_requantize_inline(acc, multiplier, shift, output_zero_point, act_min, act_max);
}

lowbit_status_t lowbit_requant_check(const lowbit_requant_t* requant, size_t channels) {
  size_t i;
  if (requant == NULL || requant->multiplier == NULL || requant->shift == NULL || channels == 0) {
    return LOWBIT_ERR_ARG;
  }
  if (requant->count != 1 && requant->count != channels) return LOWBIT_ERR_ARG;
  if (!lowbit_zero_point_ok(requant->output_zero_point)) return LOWBIT_ERR_RANGE;
  if (requant->act_min < LOWBIT_INT8_MIN_I32 || requant->act_max > LOWBIT_INT8_MAX_I32 ||
      requant->act_min > requant->act_max) {
    return LOWBIT_ERR_RANGE;
  }
  for (i = 0; i < requant->count; ++i) {
    if (requant->multiplier[i] < 0) return LOWBIT_ERR_RANGE;
    if (requant->shift[i] < LOWBIT_SHIFT_MIN || requant->shift[i] > LOWBIT_SHIFT_MAX) {
      return LOWBIT_ERR_RANGE;
    }
  }
  return LOWBIT_OK;
}
