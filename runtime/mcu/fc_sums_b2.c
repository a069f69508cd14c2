/* lowbit_mcu_fc_sums_b2: the plain C paths of fc_sums_impl.h at 2 bits. */
#include "fc_sums_impl.h"

int32_t lowbit_mcu_fc_sums_b2(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work) {
#if LOWBIT_MCU_TABLE_KERNELS
  return lowbit_mcu_sums_table(x, n_in, skip, w, n_out, sums, work, 2u);
#else
  return lowbit_mcu_sums_mul(x, n_in, skip, w, n_out, sums, work, 2u);
#endif
}
