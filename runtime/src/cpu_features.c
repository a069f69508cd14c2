/* Run-time CPU feature checks for the kernels' AVX2 copies. */
#include "lowbit_internal.h"

#if LOWBIT_AVX2 && !defined(__AVX2__)
int lowbit_internal_has_avx2(void) {
  static int known = -1; /* benign race: every thread computes the same value */
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return known;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int lowbit_cpu_features_unused_t;
#endif
