/* lowbit_mcu_dynshift: the per-sample power-of-two output scale (BitNetMCU's ReLUNorm) over a
 * layer's column sums, in 32-bit arithmetic with no multiply in the loops (the exporter takes
 * this path only where every accumulator is exact in int32). */
#include "lowbit_mcu.h"

/* round_half_up(a / 2^shift) for shift >= 1 without signed shifts or overflow: |a| < 2^31 and
 * 2^(shift - 1) <= 2^30. */
static int32_t lowbit_mcu_dynshift_down(int32_t a, uint32_t shift) {
  const uint32_t half = UINT32_C(1) << (shift - 1u);
  if (a >= 0) return (int32_t)(((uint32_t)a + half) >> shift);
  {
    const uint32_t magnitude = 0u - (uint32_t)a; /* -a, at most 2^31 */
    if (magnitude <= half) return 0;             /* a + half >= 0 and below 2^shift */
    /* a + half < 0: floor((a + half) / 2^s) = -ceil((magnitude - half) / 2^s). */
    return -(int32_t)((magnitude - half + (UINT32_C(1) << shift) - 1u) >> shift);
  }
}

void lowbit_mcu_dynshift(int32_t* sums, uint32_t n, const int32_t* c, int32_t base_d,
                         uint32_t step_shift, int32_t code_max, uint32_t relu, int8_t* y) {
  uint32_t largest = 0;
  uint32_t j;
  int32_t shift = 0;
  const int32_t low = relu ? 0 : -code_max;
  for (j = 0; j < n; ++j) {
    const int32_t a = (c != 0 ? c[j] : 0) + base_d + (int32_t)((uint32_t)sums[j] << step_shift);
    const uint32_t magnitude = a > 0 ? (uint32_t)a : (relu ? 0u : 0u - (uint32_t)a);
    if (magnitude > largest) largest = magnitude;
    sums[j] = a;
  }
  /* The smallest shift s with largest < (code_max + 1) * 2^s; negative (a left shift) for small
   * sums, 0 when every sum is 0. */
  if (largest != 0) {
    while ((largest >> shift) > (uint32_t)code_max) ++shift;
    if (shift == 0) {
      while ((largest << (1 - shift)) <= (uint32_t)code_max) --shift;
    }
  }
  for (j = 0; j < n; ++j) {
    int32_t q;
    if (shift > 0) {
      q = lowbit_mcu_dynshift_down(sums[j], (uint32_t)shift);
    } else {
      /* |a| <= largest < 2^7 here for the outputs that do not clamp; larger ones clamp alike. */
      const int32_t a = sums[j] > 128 ? 128 : (sums[j] < -128 ? -128 : sums[j]);
      q = a * (INT32_C(1) << -shift);
    }
    y[j] = (int8_t)(q < low ? low : (q > code_max ? code_max : q));
  }
}
