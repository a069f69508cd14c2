/* The runtime's run requantization against the documented rule (zero tolerance).
 *
 * lowbit_requantize_sums (SSE2 on x86, four sums at a time; scalar in portable builds) must equal
 * requantize(saturate(bias + sum)) as docs/runtime.md defines it, computed here independently of
 * the runtime's code by rounding the exact product's magnitude. Sums, biases, multipliers and
 * shifts run over their edges (int32 limits, saturating bias additions, multiplier 0 and 2^31 - 1,
 * every shift, quotients of 2^31 and more, exact ties) and pseudo-random values, through both the
 * saturating and the plain bias addition. With SSE2, the per-lane form the fully connected kernel
 * uses (four channels with different multipliers and shifts) is checked the same way. Prints every
 * mismatch; exits non-zero on any. */
#include <stdio.h>

#include "lowbit_requant_sums.h"

/** Sums per run: two vector groups of 8, one of 4 and a scalar tail of 3. */
#define RUN 23

static unsigned long g_checks;
static unsigned long g_failures;

/* xorshift32: reproducible pseudo-random values without the C library. */
static uint32_t next_random(uint32_t* state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

/* The documented rule, written apart from the runtime: y = sign(p) * floor((|p| + 2^(r-1)) / 2^r)
 * for p = saturate(bias + sum) * multiplier and r = 31 - shift, then zero point and clamp. */
static int8_t reference(int64_t bias_plus_sum, int32_t multiplier, int32_t shift,
                        int32_t zero_point, int32_t act_min, int32_t act_max) {
  const int64_t acc = bias_plus_sum > INT32_MAX   ? INT32_MAX
                      : bias_plus_sum < INT32_MIN ? INT32_MIN
                                                  : bias_plus_sum;
  const int64_t product = acc * multiplier;
  const uint64_t magnitude = (uint64_t)(product < 0 ? -product : product);
  const uint32_t r = (uint32_t)(31 - shift);
  const int64_t rounded = (int64_t)((magnitude + (UINT64_C(1) << (r - 1u))) >> r);
  int64_t y = (product < 0 ? -rounded : rounded) + zero_point;
  if (y < act_min) y = act_min;
  if (y > act_max) y = act_max;
  return (int8_t)y;
}

/* Interesting accumulators: limits, small values and values whose product lands on a tie. */
static int32_t edge_sum(size_t i, int32_t multiplier, int32_t shift) {
  static const int32_t fixed[] = {
      0,         1,      -1,    2,      -2,        127,       -128,          255,           -255,
      32767,     -32768, 65535, -65536, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 1 << 30,
      -(1 << 30)};
  const size_t count = sizeof(fixed) / sizeof(fixed[0]);
  if (i < count) return fixed[i];
  /* acc with acc * multiplier = (2k + 1) * 2^(r - 1): an exact tie, when one fits. */
  if (multiplier != 0 && (multiplier & (multiplier - 1)) == 0) {
    const int32_t r = 31 - shift;
    int32_t log2 = 0;
    while ((INT32_C(1) << log2) != multiplier) ++log2;
    if (r - 1 - log2 >= 0 && r - 1 - log2 < 31) {
      const int64_t tie = (int64_t)(2 * (i - count) + 1) * ((int64_t)1 << (r - 1 - log2));
      if (tie <= INT32_MAX) return (int32_t)((i % 2 == 0) ? tie : -tie);
    }
  }
  return (int32_t)(i * 2654435761u);
}

/* Compares one run of sums through lowbit_requantize_sums with the scalar rule. The sums' bound
 * is their largest magnitude, so runs whose bias cannot saturate take the plain-add path. */
static void check_run(const lowbit_requant_t* requant, int32_t bias, const int32_t* sums) {
  lowbit_channel_requant_t r;
  int64_t bound = 0;
  int8_t out[RUN];
  size_t i;
  for (i = 0; i < RUN; ++i) {
    const int64_t magnitude = sums[i] < 0 ? -(int64_t)sums[i] : (int64_t)sums[i];
    bound = magnitude > bound ? magnitude : bound;
  }
  r = lowbit_channel_requant(requant, 0, bias, bound);
  lowbit_requantize_sums(&r, sums, out, RUN);
  for (i = 0; i < RUN; ++i) {
    const int8_t expected =
        reference((int64_t)bias + sums[i], requant->multiplier[0], requant->shift[0],
                  requant->output_zero_point, requant->act_min, requant->act_max);
    ++g_checks;
    if (out[i] != expected) {
      ++g_failures;
      printf(
          "MISMATCH sums: bias %ld sum %ld multiplier %ld shift %ld zp %ld clamp [%ld, %ld]: "
          "expected %d, got %d\n",
          (long)bias, (long)sums[i], (long)requant->multiplier[0], (long)requant->shift[0],
          (long)requant->output_zero_point, (long)requant->act_min, (long)requant->act_max,
          expected, out[i]);
    }
  }
}

#if LOWBIT_SSE2
/* Four channels at once, as the fully connected kernel requantizes them. */
static void check_lanes(const int32_t* multiplier, const int32_t* shift, const int32_t* acc,
                        int32_t zero_point, int32_t act_min, int32_t act_max) {
  lowbit_requant_t requant;
  lowbit_sse2_requant_t q;
  int8_t out[4];
  int j;
  requant.multiplier = multiplier;
  requant.shift = shift;
  requant.count = 4;
  requant.output_zero_point = zero_point;
  requant.act_min = act_min;
  requant.act_max = act_max;
  q = lowbit_sse2_requant(&requant, 0);
  q.multiplier = _mm_set_epi32(multiplier[3], multiplier[2], multiplier[1], multiplier[0]);
  for (j = 0; j < 4; ++j) q.count[j] = _mm_cvtsi32_si128(30 - shift[j]);
  {
    const __m128i a = _mm_set_epi32(acc[3], acc[2], acc[1], acc[0]);
    const __m128i y = lowbit_sse2_scale(a, &q, 0);
    lowbit_sse2_store4(out, lowbit_sse2_finish(y, y, &q));
  }
  for (j = 0; j < 4; ++j) {
    const int8_t expected =
        reference(acc[j], multiplier[j], shift[j], zero_point, act_min, act_max);
    ++g_checks;
    if (out[j] != expected) {
      ++g_failures;
      printf("MISMATCH lanes: lane %d acc %ld multiplier %ld shift %ld: expected %d, got %d\n", j,
             (long)acc[j], (long)multiplier[j], (long)shift[j], expected, out[j]);
    }
  }
}
#endif

int main(void) {
  static const int32_t multipliers[] = {0, 1, 1 << 30, INT32_MAX, 1518500250, 1073741825};
  static const int32_t biases[] = {0, 1, -1000, INT32_MAX, INT32_MIN, 1 << 30, -(1 << 30)};
  static const int32_t clamps[][3] = {{0, -128, 127}, {-128, -128, 127}, {5, 5, 127}, {-3, -3, 3}};
  uint32_t state = 12345u;
  size_t m;
  size_t b;
  size_t c;
  int32_t shift;
  int trial;
  for (m = 0; m < sizeof(multipliers) / sizeof(multipliers[0]); ++m) {
    for (shift = LOWBIT_SHIFT_MIN; shift <= LOWBIT_SHIFT_MAX; ++shift) {
      for (b = 0; b < sizeof(biases) / sizeof(biases[0]); ++b) {
        for (c = 0; c < sizeof(clamps) / sizeof(clamps[0]); ++c) {
          lowbit_requant_t requant;
          int32_t sums[RUN];
          size_t i;
          size_t run;
          requant.multiplier = &multipliers[m];
          requant.shift = &shift;
          requant.count = 1;
          requant.output_zero_point = clamps[c][0];
          requant.act_min = clamps[c][1];
          requant.act_max = clamps[c][2];
          for (run = 0; run < 3; ++run) {
            for (i = 0; i < RUN; ++i) sums[i] = edge_sum(run * RUN + i, multipliers[m], shift);
            check_run(&requant, biases[b], sums);
          }
        }
      }
    }
  }
  /* Random parameters and sums, narrow and wide. */
  for (trial = 0; trial < 20000; ++trial) {
    const int32_t multiplier = (int32_t)(next_random(&state) >> 1);
    int32_t random_shift = (int32_t)(next_random(&state) % 62u) - 31;
    const int32_t zero_point = (int32_t)(next_random(&state) % 256u) - 128;
    const int32_t bias = (int32_t)next_random(&state) >> (next_random(&state) % 32u);
    const uint32_t width = next_random(&state) % 32u;
    lowbit_requant_t requant;
    int32_t sums[RUN];
    size_t i;
    requant.multiplier = &multiplier;
    requant.shift = &random_shift;
    requant.count = 1;
    requant.output_zero_point = zero_point;
    requant.act_min = trial % 2 == 0 ? -128 : zero_point;
    requant.act_max = 127;
    for (i = 0; i < RUN; ++i) sums[i] = (int32_t)next_random(&state) >> width;
    check_run(&requant, bias, sums);
  }
#if LOWBIT_SSE2
  for (trial = 0; trial < 100000; ++trial) {
    int32_t multiplier[4];
    int32_t lane_shift[4];
    int32_t acc[4];
    int j;
    for (j = 0; j < 4; ++j) {
      multiplier[j] =
          trial % 7 == 0 ? (int32_t)(j * (INT32_MAX / 3)) : (int32_t)(next_random(&state) >> 1);
      lane_shift[j] = (int32_t)(next_random(&state) % 62u) - 31;
      acc[j] = trial % 5 == 0 ? (j % 2 == 0 ? INT32_MIN : INT32_MAX)
                              : (int32_t)next_random(&state) >> (next_random(&state) % 32u);
    }
    check_lanes(multiplier, lane_shift, acc, (int32_t)(trial % 256) - 128, -128, 127);
  }
#endif
  printf("%lu checks, %lu mismatches (%s)\n", g_checks, g_failures,
         LOWBIT_SSE2 ? "SSE2 kernels" : "portable kernels");
  return g_failures == 0 ? 0 : 1;
}
