/* Golden-vector and argument-check tests of the lowbit C runtime (zero tolerance).
 *
 * Every golden case is one test; every argument-check scenario is one test. Each mismatching
 * element is printed as "MISMATCH <op> case <n> (<name>) index <i>: expected <e>, got <g>" and
 * the program ends with "<N> passed, <M> failed", exiting non-zero when M > 0. */
#include <stdio.h>
#include <string.h>

#include "golden_vectors.h"
#include "lowbit_runtime.h"

/** Elements of a static array. */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/** Size of the shared output buffers; every golden case fits with room for the guard. */
#define BUFFER_LEN 8192
/** Value written around outputs to catch writes past the documented size. */
#define GUARD ((int8_t)0x5A)

static unsigned g_passed;
static unsigned g_failed;
static int8_t g_out[BUFFER_LEN];
static int8_t g_scratch[BUFFER_LEN];
static uint8_t g_packed[BUFFER_LEN];

/* Prints one mismatch and returns 1 so callers can count them. */
static int report(const char* op, size_t case_index, const char* name, size_t index, long expected,
                  long got) {
  printf("MISMATCH %s case %lu (%s) index %lu: expected %ld, got %ld\n", op,
         (unsigned long)case_index, name, (unsigned long)index, expected, got);
  return 1;
}

/* Compares n int8 outputs and checks the guard right after them; returns the mismatch count. */
static int compare_s8(const char* op, size_t case_index, const char* name, const int8_t* expected,
                      const int8_t* got, size_t n) {
  int bad = 0;
  size_t i;
  for (i = 0; i < n; ++i) {
    if (expected[i] != got[i]) bad += report(op, case_index, name, i, expected[i], got[i]);
  }
  if (got[n] != GUARD) bad += report(op, case_index, name, n, GUARD, got[n]);
  return bad;
}

/* Records one test result. */
static void record(int bad) {
  if (bad == 0) {
    ++g_passed;
  } else {
    ++g_failed;
  }
}

/* Fills the output buffer with the guard value. */
static void guard_output(void) {
  memset(g_out, GUARD, sizeof(g_out));
}

/* Compares a status with the expected one; returns the mismatch count. */
static int expect_status(const char* op, size_t case_index, const char* name,
                         lowbit_status_t expected, lowbit_status_t got) {
  if (expected == got) return 0;
  printf("MISMATCH %s case %lu (%s) status: expected %s, got %s\n", op, (unsigned long)case_index,
         name, lowbit_status_name(expected), lowbit_status_name(got));
  return 1;
}

static void test_requantize(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_requant_cases); ++k) {
    const golden_requant_case_t* c = &g_requant_cases[k];
    const int8_t got = lowbit_requantize(c->acc, c->multiplier, c->shift, c->output_zero_point,
                                         c->act_min, c->act_max);
    record(got == c->expected ? 0 : report("requantize", k, "table", 0, c->expected, got));
  }
}

static void test_activation_range(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_activation_cases); ++k) {
    const golden_activation_case_t* c = &g_activation_cases[k];
    int32_t lo = 0;
    int32_t hi = 0;
    int bad = expect_status(
        "activation_range", k, "table", LOWBIT_OK,
        lowbit_activation_range(c->activation, c->output_zero_point, c->upper_q, &lo, &hi));
    if (lo != c->act_min) bad += report("activation_range", k, "table", 0, c->act_min, lo);
    if (hi != c->act_max) bad += report("activation_range", k, "table", 1, c->act_max, hi);
    record(bad);
  }
}

static void test_format_traits(void) {
  int f;
  for (f = 0; f < (int)LOWBIT_FORMAT_COUNT; ++f) {
    const lowbit_format_traits_t* t = lowbit_format_traits((lowbit_format_t)f);
    int bad = 0;
    int32_t code;
    int32_t count = 0;
    if (t == NULL || t->format != (lowbit_format_t)f || t->bits * t->codes_per_byte != 8) {
      bad += report("format_traits", (size_t)f, "row", 0, 1, 0);
      record(bad);
      continue;
    }
    /* The table's range and the has_code predicate must describe exactly 2^bits codes. */
    for (code = -200; code <= 200; ++code) {
      if (lowbit_format_has_code((lowbit_format_t)f, code)) {
        ++count;
        if (code < t->code_min || code > t->code_max) {
          bad += report("format_traits", (size_t)f, t->name, 1, t->code_min, code);
        }
      }
    }
    if (count != (INT32_C(1) << t->bits)) {
      bad += report("format_traits", (size_t)f, t->name, 2, INT32_C(1) << t->bits, count);
    }
    if (!lowbit_format_has_code((lowbit_format_t)f, t->code_min) ||
        !lowbit_format_has_code((lowbit_format_t)f, t->code_max)) {
      bad += report("format_traits", (size_t)f, t->name, 3, 1, 0);
    }
    record(bad);
  }
  record(lowbit_format_traits(LOWBIT_FORMAT_COUNT) == NULL
             ? 0
             : report("format_traits", 99, "unknown format", 0, 0, 1));
}

static void test_pack(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_pack_cases); ++k) {
    const golden_pack_case_t* c = &g_pack_cases[k];
    const size_t n = c->rows * c->row_length;
    int bad = 0;
    size_t i;
    if (lowbit_packed_size(c->format, c->rows, c->row_length) != c->packed_size) {
      bad += report("packed_size", k, c->name, 0, (long)c->packed_size,
                    (long)lowbit_packed_size(c->format, c->rows, c->row_length));
    }
    memset(g_packed, 0xA5, sizeof(g_packed));
    bad += expect_status(
        "pack", k, c->name, LOWBIT_OK,
        lowbit_pack_weights(c->format, c->codes, c->rows, c->row_length, g_packed, c->packed_size));
    for (i = 0; i < c->packed_size; ++i) {
      if (g_packed[i] != c->packed[i])
        bad += report("pack", k, c->name, i, c->packed[i], g_packed[i]);
    }
    guard_output();
    bad += expect_status(
        "unpack", k, c->name, LOWBIT_OK,
        lowbit_unpack_weights(c->format, c->packed, c->packed_size, c->rows, c->row_length, g_out));
    bad += compare_s8("unpack", k, c->name, c->codes, g_out, n);
    record(bad);
  }
}

static void test_fully_connected(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_fc_cases); ++k) {
    const golden_fc_case_t* c = &g_fc_cases[k];
    int bad = 0;
    guard_output();
    const size_t scratch = lowbit_fc_scratch_size(&c->params);
    if (scratch != c->scratch_size) {
      bad += report("fc_scratch_size", k, c->name, 0, (long)c->scratch_size, (long)scratch);
    }
    /* Scratch at every offset mod 16: the kernel aligns it itself. */
    bad += expect_status(
        "fully_connected", k, c->name, LOWBIT_OK,
        lowbit_fully_connected_s8(&c->params, c->input, c->weights, c->weights_size, c->bias, g_out,
                                  g_scratch + k % 16, c->scratch_size));
    bad += compare_s8("fully_connected", k, c->name, c->expected, g_out, c->output_size);
    record(bad);
  }
}

static void test_conv2d(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_conv_cases); ++k) {
    const golden_conv_case_t* c = &g_conv_cases[k];
    size_t out_h = 0;
    size_t out_w = 0;
    const size_t scratch = lowbit_conv2d_scratch_size(&c->params);
    int bad = expect_status("conv2d_output_shape", k, c->name, LOWBIT_OK,
                            lowbit_conv2d_output_shape(&c->params, &out_h, &out_w));
    if (out_h != c->out_height)
      bad += report("conv2d", k, c->name, 0, (long)c->out_height, (long)out_h);
    if (out_w != c->out_width)
      bad += report("conv2d", k, c->name, 1, (long)c->out_width, (long)out_w);
    if (scratch != c->scratch_size) {
      bad += report("conv2d_scratch_size", k, c->name, 0, (long)c->scratch_size, (long)scratch);
    }
    guard_output();
    bad += expect_status("conv2d", k, c->name, LOWBIT_OK,
                         lowbit_conv2d_s8(&c->params, c->input, c->weights, c->weights_size,
                                          c->bias, g_out, g_scratch + k % 16, c->scratch_size));
    bad += compare_s8("conv2d", k, c->name, c->expected, g_out, c->output_size);
    record(bad);
  }
}

static void test_conv_max_pool(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_conv_pool_cases); ++k) {
    const golden_conv_pool_case_t* c = &g_conv_pool_cases[k];
    const size_t scratch = lowbit_conv2d_max_pool_scratch_size(&c->conv, &c->pool);
    int bad = 0;
    if (scratch != c->scratch_size) {
      bad += report("conv2d_max_pool_scratch_size", k, c->name, 0, (long)c->scratch_size,
                    (long)scratch);
    }
    guard_output();
    bad += expect_status(
        "conv2d_max_pool", k, c->name, LOWBIT_OK,
        lowbit_conv2d_max_pool_s8(&c->conv, &c->pool, c->input, c->weights, c->weights_size,
                                  c->bias, g_out, g_scratch + k % 16, c->scratch_size));
    bad += compare_s8("conv2d_max_pool", k, c->name, c->expected, g_out, c->output_size);
    record(bad);
  }
}

static void test_pool(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_pool_cases); ++k) {
    const golden_pool_case_t* c = &g_pool_cases[k];
    const char* op = c->is_max ? "max_pool" : "avg_pool";
    size_t out_h = 0;
    size_t out_w = 0;
    int bad = expect_status(op, k, c->name, LOWBIT_OK,
                            lowbit_pool_output_shape(&c->params, &out_h, &out_w));
    if (out_h != c->out_height) bad += report(op, k, c->name, 0, (long)c->out_height, (long)out_h);
    if (out_w != c->out_width) bad += report(op, k, c->name, 1, (long)c->out_width, (long)out_w);
    guard_output();
    bad += expect_status(op, k, c->name, LOWBIT_OK,
                         c->is_max ? lowbit_max_pool_s8(&c->params, c->input, g_out)
                                   : lowbit_avg_pool_s8(&c->params, c->input, g_out));
    bad += compare_s8(op, k, c->name, c->expected, g_out, c->output_size);
    record(bad);
  }
}

static void test_concat(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_concat_cases); ++k) {
    const golden_concat_case_t* c = &g_concat_cases[k];
    int bad = 0;
    guard_output();
    bad += expect_status(
        "concat", k, c->name, LOWBIT_OK,
        lowbit_concat_s8(c->inputs, c->num_inputs, c->output_zero_point, g_out, c->output_size));
    bad += compare_s8("concat", k, c->name, c->expected, g_out, c->output_size);
    record(bad);
  }
}

static void test_add(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_add_cases); ++k) {
    const golden_add_case_t* c = &g_add_cases[k];
    int bad = 0;
    guard_output();
    bad += expect_status("add", k, c->name, LOWBIT_OK,
                         lowbit_add_s8(&c->params, c->input_a, c->input_b, g_out, c->length));
    bad += compare_s8("add", k, c->name, c->expected, g_out, c->length);
    record(bad);
  }
}

/* In place: the output may be the first input itself (the residual sum overwrites a branch). */
static void test_add_in_place(void) {
  const golden_add_case_t* c = &g_add_cases[ARRAY_LEN(g_add_cases) - 1];
  int8_t* const a = g_out;
  size_t i;
  int bad = 0;
  guard_output();
  for (i = 0; i < c->length; ++i) a[i] = c->input_a[i];
  bad += expect_status("add", 0, "in place", LOWBIT_OK,
                       lowbit_add_s8(&c->params, a, c->input_b, a, c->length));
  bad += compare_s8("add", 0, "in place", c->expected, a, c->length);
  record(bad);
}

static void test_argmax(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_argmax_cases); ++k) {
    const golden_argmax_case_t* c = &g_argmax_cases[k];
    size_t index = 12345;
    int bad = expect_status("argmax", k, c->name, LOWBIT_OK,
                            lowbit_argmax_s8(c->values, c->length, &index));
    if (index != c->expected)
      bad += report("argmax", k, c->name, 0, (long)c->expected, (long)index);
    record(bad);
  }
}

/* One argument-check scenario: the status must match and the output must stay untouched. */
static void expect_error(const char* name, lowbit_status_t expected, lowbit_status_t got) {
  static size_t scenario = 0;
  int bad = expect_status("errors", scenario, name, expected, got);
  if (g_out[0] != GUARD) bad += report("errors", scenario, name, 0, GUARD, g_out[0]);
  record(bad);
  ++scenario;
  guard_output();
}

static void test_argument_errors(void) {
  static const int8_t x[4] = {1, 2, 3, 4};
  static const int8_t bad_sym[2] = {1, 2};
  static const int8_t bad_int4[2] = {7, 8};
  static const uint8_t w[4] = {0x11, 0x22, 0x33, 0x44};
  static const uint8_t dirty_pad[1] = {0xF0};
  static const int32_t mult[3] = {1 << 30, 1 << 30, -1};
  static const int32_t shift_ok[3] = {0, 0, 0};
  static const int32_t shift_bad[3] = {0, 31, 0};
  const golden_fc_case_t* fc = &g_fc_cases[0];
  const golden_conv_case_t* conv = &g_conv_cases[0];
  const golden_pool_case_t* pool = &g_pool_cases[0];
  lowbit_fc_params_t fp;
  lowbit_conv2d_params_t cp;
  lowbit_pool_params_t pp;
  lowbit_concat_input_t ci[2];
  int32_t lo = 0;
  int32_t hi = 0;
  size_t index = 0;
  size_t h = 0;
  size_t wd = 0;
  guard_output();

  /* Formats and packing. */
  expect_error("pack NULL codes", LOWBIT_ERR_ARG,
               lowbit_pack_weights(LOWBIT_FORMAT_INT8, NULL, 1, 4, g_packed, 4));
  expect_error("pack zero rows", LOWBIT_ERR_ARG,
               lowbit_pack_weights(LOWBIT_FORMAT_INT8, x, 0, 4, g_packed, 4));
  expect_error("pack bad format", LOWBIT_ERR_FORMAT,
               lowbit_pack_weights(LOWBIT_FORMAT_COUNT, x, 1, 4, g_packed, 4));
  expect_error("pack wrong size", LOWBIT_ERR_BUFFER,
               lowbit_pack_weights(LOWBIT_FORMAT_INT4, x, 1, 4, g_packed, 3));
  expect_error("pack even sym2 code", LOWBIT_ERR_RANGE,
               lowbit_pack_weights(LOWBIT_FORMAT_SYM2, bad_sym, 1, 2, g_packed, 1));
  expect_error("pack int4 code 8", LOWBIT_ERR_RANGE,
               lowbit_pack_weights(LOWBIT_FORMAT_INT4, bad_int4, 1, 2, g_packed, 1));
  expect_error("unpack NULL packed", LOWBIT_ERR_ARG,
               lowbit_unpack_weights(LOWBIT_FORMAT_INT4, NULL, 1, 1, 2, g_out));
  expect_error("unpack non-zero padding", LOWBIT_ERR_RANGE,
               lowbit_unpack_weights(LOWBIT_FORMAT_INT4, dirty_pad, 1, 1, 1, g_scratch));
  expect_error("packed_size zero length",
               lowbit_packed_size(LOWBIT_FORMAT_BINARY, 1, 0) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG,
               LOWBIT_OK);
  expect_error(
      "packed_size overflow",
      lowbit_packed_size(LOWBIT_FORMAT_INT8, SIZE_MAX / 2, 3) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG,
      LOWBIT_OK);

  /* Requantization parameters and activations. */
  fp = fc->params;
  fp.requant.count = 2;
  fp.out_features = 3;
  expect_error("requant count neither 1 nor channels", LOWBIT_ERR_ARG,
               lowbit_requant_check(&fp.requant, 3));
  fp.requant.multiplier = mult;
  fp.requant.shift = shift_ok;
  fp.requant.count = 3;
  expect_error("requant negative multiplier", LOWBIT_ERR_RANGE,
               lowbit_requant_check(&fp.requant, 3));
  fp.requant.multiplier = mult;
  fp.requant.shift = shift_bad;
  fp.requant.count = 2;
  expect_error("requant shift 31", LOWBIT_ERR_RANGE, lowbit_requant_check(&fp.requant, 2));
  fp.requant.shift = shift_ok;
  fp.requant.act_min = 10;
  fp.requant.act_max = 9;
  expect_error("requant act_min > act_max", LOWBIT_ERR_RANGE, lowbit_requant_check(&fp.requant, 2));
  fp.requant.act_min = -128;
  fp.requant.act_max = 127;
  fp.requant.output_zero_point = 128;
  expect_error("requant zero point 128", LOWBIT_ERR_RANGE, lowbit_requant_check(&fp.requant, 2));
  expect_error("activation NULL out", LOWBIT_ERR_ARG,
               lowbit_activation_range(LOWBIT_ACT_RELU, 0, 0, NULL, &hi));
  expect_error("activation unknown", LOWBIT_ERR_FORMAT,
               lowbit_activation_range(LOWBIT_ACT_COUNT, 0, 0, &lo, &hi));
  expect_error("activation negative upper", LOWBIT_ERR_RANGE,
               lowbit_activation_range(LOWBIT_ACT_RELU6, 0, -1, &lo, &hi));
  expect_error("activation zero point -129", LOWBIT_ERR_RANGE,
               lowbit_activation_range(LOWBIT_ACT_NONE, -129, 0, &lo, &hi));

  /* Fully connected. */
  expect_error("fc NULL params", LOWBIT_ERR_ARG,
               lowbit_fully_connected_s8(NULL, fc->input, fc->weights, fc->weights_size, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));
  expect_error("fc NULL input", LOWBIT_ERR_ARG,
               lowbit_fully_connected_s8(&fc->params, NULL, fc->weights, fc->weights_size, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));
  expect_error("fc NULL weights", LOWBIT_ERR_ARG,
               lowbit_fully_connected_s8(&fc->params, fc->input, NULL, fc->weights_size, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));
  fp = fc->params;
  fp.in_features = 0;
  expect_error("fc zero in_features", LOWBIT_ERR_ARG,
               lowbit_fully_connected_s8(&fp, fc->input, fc->weights, fc->weights_size, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));
  fp = fc->params;
  fp.weight_format = (lowbit_format_t)77;
  expect_error("fc bad format", LOWBIT_ERR_FORMAT,
               lowbit_fully_connected_s8(&fp, fc->input, fc->weights, fc->weights_size, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));
  fp = fc->params;
  fp.input_zero_point = 200;
  expect_error("fc input zero point 200", LOWBIT_ERR_RANGE,
               lowbit_fully_connected_s8(&fp, fc->input, fc->weights, fc->weights_size, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));
  expect_error("fc NULL scratch", LOWBIT_ERR_ARG,
               lowbit_fully_connected_s8(&fc->params, fc->input, fc->weights, fc->weights_size,
                                         fc->bias, g_out, NULL, fc->scratch_size));
  expect_error("fc small scratch", LOWBIT_ERR_BUFFER,
               lowbit_fully_connected_s8(&fc->params, fc->input, fc->weights, fc->weights_size,
                                         fc->bias, g_out, g_scratch, fc->scratch_size - 1));
  fp = fc->params;
  fp.weight_format = LOWBIT_FORMAT_COUNT;
  expect_error("fc scratch size of invalid params",
               lowbit_fc_scratch_size(&fp) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG, LOWBIT_OK);
  expect_error("fc wrong weights size", LOWBIT_ERR_BUFFER,
               lowbit_fully_connected_s8(&fc->params, fc->input, w, fc->weights_size + 1, fc->bias,
                                         g_out, g_scratch, fc->scratch_size));

  /* Conv2d. */
  cp = conv->params;
  expect_error("conv NULL scratch", LOWBIT_ERR_ARG,
               lowbit_conv2d_s8(&cp, conv->input, conv->weights, conv->weights_size, conv->bias,
                                g_out, NULL, conv->scratch_size));
  expect_error("conv small scratch", LOWBIT_ERR_BUFFER,
               lowbit_conv2d_s8(&cp, conv->input, conv->weights, conv->weights_size, conv->bias,
                                g_out, g_scratch, conv->scratch_size - 1));
  expect_error("conv wrong weights size", LOWBIT_ERR_BUFFER,
               lowbit_conv2d_s8(&cp, conv->input, conv->weights, conv->weights_size - 1, conv->bias,
                                g_out, g_scratch, conv->scratch_size));
  cp.stride_h = 0;
  expect_error("conv zero stride", LOWBIT_ERR_ARG, lowbit_conv2d_output_shape(&cp, &h, &wd));
  cp = conv->params;
  cp.groups = 2;
  cp.in_channels = 3;
  expect_error("conv groups do not divide channels", LOWBIT_ERR_ARG,
               lowbit_conv2d_s8(&cp, conv->input, conv->weights, conv->weights_size, conv->bias,
                                g_out, g_scratch, BUFFER_LEN));
  cp = conv->params;
  cp.kernel_w = cp.in_width + cp.pad_left + cp.pad_right + 1;
  expect_error("conv kernel wider than padded input", LOWBIT_ERR_ARG,
               lowbit_conv2d_output_shape(&cp, &h, &wd));
  expect_error("conv scratch size of invalid params",
               lowbit_conv2d_scratch_size(&cp) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG, LOWBIT_OK);
  cp = conv->params;
  cp.in_channels = 65794; /* 65794 taps of 1x1: sums could leave int32 */
  cp.kernel_h = 1;
  cp.kernel_w = 1;
  cp.pad_top = cp.pad_bottom = cp.pad_left = cp.pad_right = 0;
  expect_error("conv more than 65793 taps", LOWBIT_ERR_RANGE,
               lowbit_conv2d_s8(&cp, conv->input, conv->weights, conv->weights_size, conv->bias,
                                g_out, g_scratch, BUFFER_LEN));
  cp = conv->params;
  cp.weight_format = LOWBIT_FORMAT_COUNT;
  expect_error("conv bad format", LOWBIT_ERR_FORMAT,
               lowbit_conv2d_s8(&cp, conv->input, conv->weights, conv->weights_size, conv->bias,
                                g_out, g_scratch, conv->scratch_size));

  /* Conv2d + max pool. */
  {
    const golden_conv_pool_case_t* cpc = &g_conv_pool_cases[0];
    lowbit_pool_params_t fused = cpc->pool;
    expect_error(
        "conv+pool NULL pool", LOWBIT_ERR_ARG,
        lowbit_conv2d_max_pool_s8(&cpc->conv, NULL, cpc->input, cpc->weights, cpc->weights_size,
                                  cpc->bias, g_out, g_scratch, cpc->scratch_size));
    expect_error("conv+pool small scratch", LOWBIT_ERR_BUFFER,
                 lowbit_conv2d_max_pool_s8(&cpc->conv, &cpc->pool, cpc->input, cpc->weights,
                                           cpc->weights_size, cpc->bias, g_out, g_scratch,
                                           cpc->scratch_size - 1));
    fused.in_width += 1;
    expect_error(
        "conv+pool pool input is not the conv output", LOWBIT_ERR_ARG,
        lowbit_conv2d_max_pool_s8(&cpc->conv, &fused, cpc->input, cpc->weights, cpc->weights_size,
                                  cpc->bias, g_out, g_scratch, BUFFER_LEN));
    fused = cpc->pool;
    fused.channels += 1;
    expect_error(
        "conv+pool channel mismatch", LOWBIT_ERR_ARG,
        lowbit_conv2d_max_pool_s8(&cpc->conv, &fused, cpc->input, cpc->weights, cpc->weights_size,
                                  cpc->bias, g_out, g_scratch, BUFFER_LEN));
    expect_error(
        "conv+pool scratch size of NULL pool",
        lowbit_conv2d_max_pool_scratch_size(&cpc->conv, NULL) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG,
        LOWBIT_OK);
  }

  /* Pools. */
  pp = pool->params;
  pp.pad_top = pp.kernel_h;
  expect_error("pool padding as large as kernel", LOWBIT_ERR_ARG,
               lowbit_max_pool_s8(&pp, pool->input, g_out));
  pp = pool->params;
  pp.channels = 0;
  expect_error("pool zero channels", LOWBIT_ERR_ARG, lowbit_avg_pool_s8(&pp, pool->input, g_out));
  expect_error("pool NULL input", LOWBIT_ERR_ARG, lowbit_avg_pool_s8(&pool->params, NULL, g_out));
  expect_error("pool NULL params", LOWBIT_ERR_ARG, lowbit_max_pool_s8(NULL, pool->input, g_out));

  /* Concat and argmax. */
  ci[0].data = x;
  ci[0].length = 4;
  ci[0].zero_point = 0;
  ci[0].multiplier = LOWBIT_IDENTITY_MULTIPLIER;
  ci[0].shift = LOWBIT_IDENTITY_SHIFT;
  ci[1] = ci[0];
  expect_error("concat output length mismatch", LOWBIT_ERR_BUFFER,
               lowbit_concat_s8(ci, 2, 0, g_out, 7));
  expect_error("concat zero inputs", LOWBIT_ERR_ARG, lowbit_concat_s8(ci, 0, 0, g_out, 8));
  ci[1].data = NULL;
  expect_error("concat NULL input data", LOWBIT_ERR_ARG, lowbit_concat_s8(ci, 2, 0, g_out, 8));
  ci[1] = ci[0];
  ci[1].shift = LOWBIT_SHIFT_MAX + 1;
  expect_error("concat shift out of range", LOWBIT_ERR_RANGE, lowbit_concat_s8(ci, 2, 0, g_out, 8));
  expect_error("concat output zero point", LOWBIT_ERR_RANGE,
               lowbit_concat_s8(ci, 1, -129, g_out, 4));
  {
    lowbit_add_params_t ap = {0, 0, 1 << 30, 1 << 30, 1, 0, -128, 127};
    expect_error("add zero length", LOWBIT_ERR_ARG, lowbit_add_s8(&ap, x, x, g_out, 0));
    expect_error("add NULL input", LOWBIT_ERR_ARG, lowbit_add_s8(&ap, x, NULL, g_out, 4));
    ap.shift = LOWBIT_SHIFT_MIN - 1;
    expect_error("add shift out of range", LOWBIT_ERR_RANGE, lowbit_add_s8(&ap, x, x, g_out, 4));
    ap.shift = 1;
    ap.multiplier_b = -1;
    expect_error("add negative multiplier", LOWBIT_ERR_RANGE, lowbit_add_s8(&ap, x, x, g_out, 4));
    ap.multiplier_b = 1 << 30;
    ap.zero_point_a = 128;
    expect_error("add zero point", LOWBIT_ERR_RANGE, lowbit_add_s8(&ap, x, x, g_out, 4));
    ap.zero_point_a = 0;
    ap.act_min = 5;
    ap.act_max = 4;
    expect_error("add empty clamp", LOWBIT_ERR_RANGE, lowbit_add_s8(&ap, x, x, g_out, 4));
  }
  expect_error("argmax zero length", LOWBIT_ERR_ARG, lowbit_argmax_s8(x, 0, &index));
  expect_error("argmax NULL index", LOWBIT_ERR_ARG, lowbit_argmax_s8(x, 4, NULL));
  expect_error("status name",
               strcmp(lowbit_status_name(LOWBIT_ERR_BUFFER), "LOWBIT_ERR_BUFFER") == 0
                   ? LOWBIT_OK
                   : LOWBIT_ERR_ARG,
               LOWBIT_OK);
}

static void test_conv_transpose2d(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_convt_cases); ++k) {
    const golden_convt_case_t* c = &g_convt_cases[k];
    const size_t scratch = lowbit_conv_transpose2d_scratch_size(&c->params);
    int bad = 0;
    if (scratch != c->scratch_size) {
      bad += report("conv_transpose2d_scratch_size", k, c->name, 0, (long)c->scratch_size,
                    (long)scratch);
    }
    guard_output();
    bad += expect_status(
        "conv_transpose2d", k, c->name, LOWBIT_OK,
        lowbit_conv_transpose2d_s8(&c->params, c->input, c->weights, c->weights_size, c->bias,
                                   g_out, g_scratch + k % 16, c->scratch_size));
    bad += compare_s8("conv_transpose2d", k, c->name, c->expected, g_out, c->output_size);
    record(bad);
  }
}

/* The membrane of neuron i as int32, whichever its type. */
static long membrane_at(const lowbit_lif_params_t* p, const void* membrane, size_t i) {
  return p->membrane_bits == 16 ? (long)((const int16_t*)membrane)[i]
                                : (long)((const int32_t*)membrane)[i];
}

/* One LIF case: reset_state (or a stored state), then every step in turn on the same state,
 * checking spikes, membranes and pending resets after each step. */
static void test_lif(void) {
  static int32_t membrane[BUFFER_LEN / 4];
  static uint8_t pending[BUFFER_LEN];
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_lif_cases); ++k) {
    const golden_lif_case_t* c = &g_lif_cases[k];
    const size_t n = c->length;
    const size_t state = lowbit_lif_state_bytes(&c->params);
    uint8_t* const r = c->params.reset_delay != 0 ? pending : NULL;
    size_t t;
    size_t i;
    int bad = 0;
    if (state != c->state_bytes) {
      bad += report("lif_state_bytes", k, c->name, 0, (long)c->state_bytes, (long)state);
    }
    memset(membrane, 0x77, sizeof(membrane));
    memset(pending, 0x77, sizeof(pending));
    bad += expect_status("lif_reset_state", k, c->name, LOWBIT_OK,
                         lowbit_lif_reset_state(&c->params, membrane, r));
    for (i = 0; i < n; ++i) {
      if (membrane_at(&c->params, membrane, i) != 0) {
        bad += report("lif_reset_state", k, c->name, i, 0, membrane_at(&c->params, membrane, i));
      }
      if (r != NULL && r[i] != 0) bad += report("lif_reset_state", k, c->name, n + i, 0, r[i]);
    }
    if (c->initial_membrane != NULL) {
      for (i = 0; i < n; ++i) {
        if (c->params.membrane_bits == 16) {
          ((int16_t*)membrane)[i] = (int16_t)c->initial_membrane[i];
        } else {
          membrane[i] = c->initial_membrane[i];
        }
        if (r != NULL) r[i] = c->initial_pending[i];
      }
    }
    for (t = 0; t < c->steps && bad == 0; ++t) {
      guard_output();
      bad += expect_status("lif_step", k, c->name, LOWBIT_OK,
                           lowbit_lif_step_s8(&c->params, c->currents + t * n, membrane, r, g_out));
      bad += compare_s8("lif_step spikes", k, c->name, c->spikes + t * n, g_out, n);
      for (i = 0; i < n; ++i) {
        const long got = membrane_at(&c->params, membrane, i);
        if (got != c->membrane[t * n + i]) {
          bad += report("lif_step membrane", k, c->name, t * n + i, c->membrane[t * n + i], got);
        }
        if (r != NULL && r[i] != c->pending[t * n + i]) {
          bad += report("lif_step pending", k, c->name, t * n + i, c->pending[t * n + i], r[i]);
        }
      }
    }
    record(bad);
  }
}

/* Spikes may overwrite the current itself. */
static void test_lif_in_place(void) {
  static int16_t membrane[64];
  const golden_lif_case_t* c = &g_lif_cases[0];
  const size_t n = c->length;
  size_t t;
  int bad = expect_status("lif_reset_state", 0, "in place", LOWBIT_OK,
                          lowbit_lif_reset_state(&c->params, membrane, (uint8_t*)g_packed));
  for (t = 0; t < c->steps && bad == 0; ++t) {
    guard_output();
    memcpy(g_out, c->currents + t * n, n);
    bad += expect_status("lif_step", 0, "in place", LOWBIT_OK,
                         lowbit_lif_step_s8(&c->params, g_out, membrane, g_packed, g_out));
    bad += compare_s8("lif_step", 0, "in place", c->spikes + t * n, g_out, n);
  }
  record(bad);
}

static void test_time_sum(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_time_sum_cases); ++k) {
    const golden_time_sum_case_t* c = &g_time_sum_cases[k];
    size_t t;
    int bad = 0;
    guard_output();
    memset(g_out, 0, c->length);
    for (t = 0; t < c->steps && bad == 0; ++t) {
      bad += expect_status(
          "time_sum", k, c->name, LOWBIT_OK,
          lowbit_time_sum_s8(c->inputs + t * c->length, c->input_zero_point, g_out, c->length));
      bad += compare_s8("time_sum", k, c->name, c->sums + t * c->length, g_out, c->length);
    }
    record(bad);
  }
}

static void test_fc_dynshift(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_fc_dynshift_cases); ++k) {
    const golden_fc_dynshift_case_t* c = &g_fc_dynshift_cases[k];
    const size_t scratch = lowbit_fc_dynshift_scratch_size(&c->params);
    int8_t shift = -128;
    int bad = 0;
    guard_output();
    if (scratch == 0 || scratch > BUFFER_LEN) bad += 1;
    bad += expect_status("fc_dynshift", k, c->name, LOWBIT_OK,
                         lowbit_fc_dynshift_s8(&c->params, c->input, c->weights, c->weights_size,
                                               c->bias, g_out, &shift, g_scratch, scratch));
    bad += compare_s8("fc_dynshift", k, c->name, c->expected, g_out, c->params.out_features);
    if (shift != c->shift) {
      printf("fc_dynshift case %u (%s): shift %d, expected %d\n", (unsigned)k, c->name, shift,
             (int)c->shift);
      ++bad;
    }
    record(bad);
  }
}

static void test_leaky_relu(void) {
  size_t k;
  for (k = 0; k < ARRAY_LEN(g_leaky_relu_cases); ++k) {
    const golden_leaky_relu_case_t* c = &g_leaky_relu_cases[k];
    int bad = 0;
    guard_output();
    bad += expect_status(
        "leaky_relu", k, c->name, LOWBIT_OK,
        lowbit_leaky_relu_s8(c->input, c->zero_point, c->slope_q15, g_out, c->length));
    bad += compare_s8("leaky_relu", k, c->name, c->expected, g_out, c->length);
    /* In place: the output overwrites its input. */
    guard_output();
    memcpy(g_out, c->input, c->length);
    bad +=
        expect_status("leaky_relu", k, c->name, LOWBIT_OK,
                      lowbit_leaky_relu_s8(g_out, c->zero_point, c->slope_q15, g_out, c->length));
    bad += compare_s8("leaky_relu in place", k, c->name, c->expected, g_out, c->length);
    record(bad);
  }
}

/* Argument checks of the spiking-flow operators; a failing call writes nothing. */
static void test_spiking_argument_errors(void) {
  static const int8_t x[4] = {1, 2, 3, 4};
  static const int32_t thr_bad[2] = {5, 0};
  static const int32_t beta_bad[1] = {32769};
  static int32_t membrane[8];
  static uint8_t pending[8];
  const golden_convt_case_t* ct = &g_convt_cases[1];
  const golden_lif_case_t* lif = &g_lif_cases[0];
  lowbit_conv_transpose2d_params_t tp;
  lowbit_lif_params_t lp;
  int8_t sum[4] = {0, 0, 0, 0};
  guard_output();

  /* Transposed conv. */
  expect_error("convt NULL params", LOWBIT_ERR_ARG,
               lowbit_conv_transpose2d_s8(NULL, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, ct->scratch_size));
  expect_error("convt NULL input", LOWBIT_ERR_ARG,
               lowbit_conv_transpose2d_s8(&ct->params, NULL, ct->weights, ct->weights_size,
                                          ct->bias, g_out, g_scratch, ct->scratch_size));
  expect_error("convt NULL scratch", LOWBIT_ERR_ARG,
               lowbit_conv_transpose2d_s8(&ct->params, ct->input, ct->weights, ct->weights_size,
                                          ct->bias, g_out, NULL, ct->scratch_size));
  expect_error("convt small scratch", LOWBIT_ERR_BUFFER,
               lowbit_conv_transpose2d_s8(&ct->params, ct->input, ct->weights, ct->weights_size,
                                          ct->bias, g_out, g_scratch, ct->scratch_size - 1));
  expect_error("convt wrong weights size", LOWBIT_ERR_BUFFER,
               lowbit_conv_transpose2d_s8(&ct->params, ct->input, ct->weights, ct->weights_size - 1,
                                          ct->bias, g_out, g_scratch, ct->scratch_size));
  tp = ct->params;
  tp.stride_w = 0;
  expect_error("convt zero stride", LOWBIT_ERR_ARG,
               lowbit_conv_transpose2d_s8(&tp, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, BUFFER_LEN));
  expect_error("convt scratch size of invalid params",
               lowbit_conv_transpose2d_scratch_size(&tp) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG,
               LOWBIT_OK);
  tp = ct->params;
  tp.out_height = 0;
  expect_error("convt zero out_height", LOWBIT_ERR_ARG,
               lowbit_conv_transpose2d_s8(&tp, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, BUFFER_LEN));
  tp = ct->params;
  tp.weight_format = LOWBIT_FORMAT_COUNT;
  expect_error("convt bad format", LOWBIT_ERR_FORMAT,
               lowbit_conv_transpose2d_s8(&tp, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, ct->scratch_size));
  tp = ct->params;
  tp.input_zero_point = -129;
  expect_error("convt input zero point", LOWBIT_ERR_RANGE,
               lowbit_conv_transpose2d_s8(&tp, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, ct->scratch_size));
  tp = ct->params;
  tp.requant.act_min = 1;
  tp.requant.act_max = 0;
  expect_error("convt empty clamp", LOWBIT_ERR_RANGE,
               lowbit_conv_transpose2d_s8(&tp, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, ct->scratch_size));
  tp = ct->params;
  tp.in_channels = 65794; /* 65794 taps of 1x1: sums could leave int32 */
  tp.kernel_h = 1;
  tp.kernel_w = 1;
  expect_error("convt more than 65793 taps", LOWBIT_ERR_RANGE,
               lowbit_conv_transpose2d_s8(&tp, ct->input, ct->weights, ct->weights_size, ct->bias,
                                          g_out, g_scratch, BUFFER_LEN));

  /* LIF. */
  lp = lif->params;
  expect_error("lif NULL params", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(NULL, x, membrane, pending, g_out));
  expect_error("lif NULL current", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, NULL, membrane, pending, g_out));
  expect_error("lif NULL membrane", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, x, NULL, pending, g_out));
  expect_error("lif NULL pending with reset delay", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, x, membrane, NULL, g_out));
  expect_error("lif reset_state NULL pending with reset delay", LOWBIT_ERR_ARG,
               lowbit_lif_reset_state(&lp, membrane, NULL));
  lp.channels = 2;
  lp.plane = 2;
  lp.channels = 0;
  expect_error("lif zero channels", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  expect_error("lif state bytes of invalid params",
               lowbit_lif_state_bytes(&lp) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG, LOWBIT_OK);
  lp.channels = 2;
  lp.plane = 0;
  expect_error("lif zero plane", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp.plane = 2;
  lp.param_count = 3;
  expect_error("lif param_count neither 1 nor channels", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp.param_count = 2;
  lp.threshold = thr_bad;
  expect_error("lif threshold 0", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp = lif->params;
  lp.membrane_bits = 8;
  expect_error("lif membrane_bits 8", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  expect_error("lif reset_state membrane_bits 8", LOWBIT_ERR_RANGE,
               lowbit_lif_reset_state(&lp, membrane, pending));
  lp = lif->params;
  lp.leak_shift = 16;
  expect_error("lif leak_shift 16", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp.leak_shift = -1;
  expect_error("lif leak_shift -1", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp.leak_shift = 0;
  lp.beta_q15 = NULL;
  expect_error("lif NULL beta with leak_shift 0", LOWBIT_ERR_ARG,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp.beta_q15 = beta_bad;
  expect_error("lif beta above 2^15", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp = lif->params;
  lp.reset = LOWBIT_LIF_RESET_COUNT;
  expect_error("lif unknown reset", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp = lif->params;
  lp.reset_delay = 2;
  expect_error("lif reset_delay 2", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp = lif->params;
  lp.input_zero_point = 128;
  expect_error("lif zero point 128", LOWBIT_ERR_RANGE,
               lowbit_lif_step_s8(&lp, x, membrane, pending, g_out));
  lp = lif->params;
  lp.reset_delay = 0;
  lp.channels = 1;
  lp.plane = 4;
  expect_error("lif NULL pending without delay is fine", LOWBIT_OK,
               lowbit_lif_reset_state(&lp, membrane, NULL));
  expect_error("lif state bytes without delay",
               lowbit_lif_state_bytes(&lp) == 8 ? LOWBIT_OK : LOWBIT_ERR_ARG, LOWBIT_OK);

  /* Dense layer with a per-sample shift. */
  {
    const lowbit_fc_dynshift_params_t good = {2, 2, 0, LOWBIT_FORMAT_INT8, 127, 1};
    lowbit_fc_dynshift_params_t p = good;
    const uint8_t w[4] = {1, 2, 3, 4};
    int8_t y[2] = {0, 0};
    expect_error("fc_dynshift NULL params", LOWBIT_ERR_ARG,
                 lowbit_fc_dynshift_s8(NULL, x, w, 4, NULL, y, NULL, g_scratch, BUFFER_LEN));
    expect_error("fc_dynshift weights size", LOWBIT_ERR_BUFFER,
                 lowbit_fc_dynshift_s8(&p, x, w, 3, NULL, y, NULL, g_scratch, BUFFER_LEN));
    /* Two int32 sums need 8 bytes at least. */
    expect_error("fc_dynshift scratch", LOWBIT_ERR_BUFFER,
                 lowbit_fc_dynshift_s8(&p, x, w, 4, NULL, y, NULL, g_scratch, 7));
    p.code_max = 128;
    expect_error("fc_dynshift code_max", LOWBIT_ERR_RANGE,
                 lowbit_fc_dynshift_s8(&p, x, w, 4, NULL, y, NULL, g_scratch, BUFFER_LEN));
    p = good;
    p.relu = 2;
    expect_error("fc_dynshift relu flag", LOWBIT_ERR_RANGE,
                 lowbit_fc_dynshift_s8(&p, x, w, 4, NULL, y, NULL, g_scratch, BUFFER_LEN));
    p = good;
    p.weight_format = LOWBIT_FORMAT_COUNT;
    expect_error("fc_dynshift format", LOWBIT_ERR_FORMAT,
                 lowbit_fc_dynshift_s8(&p, x, w, 4, NULL, y, NULL, g_scratch, BUFFER_LEN));
    expect_error("fc_dynshift scratch size of bad params",
                 lowbit_fc_dynshift_scratch_size(&p) == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG, LOWBIT_OK);
  }
  expect_error("time_sum zero length", LOWBIT_ERR_ARG, lowbit_time_sum_s8(x, 0, sum, 0));
  expect_error("time_sum NULL sum", LOWBIT_ERR_ARG, lowbit_time_sum_s8(x, 0, NULL, 4));
  expect_error("time_sum zero point", LOWBIT_ERR_RANGE, lowbit_time_sum_s8(x, 128, sum, 4));
  expect_error("time_sum untouched on error", sum[0] == 0 ? LOWBIT_OK : LOWBIT_ERR_ARG, LOWBIT_OK);
  expect_error("leaky_relu zero length", LOWBIT_ERR_ARG,
               lowbit_leaky_relu_s8(x, 0, 3277, g_out, 0));
  expect_error("leaky_relu NULL input", LOWBIT_ERR_ARG,
               lowbit_leaky_relu_s8(NULL, 0, 3277, g_out, 4));
  expect_error("leaky_relu slope 2^15", LOWBIT_ERR_RANGE,
               lowbit_leaky_relu_s8(x, 0, 32768, g_out, 4));
  expect_error("leaky_relu negative slope", LOWBIT_ERR_RANGE,
               lowbit_leaky_relu_s8(x, 0, -1, g_out, 4));
  expect_error("leaky_relu zero point", LOWBIT_ERR_RANGE,
               lowbit_leaky_relu_s8(x, -129, 3277, g_out, 4));
}

int main(void) {
  test_requantize();
  test_activation_range();
  test_format_traits();
  test_pack();
  test_fully_connected();
  test_conv2d();
  test_pool();
  test_conv_max_pool();
  test_concat();
  test_add();
  test_add_in_place();
  test_argmax();
  test_conv_transpose2d();
  test_lif();
  test_lif_in_place();
  test_time_sum();
  test_leaky_relu();
  test_fc_dynshift();
  test_argument_errors();
  test_spiking_argument_errors();
  printf("%u passed, %u failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
