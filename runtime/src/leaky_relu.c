/* Leaky ReLU in one int8 grid: values below the zero point are scaled by a Q15 slope. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_leaky_relu_s8(const int8_t* input, int32_t zero_point, int32_t slope_q15,
                                     int8_t* output, size_t length) {
  size_t i;
  if (input == NULL || output == NULL || length == 0) return LOWBIT_ERR_ARG;
  if (!lowbit_zero_point_ok(zero_point) || slope_q15 < 0 || slope_q15 > 32767) {
    return LOWBIT_ERR_RANGE;
  }
  for (i = 0; i < length; ++i) {
    const int32_t x = input[i];
    if (x >= zero_point) {
      output[i] = (int8_t)x;
    } else {
      /* zp + round_half_away((x - zp) * slope / 2^15) with x - zp < 0: the magnitude
       * (zp - x) * slope <= 255 * 32767 is rounded half up, non-negative, so the shift is exact
       * floor division; the result lies in [x, zp]. */
      const int32_t magnitude = ((zero_point - x) * slope_q15 + 16384) >> 15;
      output[i] = (int8_t)(zero_point - magnitude);
    }
  }
  return LOWBIT_OK;
}
