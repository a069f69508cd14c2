/* lowbit_mcu_fc_sums_b8: the plain C paths of fc_sums_impl.h at 8 bits (no lanes: a product of
 * 8-bit fields fills a 16-bit lane at once). */
#include "fc_sums_impl.h"

int32_t lowbit_mcu_fc_sums_b8(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work) {
#if LOWBIT_MCU_TABLE_KERNELS
  return lowbit_mcu_sums_table_b8(x, n_in, skip, w, n_out, sums, work);
#else
  (void)work;
  return lowbit_mcu_sums_mul_b8(x, n_in, skip, w, n_out, sums);
#endif
}
