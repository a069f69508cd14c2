/* Internal helpers shared by the runtime sources; not part of the public interface. */
#ifndef LOWBIT_INTERNAL_H_
#define LOWBIT_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "lowbit_runtime.h"

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

/** Decode row_length codes of one packed row into codes (no checks; callers validated). */
void lowbit_internal_unpack_row(const lowbit_format_traits_t* traits, const uint8_t* row,
                                size_t row_length, int8_t* codes);

/** Validate the window geometry shared by conv2d and pooling; writes the output size. */
lowbit_status_t lowbit_internal_window_shape(size_t in_size, size_t kernel, size_t stride,
                                             size_t pad_before, size_t pad_after, size_t* out_size);

/** Row-major a * b, or 0 when it overflows size_t. */
static inline size_t lowbit_mul_size(size_t a, size_t b) {
  if (a != 0 && b > SIZE_MAX / a) return 0;
  return a * b;
}

#endif /* LOWBIT_INTERNAL_H_ */
