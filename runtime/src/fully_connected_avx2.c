/* The fully connected layer's AVX2 kernel (see fully_connected_simd.h): the template compiled for
 * AVX2, which fully_connected.c calls only on CPUs that have it. */
#include "lowbit_internal.h"

#if LOWBIT_AVX2
/* Built without -mavx2: this file is compiled for AVX2 anyway (its functions run only on CPUs
 * that have it). gcc's target pragma defines __AVX2__, so the choice is remembered for the pop. */
#if !defined(__AVX2__)
#define LOWBIT_FC_AVX2_PRAGMA 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#endif
#define LOWBIT_FC_X86_NAME lowbit_internal_fc_layer_avx2
#define LOWBIT_FC_X86_AVX2 1
#include "fully_connected_simd.h"
#if defined(LOWBIT_FC_AVX2_PRAGMA)
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
#else
/* ISO C forbids an empty translation unit. */
typedef int lowbit_fully_connected_avx2_unused_t;
#endif
