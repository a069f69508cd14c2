/* Run-time CPU feature checks for the kernels' AVX2 copies. */
#include "lowbit_internal.h"

#if LOWBIT_AVX2 && !defined(__AVX2__)
/* -1 until checked. A constructor checks before main(), so that threads only ever read it. */
static int g_lowbit_has_avx2 = -1;

__attribute__((constructor)) static void lowbit_check_avx2(void) {
  __builtin_cpu_init(); /* needed when this runs before libgcc's own constructor */
  g_lowbit_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
}

int lowbit_internal_has_avx2(void) {
  if (g_lowbit_has_avx2 < 0) lowbit_check_avx2(); /* called from another constructor */
  return g_lowbit_has_avx2;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int lowbit_cpu_features_unused_t;
#endif
