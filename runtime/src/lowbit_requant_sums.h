/* Requantization of runs of int32 sums, the kernels' output loops. With SSE2 (every x86-64
 * target) four sums at a time, bit-exact with lowbit_requantize_inline; elsewhere, and with
 * -DLOWBIT_PORTABLE, one by one through lowbit_requantize_inline. Internal to the runtime. */
#ifndef LOWBIT_REQUANT_SUMS_H_
#define LOWBIT_REQUANT_SUMS_H_

#include "lowbit_internal.h"

#if LOWBIT_SSE2

/** Requantization parameters of four lanes (one channel broadcast, or four channels). */
typedef struct {
  __m128i multiplier; /**< Dword j: the Q31 multiplier of lane j. */
  __m128i count[4];   /**< r - 1 = 30 - shift of lane j, as an _mm_srl_epi64 count. */
  __m128i zero_point; /**< Output zero point in each int16. */
  __m128i act_min;    /**< Lower clamp in each int16. */
  __m128i act_max;    /**< Upper clamp in each int16. */
} lowbit_sse2_requant_t;

/** Lane-wise saturating int32 addition, which SSE2 lacks: the exact sum clamped to int32. */
static inline __m128i lowbit_sse2_adds_epi32(__m128i a, __m128i b) {
  const __m128i sum = _mm_add_epi32(a, b);
  /* The sum wrapped iff a and b share a sign that the wrapped sum lacks; the exact sum then lies
   * beyond the limit on a's side, (a >> 31) ^ INT32_MAX. */
  const __m128i wrapped =
      _mm_srai_epi32(_mm_and_si128(_mm_xor_si128(a, sum), _mm_xor_si128(b, sum)), 31);
  const __m128i limit = _mm_xor_si128(_mm_srai_epi32(a, 31), _mm_set1_epi32(INT32_MAX));
  return _mm_or_si128(_mm_and_si128(wrapped, limit), _mm_andnot_si128(wrapped, sum));
}

/** Lane-wise int32 maximum (pmaxsd is SSE4.1). */
static inline __m128i lowbit_sse2_max_epi32(__m128i a, __m128i b) {
  const __m128i greater = _mm_cmpgt_epi32(a, b);
  return _mm_or_si128(_mm_and_si128(greater, a), _mm_andnot_si128(greater, b));
}

/** x >> count per 64-bit lane, the low lane by count_low and the high lane by count_high. */
static inline __m128i lowbit_sse2_srl_epi64_each(__m128i x, __m128i count_low, __m128i count_high) {
  return _mm_unpacklo_epi64(_mm_srl_epi64(x, count_low),
                            _mm_srli_si128(_mm_srl_epi64(x, count_high), 8));
}

/** The rounded product of lowbit_requantize (y, before the zero point) of four int32 lanes,
 * saturated to +-(2^31 - 1); `uniform` (a constant) says all lanes use count[0]. */
LOWBIT_FORCE_INLINE __m128i lowbit_sse2_scale(__m128i acc, const lowbit_sse2_requant_t* q,
                                              int uniform) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i one = _mm_set_epi32(0, 1, 0, 1);
  const __m128i sign = _mm_srai_epi32(acc, 31);
  /* |acc| <= 2^31 as uint32; pmuludq multiplies dwords 0 and 2 into exact 64-bit products, so
   * lanes 0, 2 and lanes 1, 3 go separately. */
  const __m128i magnitude = _mm_sub_epi32(_mm_xor_si128(acc, sign), sign);
  __m128i even = _mm_mul_epu32(magnitude, q->multiplier);
  __m128i odd = _mm_mul_epu32(_mm_srli_epi64(magnitude, 32), _mm_srli_epi64(q->multiplier, 32));
  __m128i low;
  __m128i high;
  __m128i big;
  /* floor((p + 2^(r-1)) / 2^r) = (floor(p / 2^(r-1)) + 1) / 2, with no 2^(r-1) to form. */
  if (uniform) {
    even = _mm_srl_epi64(even, q->count[0]);
    odd = _mm_srl_epi64(odd, q->count[0]);
  } else {
    even = lowbit_sse2_srl_epi64_each(even, q->count[0], q->count[2]);
    odd = lowbit_sse2_srl_epi64_each(odd, q->count[1], q->count[3]);
  }
  even = _mm_srli_epi64(_mm_add_epi64(even, one), 1);
  odd = _mm_srli_epi64(_mm_add_epi64(odd, one), 1);
  /* Back to lanes 0..3: the low and the high dwords of the four quotients (each < 2^61). */
  even = _mm_shuffle_epi32(even, 0xD8); /* dwords 0, 2, 1, 3 */
  odd = _mm_shuffle_epi32(odd, 0xD8);
  low = _mm_unpacklo_epi32(even, odd);
  high = _mm_unpackhi_epi32(even, odd);
  /* A quotient of 2^31 or more saturates to 2^31 - 1: far beyond every int8 clamp either way. */
  big = _mm_or_si128(_mm_cmpgt_epi32(high, zero), _mm_cmpgt_epi32(zero, low));
  low = _mm_and_si128(_mm_or_si128(low, big), _mm_set1_epi32(INT32_MAX));
  return _mm_sub_epi32(_mm_xor_si128(low, sign), sign);
}

/** clamp(y + zero_point, act_min, act_max) of eight scaled lanes (y0: lanes 0..3, y1: 4..7) as
 * int8 in bytes 0..7 (and again in 8..15). Saturating to int16 and adding the zero point with
 * int16 saturation alter only values beyond the int8 clamp, which they leave beyond it. */
static inline __m128i lowbit_sse2_finish(__m128i y0, __m128i y1, const lowbit_sse2_requant_t* q) {
  __m128i v = _mm_adds_epi16(_mm_packs_epi32(y0, y1), q->zero_point);
  v = _mm_min_epi16(_mm_max_epi16(v, q->act_min), q->act_max);
  return _mm_packs_epi16(v, v);
}

/** Stores bytes 0..3 of v at out. */
static inline void lowbit_sse2_store4(int8_t* out, __m128i v) {
  const uint32_t word = (uint32_t)_mm_cvtsi128_si32(v);
  out[0] = (int8_t)(word & 0xFFu);
  out[1] = (int8_t)((word >> 8) & 0xFFu);
  out[2] = (int8_t)((word >> 16) & 0xFFu);
  out[3] = (int8_t)(word >> 24);
}

/** Entry `entry` of a requantization (0 when per-layer) in every lane: the multiplier, its
 * count, the zero point and the clamp. */
static inline lowbit_sse2_requant_t lowbit_sse2_requant(const lowbit_requant_t* requant,
                                                        size_t entry) {
  lowbit_sse2_requant_t q;
  q.multiplier = _mm_set1_epi32(requant->multiplier[entry]);
  q.count[0] = q.count[1] = q.count[2] = q.count[3] = _mm_cvtsi32_si128(30 - requant->shift[entry]);
  q.zero_point = _mm_set1_epi16((int16_t)requant->output_zero_point);
  q.act_min = _mm_set1_epi16((int16_t)requant->act_min);
  q.act_max = _mm_set1_epi16((int16_t)requant->act_max);
  return q;
}

#endif /* LOWBIT_SSE2 */

/** The requantization of one output channel, read into locals once: stores through int8_t may
 * alias anything, so fields read from the params inside an output loop would be reloaded after
 * every store. */
typedef struct {
  int64_t bias;       /**< Bias of the channel (0 without bias), added exactly. */
  int32_t multiplier; /**< Q31 multiplier of the channel. */
  int32_t shift;      /**< Shift of the channel. */
  int32_t zero_point; /**< Output zero point. */
  int32_t act_min;    /**< Clamp low. */
  int32_t act_max;    /**< Clamp high. */
#if LOWBIT_SSE2
  int bias_may_saturate;        /**< Whether bias + sum can leave int32 (else a plain add). */
  __m128i bias4;                /**< The bias in each int32 lane. */
  lowbit_sse2_requant_t vector; /**< The same parameters in every lane. */
#endif
} lowbit_channel_requant_t;

/** Channel `entry` of requant (0 when per-layer) with the given bias, for sums of magnitude at
 * most sum_bound. */
static inline lowbit_channel_requant_t lowbit_channel_requant(const lowbit_requant_t* requant,
                                                              size_t entry, int32_t bias,
                                                              int64_t sum_bound) {
  lowbit_channel_requant_t r;
  r.bias = bias;
  r.multiplier = requant->multiplier[entry];
  r.shift = requant->shift[entry];
  r.zero_point = requant->output_zero_point;
  r.act_min = requant->act_min;
  r.act_max = requant->act_max;
#if LOWBIT_SSE2
  r.bias_may_saturate = (bias < 0 ? -(int64_t)bias : (int64_t)bias) > INT32_MAX - sum_bound;
  r.bias4 = _mm_set1_epi32(bias);
  r.vector = lowbit_sse2_requant(requant, entry);
#else
  (void)sum_bound;
#endif
  return r;
}

/** requantize(saturate(bias + sum)) with one channel's parameters: the output of a conv sum. */
static inline int8_t lowbit_channel_requantize(const lowbit_channel_requant_t* r, int32_t sum) {
  return lowbit_requantize_inline(lowbit_saturate_i32(r->bias + sum), r->multiplier, r->shift,
                                  r->zero_point, r->act_min, r->act_max);
}

#if LOWBIT_SSE2
/** bias + sums, saturated only where it can leave int32 (`saturate`, a constant after inlining). */
LOWBIT_FORCE_INLINE __m128i lowbit_sse2_add_bias(const lowbit_channel_requant_t* r,
                                                 const int32_t* sums, int saturate) {
  const __m128i s = _mm_loadu_si128((const __m128i*)sums);
  return saturate ? lowbit_sse2_adds_epi32(s, r->bias4) : _mm_add_epi32(s, r->bias4);
}

/** The vector part of lowbit_requantize_sums: returns how many sums it wrote (a multiple of 4). */
LOWBIT_FORCE_INLINE size_t lowbit_sse2_requantize_sums(const lowbit_channel_requant_t* r,
                                                       const int32_t* sums, int8_t* out,
                                                       size_t count, int saturate) {
  size_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m128i a = lowbit_sse2_scale(lowbit_sse2_add_bias(r, sums + j, saturate), &r->vector, 1);
    const __m128i b =
        lowbit_sse2_scale(lowbit_sse2_add_bias(r, sums + j + 4, saturate), &r->vector, 1);
    _mm_storel_epi64((__m128i*)(out + j), lowbit_sse2_finish(a, b, &r->vector));
  }
  if (j + 4 <= count) {
    const __m128i a = lowbit_sse2_scale(lowbit_sse2_add_bias(r, sums + j, saturate), &r->vector, 1);
    lowbit_sse2_store4(out + j, lowbit_sse2_finish(a, a, &r->vector));
    j += 4;
  }
  return j;
}
#endif

/** out[j] = lowbit_channel_requantize(r, sums[j]) for j < count. */
LOWBIT_FORCE_INLINE void lowbit_requantize_sums(const lowbit_channel_requant_t* r,
                                                const int32_t* sums, int8_t* out, size_t count) {
  size_t j = 0;
#if LOWBIT_SSE2
  j = r->bias_may_saturate ? lowbit_sse2_requantize_sums(r, sums, out, count, 1)
                           : lowbit_sse2_requantize_sums(r, sums, out, count, 0);
#endif
  for (; j < count; ++j) out[j] = lowbit_channel_requantize(r, sums[j]);
}

#endif /* LOWBIT_REQUANT_SUMS_H_ */
