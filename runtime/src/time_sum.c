/* Spike-rate read-out: a saturating int8 sum over time steps, kept in caller-owned state. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_time_sum_s8(const int8_t* input, int32_t input_zero_point, int8_t* sum,
                                   size_t length) {
  size_t i;
  if (input == NULL || sum == NULL || length == 0) return LOWBIT_ERR_ARG;
  if (!lowbit_zero_point_ok(input_zero_point)) return LOWBIT_ERR_RANGE;
  for (i = 0; i < length; ++i) {
    const int32_t v = (int32_t)sum[i] + (int32_t)input[i] - input_zero_point;
    sum[i] =
        (int8_t)(v < LOWBIT_INT8_MIN_I32 ? LOWBIT_INT8_MIN_I32
                                         : (v > LOWBIT_INT8_MAX_I32 ? LOWBIT_INT8_MAX_I32 : v));
  }
  return LOWBIT_OK;
}
