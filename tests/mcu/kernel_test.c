/* Checks every runtime/mcu kernel against a plain C reference written from lowbit_mcu.h:
 * lowbit_mcu_fc_sums_b1/b2/b4/b8 over random shapes (n_out not a multiple of the codes per byte,
 * aligned and unaligned weights, inputs at skip and at skip + 255, all-maximal fields, enough
 * nonzero inputs to pass every lane flush), and lowbit_mcu_requant / _c16 over edge and random
 * cases (ties, clamps, m == 1, per-channel, step 0 and 1, |a| * m up to 2^31 - 1), and
 * lowbit_mcu_dynshift (tiny sums that shift left, sums up to 2^31 - 1, relu beside large
 * negatives, ties, code_max 1..127, constants or none), and lowbit_mcu_conv (random geometry:
 * kernels, strides, asymmetric padding, pools with their own stride and padding, every field
 * width, padding values apart from skip) and lowbit_mcu_conv_depthwise against the convolution
 * written out.
 *
 * Freestanding: no C library. The platform gives lowbit_test_write (host: host_io.c; qemu-user:
 * the start-up file), so the same file runs on the build machine and on every MCU target.
 * Prints every mismatch as "MISMATCH <kernel> case <n> ...", then "<N> passed, <M> failed";
 * main returns 1 on any mismatch. */
#include "lowbit_mcu.h"

/* Writes n bytes to standard output. */
int lowbit_test_write(const char* text, int n);
int main(void);

#define MAX_IN 700
#define MAX_OUT 72
#define GUARD 8
#define GUARD_WORD 0x5A5A5A5Au

static uint8_t weights[MAX_IN * MAX_OUT + 8];
static int8_t inputs[MAX_IN];
static int32_t sums[MAX_OUT + GUARD];
static int32_t expected[MAX_OUT];
static uint32_t work[LOWBIT_MCU_FC_WORK_WORDS(MAX_OUT, 1) + GUARD];
static int32_t req_sums[MAX_OUT];
static int32_t req_c32[MAX_OUT];
static int16_t req_c16[MAX_OUT];
static int32_t req_m[MAX_OUT];
static uint8_t req_r[MAX_OUT];
static int8_t req_y[MAX_OUT + GUARD];
static int8_t req_expected[MAX_OUT];

static uint32_t rng_state = 0x12345678u;
static uint32_t passed, failed;

static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

/* Uniform in [0, n) for n >= 1 (modulo bias is irrelevant here). */
static uint32_t below(uint32_t n) {
  return rng() % n;
}

/* Counts a case as failed when it printed mismatches. */
static void tally(uint32_t bad) {
  if (bad != 0u) {
    ++failed;
  } else {
    ++passed;
  }
}

static void put(const char* text) {
  int n = 0;
  while (text[n] != 0) ++n;
  lowbit_test_write(text, n);
}

static void put_int(int64_t value) {
  char digits[24];
  int n = 0;
  uint64_t v = value < 0 ? 0u - (uint64_t)value : (uint64_t)value;
  if (value < 0) put("-");
  do {
    digits[n++] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0u);
  while (n > 0) lowbit_test_write(&digits[--n], 1);
}

/* ---- fully connected sums ---- */

typedef int32_t (*sums_fn)(const int8_t*, uint32_t, int32_t, const uint8_t*, uint32_t, int32_t*,
                           uint32_t*);

/* How a case draws its inputs. */
enum { kRandom, kHalfZero, kAllMax, kAllZero, kSparse };

static int32_t reference_sums(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, uint32_t bits, int32_t* out) {
  const uint32_t row = (n_out * bits + 7u) / 8u;
  const uint32_t mask = (1u << bits) - 1u;
  int64_t total = 0;
  uint32_t i, j;
  for (j = 0; j < n_out; ++j) {
    int64_t s = 0;
    for (i = 0; i < n_in; ++i) {
      const uint32_t bit = j * bits;
      s +=
          (int64_t)((int32_t)x[i] - skip) * (int64_t)((w[i * row + bit / 8u] >> (bit % 8u)) & mask);
    }
    out[j] = (int32_t)s;
  }
  for (i = 0; i < n_in; ++i) total += (int32_t)x[i] - skip;
  return (int32_t)total;
}

static void sums_mismatch(uint32_t bits, uint32_t number, uint32_t n_in, uint32_t n_out,
                          int32_t skip, uint32_t offset, const char* what, int64_t want,
                          int64_t got) {
  put("MISMATCH fc_sums_b");
  put_int(bits);
  put(" case ");
  put_int(number);
  put(" (n_in ");
  put_int(n_in);
  put(", n_out ");
  put_int(n_out);
  put(", skip ");
  put_int(skip);
  put(", weights at +");
  put_int(offset);
  put(") ");
  put(what);
  put(": expected ");
  put_int(want);
  put(", got ");
  put_int(got);
  put("\n");
}

static void sums_case(sums_fn fn, uint32_t bits, uint32_t number, uint32_t n_in, uint32_t n_out,
                      int mode, uint32_t offset) {
  const uint32_t cpb = 8u / bits;
  const uint32_t row = (n_out + cpb - 1u) / cpb;
  const uint32_t n_sums = LOWBIT_MCU_FC_SUMS_WORDS(n_out, bits);
  /* Cores with a multiplier must stay within the smaller bound the exporter may give them. */
  const uint32_t n_work = LOWBIT_MCU_TABLE_KERNELS ? LOWBIT_MCU_FC_WORK_WORDS(n_out, bits)
                                                   : LOWBIT_MCU_FC_WORK_WORDS_MUL(n_out, bits);
  /* kAllMax: d = 255 and every field at its maximum, the largest sums the lanes must carry. */
  const int32_t skip = mode == kAllMax ? -128 : (int32_t)below(256u) - 128;
  const uint32_t span = (uint32_t)(127 - skip); /* largest d */
  uint8_t* const w = weights + offset;
  uint32_t i, j, bad = 0;
  int32_t total, want_total;
  for (i = 0; i < n_in; ++i) {
    uint32_t d;
    switch (mode) {
      case kHalfZero:
        d = below(2u) ? 0u : below(span + 1u);
        break;
      case kAllMax:
        d = span;
        break;
      case kAllZero:
        d = 0u;
        break;
      case kSparse:
        d = below(8u) == 0u ? below(span + 1u) : 0u;
        break;
      default:
        d = below(4u) == 0u ? span : below(span + 1u);
        break;
    }
    inputs[i] = (int8_t)(skip + (int32_t)d);
    for (j = 0; j < row; ++j) {
      uint32_t byte = mode == kAllMax ? 0xFFu : rng() & 0xFFu;
      const uint32_t used = (n_out - j * cpb) * bits; /* bits of real fields in this byte */
      if (used < 8u) byte &= (1u << used) - 1u;       /* padding fields are 0 */
      w[i * row + j] = (uint8_t)byte;
    }
  }
  for (j = 0; j < MAX_OUT + GUARD; ++j) sums[j] = (int32_t)GUARD_WORD;
  for (j = 0; j < n_work + GUARD; ++j) work[j] = GUARD_WORD;
  want_total = reference_sums(inputs, n_in, skip, w, n_out, bits, expected);
  total = fn(inputs, n_in, skip, w, n_out, sums, work);
  if (total != want_total) {
    sums_mismatch(bits, number, n_in, n_out, skip, offset, "D", want_total, total);
    ++bad;
  }
  for (j = 0; j < n_out; ++j) {
    if (sums[j] != expected[j] && bad < 8u) {
      sums_mismatch(bits, number, n_in, n_out, skip, offset, "S_j", expected[j], sums[j]);
      put("  at output ");
      put_int(j);
      put("\n");
      ++bad;
    }
  }
  for (j = n_sums; j < n_sums + GUARD; ++j) {
    if (sums[j] != (int32_t)GUARD_WORD) {
      sums_mismatch(bits, number, n_in, n_out, skip, offset, "write past the sums", 0, j);
      ++bad;
      break;
    }
  }
  for (j = n_work; j < n_work + GUARD; ++j) {
    if (work[j] != GUARD_WORD) {
      sums_mismatch(bits, number, n_in, n_out, skip, offset, "write past the work", 0, j);
      ++bad;
      break;
    }
  }
  tally(bad);
}

static void sums_kernel(sums_fn fn, uint32_t bits) {
  static const uint32_t outs[] = {1, 2, 3, 5, 7, 8, 9, 10, 15, 16, 17, 31, 33, 63, 64, 72};
  static const uint32_t ins[] = {0, 1, 2, 16, 17, 18, 33, 85, 86, 257, 258, 700};
  uint32_t number = 0, a, b;
  const uint32_t cap = bits == 8u ? 33025u : 700u;
  for (a = 0; a < sizeof(outs) / sizeof(outs[0]); ++a) {
    for (b = 0; b < sizeof(ins) / sizeof(ins[0]); ++b) {
      const uint32_t n_in = ins[b] < cap ? ins[b] : cap;
      const int mode = (int)((a + b) % 5u);
      /* Alternate aligned and unaligned weights (the byte path on multiplier cores). */
      sums_case(fn, bits, number++, n_in, outs[a], mode, (a + b) % 3u == 0u ? 1u : 0u);
      if (ins[b] == 700u) sums_case(fn, bits, number++, n_in, outs[a], kAllMax, 0u);
    }
  }
  for (a = 0; a < 60u; ++a) {
    const uint32_t n_out = 1u + below(MAX_OUT);
    const uint32_t n_in = below(MAX_IN + 1u);
    sums_case(fn, bits, number++, n_in, n_out, (int)below(5u), below(4u));
  }
}

/* ---- requantization ---- */

static int8_t reference_requant(int64_t a, int64_t m, uint32_t r, int32_t zp, int32_t lo,
                                int32_t hi) {
  const int64_t p = a * m;
  const int64_t magnitude = ((p < 0 ? -p : p) + ((int64_t)1 << (r - 1u))) >> r;
  int64_t q = (p < 0 ? -magnitude : magnitude) + zp;
  if (q < lo) q = lo;
  if (q > hi) q = hi;
  return (int8_t)q;
}

/* A multiplier with few set bits (as the exporter makes them), sometimes 1 or large. */
static int32_t draw_m(void) {
  uint32_t m = 0, k;
  switch (below(6u)) {
    case 0:
      return 1;
    case 1:
      return (int32_t)(rng() >> 1 | 1u);
    default:
      for (k = 1u + below(7u); k > 0u; --k) m |= 1u << below(12u);
      return (int32_t)(m | 1u);
  }
}

static void requant_case(uint32_t number, uint32_t n, int use_c16) {
  const uint32_t per_channel = below(2u);
  const uint32_t step = below(2u);
  const int32_t zp = (int32_t)below(256u) - 128;
  int32_t lo = (int32_t)below(256u) - 128, hi = (int32_t)below(256u) - 128;
  int32_t base_d = 0;
  uint32_t j, bad = 0;
  if (lo > hi) {
    const int32_t t = lo;
    lo = hi;
    hi = t;
  }
  if (below(4u) == 0u) lo = -128, hi = 127;
  for (j = 0; j < n; ++j) {
    req_m[j] = draw_m();
    req_r[j] = (uint8_t)(1u + below(31u));
  }
  if (below(3u) != 0u) base_d = -(int32_t)below(1u << 20);
  for (j = 0; j < n; ++j) {
    const uint32_t k = per_channel ? j : 0u;
    /* |a| * m < 2^31: draw a below the limit, sometimes right at it. */
    const int64_t limit = (((int64_t)1 << 31) - 1) / req_m[k];
    int64_t a, s, c, rest;
    switch (below(4u)) {
      case 0:
        a = limit;
        break;
      case 1:
        a = -limit;
        break;
      case 2:
        a = (int64_t)(rng() % (uint32_t)(limit < 2000 ? limit + 1 : 2001)) - 1000;
        break;
      default:
        a = (int64_t)(rng() % (uint32_t)(2 * limit + 1)) - limit;
        break;
    }
    if (req_r[k] > 1u && below(4u) == 0u) { /* an exact tie when m == 1 */
      a = (int64_t)((int32_t)below(100u) - 50) * ((int64_t)1 << req_r[k]) +
          ((int64_t)1 << (req_r[k] - 1u));
    }
    if (a > limit) a = limit;
    if (a < -limit) a = -limit;
    /* Split a = c + base_d + (s << step), s >= 0 as a kernel makes it, c an int16 or int32
     * constant; a stays in [-limit, limit] (a below base_d - 32768 is raised to it, which is
     * still >= -limit whenever it changes anything). */
    if (a < (int64_t)base_d - 32768) a = (int64_t)base_d - 32768;
    rest = a - base_d;
    c = use_c16 ? (int64_t)below(65535u) - 32768 : (int64_t)below(1u << 25) - (1 << 24);
    if (rest < c) c = rest;
    s = (rest - c) >> step;
    if (s > 0x7FFFFFFF) s = 0x7FFFFFFF;
    c = rest - (s << step);
    if (use_c16 && c > 32767) {
      c = 32767;
      a = c + base_d + (s << step);
    }
    req_sums[j] = (int32_t)s;
    req_c32[j] = (int32_t)c;
    req_c16[j] = (int16_t)c;
    req_expected[j] = reference_requant(a, req_m[k], req_r[k], zp, lo, hi);
  }
  for (j = 0; j < MAX_OUT + GUARD; ++j) req_y[j] = 0x5A;
  if (use_c16) {
    lowbit_mcu_requant_c16(req_sums, n, req_c16, base_d, step, req_m, req_r, per_channel, zp, lo,
                           hi, req_y);
  } else {
    lowbit_mcu_requant(req_sums, n, req_c32, base_d, step, req_m, req_r, per_channel, zp, lo, hi,
                       req_y);
  }
  for (j = 0; j < n + GUARD; ++j) {
    const int want = j < n ? req_expected[j] : 0x5A;
    if (req_y[j] != want && bad < 8u) {
      const uint32_t k = per_channel ? j : 0u;
      put(use_c16 ? "MISMATCH requant_c16 case " : "MISMATCH requant case ");
      put_int(number);
      put(" index ");
      put_int(j);
      put(" (m ");
      put_int(req_m[k]);
      put(", r ");
      put_int(req_r[k]);
      put(", step ");
      put_int(step);
      put(", zp ");
      put_int(zp);
      put(", clamp ");
      put_int(lo);
      put("..");
      put_int(hi);
      put("): expected ");
      put_int(want);
      put(", got ");
      put_int(req_y[j]);
      put("\n");
      ++bad;
    }
  }
  tally(bad);
}

/* ---- per-sample shift ---- */

/* The dynshift rule from its definition: s the smallest integer with m < (code_max + 1) * 2^s,
 * codes floor((a + 2^(s-1)) / 2^s) or a * 2^-s, clamped. */
static void reference_dynshift(const int64_t* a, uint32_t n, int32_t code_max, uint32_t relu,
                               int8_t* y) {
  int64_t m = 0, q;
  int32_t s = -8;
  uint32_t j;
  for (j = 0; j < n; ++j) {
    const int64_t v = relu ? a[j] : (a[j] < 0 ? -a[j] : a[j]);
    if (v > m) m = v;
  }
  if (m == 0) {
    s = 0;
  } else {
    /* m * 2^-s < code_max + 1, tried from s = -8 upwards (m >= 1 holds for s = -7 at most). */
    while (s < 0 ? (m << -s) >= (int64_t)code_max + 1 : m >= ((int64_t)code_max + 1) << s) ++s;
  }
  for (j = 0; j < n; ++j) {
    if (s > 0) {
      const int64_t t = a[j] + ((int64_t)1 << (s - 1));
      const int64_t d = (int64_t)1 << s;
      q = t >= 0 ? t / d : -((-t + d - 1) / d);
    } else {
      q = a[j] * ((int64_t)1 << -s);
    }
    if (q > code_max) q = code_max;
    if (q < (relu ? 0 : -code_max)) q = relu ? 0 : -code_max;
    y[j] = (int8_t)q;
  }
}

static int64_t dyn_a[MAX_OUT];

static void dynshift_case(uint32_t number, uint32_t n) {
  const uint32_t relu = below(2u);
  const uint32_t step = below(2u);
  const int32_t code_max = below(4u) == 0u ? 127 : 1 + (int32_t)below(127u);
  const int use_c = (int)below(2u);
  /* |a| <= limit < 2^31: tiny sums (left shifts), about 2^12, 2^24, or up to 2^31 - 1. */
  const uint32_t scale = below(4u);
  const int64_t limit = scale == 0u   ? 200
                        : scale == 1u ? 4096
                        : scale == 2u ? (int64_t)1 << 24
                                      : 0x7FFFFFFF;
  /* a = c + base_d + (t << step), t >= 0 as a kernel's sums are: |c|, |base_d| <= limit / 4,
   * t << step <= limit / 2. */
  const int32_t base_d = use_c ? -(int32_t)below((uint32_t)(limit / 4) + 1u) : 0;
  const uint32_t t_max = (uint32_t)((limit / 2) >> step);
  const int64_t c_max = limit / 4;
  uint32_t j, bad = 0;
  for (j = 0; j < n; ++j) {
    const int64_t t = (int64_t)(rng() % (t_max + 1u));
    int64_t c = use_c ? (int64_t)(rng() % (uint32_t)(2 * c_max + 1)) - c_max : 0;
    if (use_c && relu && below(8u) == 0u) c = -c_max; /* far below the largest sum */
    req_sums[j] = (int32_t)t;
    req_c32[j] = (int32_t)c;
    dyn_a[j] = c + base_d + (t << step);
  }
  reference_dynshift(dyn_a, n, code_max, relu, req_expected);
  for (j = 0; j < MAX_OUT + GUARD; ++j) req_y[j] = 0x5A;
  lowbit_mcu_dynshift(req_sums, n, use_c ? req_c32 : 0, base_d, step, code_max, relu, req_y);
  for (j = 0; j < n + GUARD; ++j) {
    const int want = j < n ? req_expected[j] : 0x5A;
    if (req_y[j] != want && bad < 8u) {
      put("MISMATCH dynshift case ");
      put_int(number);
      put(" index ");
      put_int(j);
      put(" (a ");
      put_int(j < n ? dyn_a[j] : 0);
      put(", code_max ");
      put_int(code_max);
      put(", relu ");
      put_int(relu);
      put("): expected ");
      put_int(want);
      put(", got ");
      put_int(req_y[j]);
      put("\n");
      ++bad;
    }
  }
  tally(bad);
}

/* ---- convolution ---- */

#define CONV_MAX_CH 16
#define CONV_MAX_SIDE 9
#define CONV_MAX_OUT 33
#define CONV_MAX_IN (CONV_MAX_CH * 9)

static int8_t conv_x[CONV_MAX_CH * CONV_MAX_SIDE * CONV_MAX_SIDE];
static int8_t conv_y[CONV_MAX_OUT * CONV_MAX_SIDE * CONV_MAX_SIDE + GUARD];
static int8_t conv_want[CONV_MAX_OUT * CONV_MAX_SIDE * CONV_MAX_SIDE];
static int32_t conv_c[CONV_MAX_OUT];
static int32_t conv_m[CONV_MAX_OUT];
static uint8_t conv_r[CONV_MAX_OUT];
static uint8_t conv_scratch[LOWBIT_MCU_CONV_SCRATCH_BYTES(CONV_MAX_IN, CONV_MAX_OUT, 1) + GUARD];
static int64_t conv_best[CONV_MAX_OUT];

static sums_fn sums_for(uint32_t bits) {
  switch (bits) {
    case 1u:
      return lowbit_mcu_fc_sums_b1;
    case 2u:
      return lowbit_mcu_fc_sums_b2;
    case 4u:
      return lowbit_mcu_fc_sums_b4;
    default:
      return lowbit_mcu_fc_sums_b8;
  }
}

/* a_j of conv output (cy, cx), straight from the definition: c_j + sum_i (v_i - skip) w_ij with
 * v_i the input under tap i (in_zp outside) and w_ij = base + 2^step * f_ij. */
static int64_t reference_conv_a(const lowbit_mcu_conv_t* l, int depthwise, uint32_t cy, uint32_t cx,
                                uint32_t j) {
  const uint32_t row = ((uint32_t)l->out_channels * l->bits + 7u) / 8u;
  const uint32_t mask = (1u << l->bits) - 1u;
  int64_t a = l->constants[j];
  uint32_t c, ky, kx;
  for (c = depthwise ? j : 0u; c < (depthwise ? j + 1u : l->in_channels); ++c) {
    for (ky = 0; ky < l->kernel_h; ++ky) {
      for (kx = 0; kx < l->kernel_w; ++kx) {
        const int32_t iy = (int32_t)(cy * l->stride_h + ky) - (int32_t)l->pad_top;
        const int32_t ix = (int32_t)(cx * l->stride_w + kx) - (int32_t)l->pad_left;
        /* A depthwise channel's rows are its taps alone. */
        const uint32_t i = ((depthwise ? 0u : c) * l->kernel_h + ky) * l->kernel_w + kx;
        const uint32_t bit = j * l->bits;
        const int64_t f = (l->columns[i * row + bit / 8u] >> (bit % 8u)) & mask;
        const int32_t v =
            iy < 0 || iy >= (int32_t)l->in_height || ix < 0 || ix >= (int32_t)l->in_width
                ? l->in_zp
                : conv_x[(c * l->in_height + (uint32_t)iy) * l->in_width + (uint32_t)ix];
        a += (int64_t)(v - l->skip) * (l->base + f * ((int64_t)1 << l->step_shift));
      }
    }
  }
  return a;
}

/* One dimension of a conv or pool window over `in` values: size 1..3, stride 1..2, padding 0..
 * size - 1 before and after (more after where the input is shorter than one window), or the
 * `fixed` {size, stride, before, after}. Returns the number of windows. */
static uint16_t draw_window(uint32_t in, const uint8_t* fixed, uint8_t* size, uint8_t* stride,
                            uint8_t* before) {
  uint32_t after;
  *size = (uint8_t)(fixed ? fixed[0] : 1u + below(3u));
  *stride = (uint8_t)(fixed ? fixed[1] : 1u + below(2u));
  *before = (uint8_t)(fixed ? fixed[2] : below(*size));
  after = fixed ? fixed[3] : below(*size);
  while (in + *before + after < *size) ++after;
  return (uint16_t)((in + *before + after - *size) / *stride + 1u);
}

/* A random convolution: kernel 1..3, stride 1..2, asymmetric padding, a pool or none (with its
 * own stride and padding), 1..CONV_MAX_OUT channels at every field width, half of the inputs at
 * skip; `large` gives the 16 -> 32 channel 3x3 shape of the cnn_mcu recipes. */
static void conv_case(uint32_t number, int large, int depthwise) {
  lowbit_mcu_conv_t l;
  const uint32_t bits = 1u << below(4u);
  const uint32_t offset = below(2u);
  uint32_t n_in, row, i, j, py, px, bad = 0, stored, scratch_bytes;
  int64_t largest_w, largest_a;
  l.in_channels = (uint16_t)(large ? 16u : 1u + below(depthwise ? CONV_MAX_CH : 5u));
  l.in_height = (uint16_t)(large ? 8u : 1u + below(CONV_MAX_SIDE));
  l.in_width = (uint16_t)(large ? 8u : 1u + below(CONV_MAX_SIDE));
  l.out_channels = (uint16_t)(depthwise ? l.in_channels : large ? 32u : 1u + below(CONV_MAX_OUT));
  {
    /* The recipes' shape: 3x3 conv, stride 1, padding 1; 2x2 pool, stride 2, none. */
    static const uint8_t conv_3x3[4] = {3u, 1u, 1u, 1u};
    static const uint8_t pool_2x2[4] = {2u, 2u, 0u, 0u};
    l.out_height =
        draw_window(l.in_height, large ? conv_3x3 : 0, &l.kernel_h, &l.stride_h, &l.pad_top);
    l.out_width =
        draw_window(l.in_width, large ? conv_3x3 : 0, &l.kernel_w, &l.stride_w, &l.pad_left);
    if (large || below(2u) == 0u) {
      l.pooled_height = draw_window(l.out_height, large ? pool_2x2 : 0, &l.pool_h, &l.pool_stride_h,
                                    &l.pool_pad_top);
      l.pooled_width = draw_window(l.out_width, large ? pool_2x2 : 0, &l.pool_w, &l.pool_stride_w,
                                   &l.pool_pad_left);
    } else {
      l.pool_h = l.pool_w = l.pool_stride_h = l.pool_stride_w = 1u;
      l.pool_pad_top = l.pool_pad_left = 0u;
      l.pooled_height = l.out_height;
      l.pooled_width = l.out_width;
    }
  }
  l.bits = (uint8_t)bits;
  l.sums = sums_for(bits);
  l.step_shift = (uint8_t)below(2u);
  l.base = (int16_t)(l.step_shift ? -(int32_t)((1u << bits) - 1u) : -(int32_t)(1u << (bits - 1u)));
  l.per_channel = (uint8_t)below(2u);
  l.skip = (int16_t)((int32_t)below(129u) - 128);
  l.in_zp = (int16_t)(l.skip + (int32_t)below(100u));
  l.zp = (int16_t)((int32_t)below(256u) - 128);
  l.lo = (int16_t)((int32_t)below(128u) - 128);
  l.hi = (int16_t)(l.lo + (int32_t)below((uint32_t)(128 - l.lo)));
  n_in = (depthwise ? 1u : (uint32_t)l.in_channels) * l.kernel_h * l.kernel_w;
  row = ((uint32_t)l.out_channels * bits + 7u) / 8u;
  for (i = 0; i < n_in * row; ++i) {
    const uint32_t used = (l.out_channels - (i % row) * (8u / bits)) * bits;
    weights[offset + i] = (uint8_t)(used < 8u ? rng() & ((1u << used) - 1u) : rng() & 0xFFu);
  }
  l.columns = weights + offset;
  for (i = 0; i < (uint32_t)l.in_channels * l.in_height * l.in_width; ++i) {
    conv_x[i] = (int8_t)(below(2u) ? l.skip : l.skip + (int32_t)below((uint32_t)(128 - l.skip)));
  }
  /* Multipliers small enough for |a| * m < 2^31 at the largest reachable |a|. */
  largest_w = l.step_shift ? (int64_t)(1u << bits) - 1 : (int64_t)(1u << (bits - 1u));
  largest_a = 5000 + (int64_t)n_in * 255 * largest_w;
  for (j = 0; j < l.out_channels; ++j) {
    int64_t m = draw_m();
    while (m > 1 && m * largest_a >= ((int64_t)1 << 31)) m >>= 1;
    conv_c[j] = (int32_t)below(10001u) - 5000;
    conv_m[j] = (int32_t)m;
    conv_r[j] = (uint8_t)(4u + below(20u));
  }
  l.constants = conv_c;
  l.m = conv_m;
  l.r = conv_r;
  stored = (uint32_t)l.pooled_height * l.pooled_width;
  for (py = 0; py < l.pooled_height; ++py) {
    for (px = 0; px < l.pooled_width; ++px) {
      for (j = 0; j < l.out_channels; ++j) {
        const uint32_t k = l.per_channel ? j : 0u;
        int first = 1;
        uint32_t wy, wx;
        for (wy = 0; wy < l.pool_h; ++wy) {
          for (wx = 0; wx < l.pool_w; ++wx) {
            const int32_t cy = (int32_t)(py * l.pool_stride_h + wy) - (int32_t)l.pool_pad_top;
            const int32_t cx = (int32_t)(px * l.pool_stride_w + wx) - (int32_t)l.pool_pad_left;
            int64_t a;
            if (cy < 0 || cy >= (int32_t)l.out_height || cx < 0 || cx >= (int32_t)l.out_width) {
              continue;
            }
            a = reference_conv_a(&l, depthwise, (uint32_t)cy, (uint32_t)cx, j);
            if (first || a > conv_best[j]) conv_best[j] = a;
            first = 0;
          }
        }
        conv_want[j * stored + py * l.pooled_width + px] =
            reference_requant(conv_best[j], conv_m[k], conv_r[k], l.zp, l.lo, l.hi);
      }
    }
  }
  for (i = 0; i < sizeof(conv_y); ++i) conv_y[i] = (int8_t)0x5A;
  for (i = 0; i < sizeof(conv_scratch); ++i) conv_scratch[i] = 0x5Au;
  if (depthwise) {
    scratch_bytes =
        LOWBIT_MCU_CONV_DEPTHWISE_SCRATCH_BYTES(l.kernel_h, l.kernel_w, l.out_height, l.out_width);
    l.sums = 0;
    lowbit_mcu_conv_depthwise(&l, conv_x, conv_y, conv_scratch);
  } else {
    scratch_bytes = LOWBIT_MCU_CONV_SCRATCH_BYTES(n_in, l.out_channels, bits);
    lowbit_mcu_conv(&l, conv_x, conv_y, conv_scratch);
  }
  for (i = 0; i < l.out_channels * stored + GUARD; ++i) {
    const int32_t want = i < l.out_channels * stored ? conv_want[i] : 0x5A;
    if (conv_y[i] != want && bad < 8u) {
      put(depthwise ? "MISMATCH depthwise conv case " : "MISMATCH conv case ");
      put_int(number);
      put(" (bits ");
      put_int(bits);
      put(", ");
      put_int(l.in_channels);
      put("x");
      put_int(l.in_height);
      put("x");
      put_int(l.in_width);
      put(" -> ");
      put_int(l.out_channels);
      put("x");
      put_int(l.pooled_height);
      put("x");
      put_int(l.pooled_width);
      put(") output ");
      put_int(i);
      put(": expected ");
      put_int(want);
      put(", got ");
      put_int(conv_y[i]);
      put("\n");
      ++bad;
    }
  }
  for (i = scratch_bytes; i < sizeof(conv_scratch); ++i) {
    if (conv_scratch[i] != 0x5Au) {
      put("MISMATCH conv case ");
      put_int(number);
      put(": write past the scratch at byte ");
      put_int(i);
      put("\n");
      ++bad;
      break;
    }
  }
  tally(bad);
}

int main(void) {
  uint32_t k;
  sums_kernel(lowbit_mcu_fc_sums_b1, 1u);
  sums_kernel(lowbit_mcu_fc_sums_b2, 2u);
  sums_kernel(lowbit_mcu_fc_sums_b4, 4u);
  sums_kernel(lowbit_mcu_fc_sums_b8, 8u);
  for (k = 0; k < 400u; ++k) requant_case(k, 1u + below(MAX_OUT), (int)(k & 1u));
  for (k = 0; k < 400u; ++k) dynshift_case(k, 1u + below(MAX_OUT));
  for (k = 0; k < 300u; ++k) conv_case(k, k % 50u == 0u, 0);
  for (k = 0; k < 200u; ++k) conv_case(300u + k, k % 50u == 0u, 1);
  put_int(passed);
  put(" passed, ");
  put_int(failed);
  put(" failed\n");
  return failed != 0u ? 1 : 0;
}
