/* Internal helpers shared by the runtime sources; not part of the public interface. */
#ifndef LOWBIT_INTERNAL_H_
#define LOWBIT_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "lowbit_runtime.h"

/** 1 when the kernels use their SSE2 code (every x86-64 target has SSE2), else 0. Defining
 * LOWBIT_PORTABLE selects the plain C99 code everywhere; the tests build and compare both. */
#if defined(__SSE2__) && !defined(LOWBIT_PORTABLE)
#define LOWBIT_SSE2 1
#include <emmintrin.h>
#else
#define LOWBIT_SSE2 0
#endif

/** 1 when kernels carry AVX2 copies (gcc and clang on x86; LOWBIT_NO_AVX2 or LOWBIT_PORTABLE
 * turn them off). Without -mavx2 the copies are compiled for AVX2 by a target attribute and
 * picked at run time on CPUs that have it; with -mavx2 the whole build targets AVX2 and they
 * always run. */
#if LOWBIT_SSE2 && defined(__GNUC__) && !defined(LOWBIT_NO_AVX2)
#define LOWBIT_AVX2 1
#if defined(__AVX2__)
/** Compiles one function for AVX2 (the whole build already is). */
#define LOWBIT_TARGET_AVX2
/** Whether this CPU runs AVX2 code: a build for AVX2 assumes it. */
#define lowbit_internal_has_avx2() 1
#else
/** Compiles one function for AVX2. */
#define LOWBIT_TARGET_AVX2 __attribute__((target("avx2")))
/** Whether this CPU runs AVX2 code (checked once). */
int lowbit_internal_has_avx2(void);
#endif
#else
#define LOWBIT_AVX2 0
#endif

/** Smallest int8 value as int32, used for clamps. */
#define LOWBIT_INT8_MIN_I32 ((int32_t)INT8_MIN)
/** Largest int8 value as int32, used for clamps. */
#define LOWBIT_INT8_MAX_I32 ((int32_t)INT8_MAX)

/** Whether a zero point is a valid int8 zero point. */
static inline int lowbit_zero_point_ok(int32_t zero_point) {
  return zero_point >= LOWBIT_INT8_MIN_I32 && zero_point <= LOWBIT_INT8_MAX_I32;
}

/** Saturate an exact 64-bit accumulator to the int32 range the requantizer takes. */
static inline int32_t lowbit_saturate_i32(int64_t value) {
  if (value > (int64_t)INT32_MAX) return INT32_MAX;
  if (value < (int64_t)INT32_MIN) return INT32_MIN;
  return (int32_t)value;
}

/** Inlining the kernels' specialized copies depend on (constant bit widths, strides) is a hint
 * compilers may skip for large bodies; gcc and clang are told it is required. */
#if defined(__GNUC__)
#define LOWBIT_FORCE_INLINE static inline __attribute__((always_inline))
#else
#define LOWBIT_FORCE_INLINE static inline
#endif

/** Placed before a loop of constant trip count that must stay a loop: gcc -O3 unrolls loops of
 * up to 16 iterations completely before vectorizing them, which leaves scalar code behind. */
#if defined(__GNUC__)
#define LOWBIT_KEEP_LOOP _Pragma("GCC unroll 1")
#else
#define LOWBIT_KEEP_LOOP
#endif

/** Alignment the kernels give their scratch views (int16/int32 arrays, 16-byte vector loads). */
#define LOWBIT_SCRATCH_ALIGN (LOWBIT_SCRATCH_SLACK + 1u)

/**
 * The requantization rule (documented at ::lowbit_requantize, which calls this): inline so the
 * kernels' output loops do not pay a call per element.
 */
static inline int8_t lowbit_requantize_inline(int32_t acc, int32_t multiplier, int32_t shift,
                                              int32_t output_zero_point, int32_t act_min,
                                              int32_t act_max) {
  const int64_t product = (int64_t)acc * (int64_t)multiplier;
  const uint32_t right = (uint32_t)(31 - shift); /* 1 ... 62 */
  /* Round half away from zero, without branches and without right-shifting a negative value
   * (implementation-defined in C99): with h = 2^(right-1), the result is
   * floor((product + h - [product < 0]) / 2^right). |product| <= 2^62, so adding 2^63 makes the
   * dividend non-negative and keeps it below 2^64; the 2^63 / 2^right it adds to the quotient is
   * subtracted again. Unsigned arithmetic wraps exactly to that sum. */
  const uint64_t biased = (uint64_t)product + (UINT64_C(1) << 63) + (UINT64_C(1) << (right - 1u)) -
                          ((uint64_t)product >> 63);
  int64_t result = (int64_t)(biased >> right) - (int64_t)(UINT64_C(1) << (63u - right));
  result += output_zero_point;
  result = result < act_min ? act_min : result;
  result = result > act_max ? act_max : result;
  return (int8_t)result;
}

/** The first LOWBIT_SCRATCH_ALIGN-aligned address in scratch, or NULL when fewer than `needed`
 * bytes are left after it (scratch sizes include LOWBIT_SCRATCH_SLACK bytes for this). */
static inline void* lowbit_align_scratch(void* scratch, size_t scratch_size, size_t needed) {
  const size_t skip = (size_t)((LOWBIT_SCRATCH_ALIGN - (uintptr_t)scratch % LOWBIT_SCRATCH_ALIGN) %
                               LOWBIT_SCRATCH_ALIGN);
  if (scratch == NULL || scratch_size < skip || scratch_size - skip < needed) return NULL;
  return (uint8_t*)scratch + skip;
}

/** The bits-wide field of weight j in a packed row (little-endian within each byte). */
static inline uint32_t lowbit_field_at(const uint8_t* row, size_t j, uint32_t bits) {
  const size_t bit = j * (size_t)bits;
  return ((uint32_t)row[bit >> 3] >> (bit & 7u)) & ((UINT32_C(1) << bits) - 1u);
}

/** The weight code a field stands for under a format's encoding. */
static inline int32_t lowbit_decode_field(const lowbit_format_traits_t* traits, uint32_t field) {
  const uint32_t bits = traits->bits;
  if (traits->encoding == LOWBIT_ENCODING_ODD_GRID) {
    return 2 * (int32_t)field - (int32_t)((UINT32_C(1) << bits) - 1u);
  }
  return (int32_t)field - (int32_t)((field >> (bits - 1u)) << bits);
}

/** Validate the window geometry shared by conv2d and pooling; writes the output size. */
lowbit_status_t lowbit_internal_window_shape(size_t in_size, size_t kernel, size_t stride,
                                             size_t pad_before, size_t pad_after, size_t* out_size);

/** The input indices [*first, *end) that window `out` covers inside the input (padding left
 * out); the window geometry must have passed lowbit_internal_window_shape(). */
static inline void lowbit_internal_window_range(size_t out, size_t stride, size_t pad_before,
                                                size_t kernel, size_t in_size, size_t* first,
                                                size_t* end) {
  const size_t start = out * stride; /* in padded coordinates */
  const size_t stop = start + kernel;
  *first = start < pad_before ? 0 : start - pad_before;
  *end = stop < pad_before ? 0 : stop - pad_before;
  if (*end > in_size) *end = in_size;
}

/** Row-major a * b, or 0 when it overflows size_t. */
static inline size_t lowbit_mul_size(size_t a, size_t b) {
  if (a != 0 && b > SIZE_MAX / a) return 0;
  return a * b;
}

#endif /* LOWBIT_INTERNAL_H_ */
