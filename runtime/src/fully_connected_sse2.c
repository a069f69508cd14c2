/* The fully connected layer's SSE2 kernel (see fully_connected_simd.h). */
#include "lowbit_internal.h"

#if LOWBIT_SSE2
#define LOWBIT_FC_X86_NAME lowbit_internal_fc_layer_sse2
#define LOWBIT_FC_X86_AVX2 0
#include "fully_connected_simd.h"
#else
/* ISO C forbids an empty translation unit. */
typedef int lowbit_fully_connected_sse2_unused_t;
#endif
