/* Output activations expressed as requantization clamp bounds. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_activation_range(lowbit_activation_t activation, int32_t output_zero_point,
                                        int32_t upper_q, int32_t* act_min, int32_t* act_max) {
  int32_t lo = LOWBIT_INT8_MIN_I32;
  int32_t hi = LOWBIT_INT8_MAX_I32;
  if (act_min == NULL || act_max == NULL) return LOWBIT_ERR_ARG;
  /* Unsigned: a negative value is out of range too, and short enums (Arm EABI) warn on "< 0". */
  if ((unsigned)activation >= (unsigned)LOWBIT_ACT_COUNT) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(output_zero_point)) return LOWBIT_ERR_RANGE;
  if (activation != LOWBIT_ACT_NONE) lo = output_zero_point;
  if (activation == LOWBIT_ACT_RELU6 || activation == LOWBIT_ACT_HARD_SIGMOID) {
    if (upper_q < 0) return LOWBIT_ERR_RANGE;
    /* zero_point + upper_q is compared in 64 bits: upper_q may be as large as INT32_MAX. */
    if ((int64_t)output_zero_point + upper_q < (int64_t)hi) hi = output_zero_point + upper_q;
  }
  *act_min = lo;
  *act_max = hi;
  return LOWBIT_OK;
}
