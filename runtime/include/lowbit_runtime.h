/**
 * @file lowbit_runtime.h
 * @brief The lowbit C99 integer inference runtime: the one public header.
 *
 * Everything here is integer arithmetic: int8 activations, packed 1- to 8-bit weights, int32
 * bias and accumulators, fixed-point requantization. The runtime never allocates memory; any
 * buffer an operator needs beyond its inputs and outputs is caller-owned scratch whose size is
 * given by `lowbit_<op>_scratch_size()`. Every function that can fail returns a lowbit_status_t
 * and writes nothing to its outputs when it fails on argument checks.
 *
 * Conventions used throughout:
 * - Activation tensors are int8, batch 1, CHW (channel-major, then rows, then columns), densely
 *   packed. A flattened CHW tensor is the same buffer: flatten is a no-op and has no function.
 * - A real activation value is `scale * (q - zero_point)`; zero points are in [-128, 127].
 * - Weights are symmetric integer codes (no weight zero point) packed by ::lowbit_pack_weights.
 * - Bias is int32 in the accumulator scale (input_scale * weight_scale[channel]).
 * - Requantization (one function, ::lowbit_requantize) maps an int32 accumulator to int8 and
 *   carries the output activation (ReLU, ReLU6, hard-sigmoid) as a clamp; see docs/runtime.md.
 *
 * Build options (macros defined when compiling runtime/src; results are the same bits either
 * way): on x86 the kernels use SSE2, and with gcc or clang also AVX2 copies picked at run time;
 * LOWBIT_PORTABLE selects the plain C99 kernels everywhere, LOWBIT_NO_AVX2 keeps SSE2 on CPUs
 * with AVX2. See docs/runtime.md, "x86 and portable kernels". An export sets them in its
 * lowbit_config.h (written per export target), which this header includes first.
 */
#ifndef LOWBIT_RUNTIME_H_
#define LOWBIT_RUNTIME_H_

#include "lowbit_config.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the runtime interface; bumped on incompatible changes. */
#define LOWBIT_RUNTIME_VERSION_MAJOR 1
/** Minor version of the runtime interface; bumped on compatible additions. */
#define LOWBIT_RUNTIME_VERSION_MINOR 1

/** Bytes of slack in every scratch size: kernels align their int16/int32 scratch views to 16
 * bytes themselves, so callers may pass scratch at any address. */
#define LOWBIT_SCRATCH_SLACK 15u

/** Result of every fallible runtime call. */
typedef enum {
  LOWBIT_OK = 0,         /**< Success. */
  LOWBIT_ERR_ARG = 1,    /**< NULL pointer, zero size or inconsistent shape. */
  LOWBIT_ERR_FORMAT = 2, /**< Unknown ::lowbit_format_t or ::lowbit_activation_t value. */
  LOWBIT_ERR_RANGE = 3,  /**< A value outside its documented range (code, multiplier, shift...). */
  LOWBIT_ERR_BUFFER = 4  /**< A caller buffer (weights, scratch, output) has the wrong size. */
} lowbit_status_t;

/**
 * @brief Name of a status value, for log messages.
 * @param[in] status Any value; unknown values give "LOWBIT_ERR_UNKNOWN".
 * @return A static NUL-terminated string such as "LOWBIT_ERR_ARG".
 */
const char* lowbit_status_name(lowbit_status_t status);

/* ------------------------------------------------------------------------------------------ */
/* Requantization                                                                             */
/* ------------------------------------------------------------------------------------------ */

/** Smallest allowed requantization shift (divides by 2^62 in total). */
#define LOWBIT_SHIFT_MIN (-31)
/** Largest allowed requantization shift (divides by 2^1 in total). */
#define LOWBIT_SHIFT_MAX 30
/** Multiplier 2^30 with shift 1 is the exact identity: acc * 2^30 / 2^30. */
#define LOWBIT_IDENTITY_MULTIPLIER (INT32_C(1) << 30)
/** Shift that goes with ::LOWBIT_IDENTITY_MULTIPLIER. */
#define LOWBIT_IDENTITY_SHIFT 1

/**
 * @brief Requantize one int32 accumulator to int8 (the single rounding rule of the runtime).
 *
 * Computes, exactly in 64-bit integers:
 *   p = acc * multiplier                      (|p| < 2^62)
 *   r = 31 - shift                            (r in [1, 62])
 *   y = sign(p) * floor((|p| + 2^(r-1)) / 2^r)   (round half away from zero of p / 2^r)
 *   out = clamp(y + output_zero_point, act_min, act_max)
 * so the real factor applied to acc is multiplier * 2^(shift - 31).
 *
 * @param[in] acc               Accumulator, any int32 value.
 * @param[in] multiplier        Q31 multiplier in [0, INT32_MAX]; the exporter normalizes it to
 *                              [2^30, 2^31 - 1] (see docs/runtime.md), 0 maps everything to 0.
 * @param[in] shift             Exponent in [LOWBIT_SHIFT_MIN, LOWBIT_SHIFT_MAX] = [-31, 30].
 * @param[in] output_zero_point Output zero point in [-128, 127].
 * @param[in] act_min           Lower clamp in [-128, 127]; ReLU and friends live here.
 * @param[in] act_max           Upper clamp in [act_min, 127].
 * @return The int8 result. Arguments out of range are a precondition violation: callers check
 *         them once with ::lowbit_requant_check (every operator does).
 */
int8_t lowbit_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_zero_point,
                         int32_t act_min, int32_t act_max);

/** Per-layer or per-channel requantization parameters of one operator output. */
typedef struct {
  const int32_t* multiplier; /**< count multipliers, each in [0, INT32_MAX]. */
  const int32_t* shift;      /**< count shifts, each in [-31, 30]. */
  size_t count;              /**< 1 (per-layer) or the number of output channels (per-channel). */
  int32_t output_zero_point; /**< Output zero point in [-128, 127]. */
  int32_t act_min;           /**< Lower output clamp in [-128, 127]. */
  int32_t act_max;           /**< Upper output clamp in [act_min, 127]. */
} lowbit_requant_t;

/**
 * @brief Check requantization parameters against the ranges of ::lowbit_requantize.
 * @param[in] requant  Parameters to check; must not be NULL.
 * @param[in] channels Output channels of the operator (>= 1); count must be 1 or channels.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG (NULL pointers, count not 1 or channels) or
 *         LOWBIT_ERR_RANGE (a multiplier, shift, zero point or clamp out of range).
 */
lowbit_status_t lowbit_requant_check(const lowbit_requant_t* requant, size_t channels);

/** Output activation merged into requantization as a clamp. */
typedef enum {
  LOWBIT_ACT_NONE = 0,  /**< Identity: clamp to [-128, 127]. */
  LOWBIT_ACT_RELU = 1,  /**< max(x, 0). */
  LOWBIT_ACT_RELU6 = 2, /**< min(max(x, 0), 6). */
  LOWBIT_ACT_HARD_SIGMOID =
      3,               /**< min(max(x / 6 + 1/2, 0), 1); affine part folded by the exporter. */
  LOWBIT_ACT_COUNT = 4 /**< Number of activations (not an activation). */
} lowbit_activation_t;

/**
 * @brief Clamp bounds [act_min, act_max] that implement an output activation.
 *
 * NONE: [-128, 127]. RELU: [max(-128, zp), 127]. RELU6 and HARD_SIGMOID:
 * [max(-128, zp), min(127, zp + upper_q)], where upper_q is the quantized size of the upper
 * limit: round(6 / output_scale) for RELU6, round(1 / output_scale) for HARD_SIGMOID. For
 * HARD_SIGMOID the exporter also folds x / 6 + 1/2 into the multiplier and the bias (see
 * docs/runtime.md, "Hard-sigmoid").
 *
 * @param[in]  activation        A ::lowbit_activation_t value below LOWBIT_ACT_COUNT.
 * @param[in]  output_zero_point Output zero point in [-128, 127].
 * @param[in]  upper_q           Quantized upper limit in [0, INT32_MAX]; ignored by NONE and RELU.
 * @param[out] act_min           Receives the lower clamp; must not be NULL.
 * @param[out] act_max           Receives the upper clamp; must not be NULL.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG (NULL), LOWBIT_ERR_FORMAT (unknown activation) or
 *         LOWBIT_ERR_RANGE (zero point or upper_q out of range).
 */
lowbit_status_t lowbit_activation_range(lowbit_activation_t activation, int32_t output_zero_point,
                                        int32_t upper_q, int32_t* act_min, int32_t* act_max);

/* ------------------------------------------------------------------------------------------ */
/* Weight formats                                                                             */
/* ------------------------------------------------------------------------------------------ */

/** Packed weight formats. Values are stable: the exporter writes them into generated code. */
typedef enum {
  LOWBIT_FORMAT_INT8 = 0,   /**< 8 bits, codes -128..127. */
  LOWBIT_FORMAT_INT4 = 1,   /**< 4 bits two's complement, codes -8..7. */
  LOWBIT_FORMAT_INT2 = 2,   /**< 2 bits two's complement, codes -2..1 (carries ternary -1/0/1). */
  LOWBIT_FORMAT_BINARY = 3, /**< 1 bit, bit 1 = +1 and bit 0 = -1. */
  LOWBIT_FORMAT_SYM2 = 4,   /**< 2-bit index i -> odd code 2i - 3 in {-3, -1, 1, 3}. */
  LOWBIT_FORMAT_SYM4 = 5,   /**< 4-bit index i -> odd code 2i - 15 in {-15, ..., 15}. */
  LOWBIT_FORMAT_COUNT = 6   /**< Number of formats (not a format). */
} lowbit_format_t;

/** How a stored bit field maps to a weight code. */
typedef enum {
  LOWBIT_ENCODING_TWOS_COMPLEMENT = 0, /**< code = field read as a bits-wide two's complement. */
  LOWBIT_ENCODING_ODD_GRID = 1         /**< code = 2 * field - (2^bits - 1): odd, symmetric. */
} lowbit_encoding_t;

/** Traits of one weight format (one row of the traits table). */
typedef struct {
  const char* name;           /**< Stable lower-case name, e.g. "int4", "sym2". */
  lowbit_format_t format;     /**< The format this row describes (its index in the table). */
  uint8_t bits;               /**< Bits per weight: 1, 2, 4 or 8 (always divides 8). */
  uint8_t codes_per_byte;     /**< 8 / bits. */
  lowbit_encoding_t encoding; /**< How a field decodes to a code. */
  int8_t code_min;            /**< Smallest code. */
  int8_t code_max;            /**< Largest code. */
} lowbit_format_traits_t;

/**
 * @brief The traits table row of a format.
 * @param[in] format A ::lowbit_format_t value.
 * @return Pointer to a static row, or NULL for a value outside [0, LOWBIT_FORMAT_COUNT).
 */
const lowbit_format_traits_t* lowbit_format_traits(lowbit_format_t format);

/**
 * @brief Whether an integer is a code of a format (in range, and odd for odd-grid formats).
 * @param[in] format A ::lowbit_format_t value.
 * @param[in] code   Candidate code.
 * @return 1 if representable, 0 otherwise (also 0 for an unknown format).
 */
int lowbit_format_has_code(lowbit_format_t format, int32_t code);

/**
 * @brief Bytes of one packed row. Rows are padded to a whole byte: ceil(row_length * bits / 8).
 * @param[in] format     A ::lowbit_format_t value.
 * @param[in] row_length Weights per row, >= 1.
 * @return The byte count, or 0 for an unknown format or row_length 0.
 */
size_t lowbit_packed_row_bytes(lowbit_format_t format, size_t row_length);

/**
 * @brief Bytes of a packed [rows][row_length] weight matrix: rows * lowbit_packed_row_bytes().
 * @param[in] format     A ::lowbit_format_t value.
 * @param[in] rows       Rows (output channels), >= 1.
 * @param[in] row_length Weights per row, >= 1.
 * @return The byte count, or 0 for an unknown format, a zero size or size_t overflow.
 */
size_t lowbit_packed_size(lowbit_format_t format, size_t rows, size_t row_length);

/**
 * @brief Pack a row-major [rows][row_length] matrix of codes (reference packer).
 *
 * Layout: row r starts at byte r * row_bytes. Weight j of a row sits in byte (j * bits) / 8 at
 * bit offset (j * bits) % 8, i.e. little-endian within a byte: the first weight in the lowest
 * bits. The field is the code's low `bits` bits (two's complement) or (code + 2^bits - 1) / 2
 * (odd grid). Unused padding bits at the end of each row are 0.
 *
 * @param[in]  format      A ::lowbit_format_t value.
 * @param[in]  codes       rows * row_length codes, each representable (lowbit_format_has_code).
 * @param[in]  rows        Rows, >= 1.
 * @param[in]  row_length  Weights per row, >= 1.
 * @param[out] packed      Output bytes.
 * @param[in]  packed_size Size of packed; must equal lowbit_packed_size(format, rows, row_length).
 * @return LOWBIT_OK, LOWBIT_ERR_ARG, LOWBIT_ERR_FORMAT, LOWBIT_ERR_BUFFER, or LOWBIT_ERR_RANGE if
 *         a code is not representable (packed is then left unspecified).
 */
lowbit_status_t lowbit_pack_weights(lowbit_format_t format, const int8_t* codes, size_t rows,
                                    size_t row_length, uint8_t* packed, size_t packed_size);

/**
 * @brief Unpack a packed matrix back to row-major codes (reference unpacker).
 * @param[in]  format      A ::lowbit_format_t value.
 * @param[in]  packed      Bytes in the layout of ::lowbit_pack_weights.
 * @param[in]  packed_size Must equal lowbit_packed_size(format, rows, row_length).
 * @param[in]  rows        Rows, >= 1.
 * @param[in]  row_length  Weights per row, >= 1.
 * @param[out] codes       rows * row_length codes.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG, LOWBIT_ERR_FORMAT, LOWBIT_ERR_BUFFER, or LOWBIT_ERR_RANGE if
 *         a row's padding bits are not 0 (codes is then left unspecified).
 */
lowbit_status_t lowbit_unpack_weights(lowbit_format_t format, const uint8_t* packed,
                                      size_t packed_size, size_t rows, size_t row_length,
                                      int8_t* codes);

/* ------------------------------------------------------------------------------------------ */
/* Operators                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * Accumulation rule shared by fully connected and conv2d: for each output element
 *   acc = bias[o] + sum_k (x_k - input_zero_point) * w[o][k]
 * is formed exactly (64-bit), saturated to [INT32_MIN, INT32_MAX], then passed to
 * lowbit_requantize() with the multiplier/shift of channel o (or entry 0 when per-layer).
 */

/** Fully connected (dense) layer parameters. */
typedef struct {
  size_t batch;                  /**< Rows of input/output, >= 1. */
  size_t in_features;            /**< Inputs per row, >= 1. */
  size_t out_features;           /**< Outputs per row, >= 1 (= weight rows). */
  int32_t input_zero_point;      /**< Input zero point in [-128, 127]. */
  lowbit_format_t weight_format; /**< Format of the packed [out_features][in_features] weights. */
  lowbit_requant_t requant;      /**< count 1 or out_features. */
} lowbit_fc_params_t;

/**
 * @brief Scratch bytes needed by ::lowbit_fully_connected_s8: the input of one row minus its zero
 *        point as int16, split into 16 / bits lanes of ceil(in_features * bits / 16) each rounded
 *        up to a multiple of 8, plus LOWBIT_SCRATCH_SLACK bytes so any scratch address can be
 *        aligned.
 * @param[in] params Layer parameters.
 * @return The size in bytes, or 0 if params is NULL or invalid.
 */
size_t lowbit_fc_scratch_size(const lowbit_fc_params_t* params);

/**
 * @brief Fully connected layer: output[b][o] = requant(bias[o] + sum_i (in[b][i] - zp) w[o][i]).
 * @param[in]  params       Layer parameters; must not be NULL.
 * @param[in]  input        int8 [batch][in_features].
 * @param[in]  weights      Packed [out_features][in_features] (see ::lowbit_pack_weights).
 * @param[in]  weights_size Must equal lowbit_packed_size(format, out_features, in_features).
 * @param[in]  bias         int32 [out_features], or NULL for no bias.
 * @param[out] output       int8 [batch][out_features]; must not overlap input or scratch.
 * @param[out] scratch      Caller-owned scratch of at least lowbit_fc_scratch_size() bytes, any
 *                          alignment; must not overlap input.
 * @param[in]  scratch_size Size of scratch in bytes.
 * @return LOWBIT_OK or the first argument error found.
 */
lowbit_status_t lowbit_fully_connected_s8(const lowbit_fc_params_t* params, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output, void* scratch,
                                          size_t scratch_size);

/** Fully connected layer with a per-sample power-of-two output scale (BitNetMCU's ReLUNorm). */
typedef struct {
  size_t in_features;            /**< Inputs, >= 1. */
  size_t out_features;           /**< Outputs, >= 1 (= weight rows). */
  int32_t input_zero_point;      /**< Input zero point in [-128, 127]. */
  lowbit_format_t weight_format; /**< Format of the packed [out_features][in_features] weights. */
  int32_t code_max;              /**< Largest output code, 1..127 (127 for 8-bit codes). */
  int32_t relu;                  /**< 1: outputs 0..code_max; 0: -code_max..code_max. */
} lowbit_fc_dynshift_params_t;

/**
 * @brief Scratch bytes of ::lowbit_fc_dynshift_s8: the int32 sums, 4 * out_features, then the
 *        input lanes of the fully connected kernel (as ::lowbit_fc_scratch_size counts them),
 *        plus LOWBIT_SCRATCH_SLACK.
 * @param[in] params Layer parameters.
 * @return The size in bytes, or 0 if params is NULL or invalid.
 */
size_t lowbit_fc_dynshift_scratch_size(const lowbit_fc_dynshift_params_t* params);

/**
 * @brief Fully connected layer normalised per sample by a shift: with
 *        acc[o] = sat32(bias[o] + sum_i (in[i] - zp) w[o][i]) and m the largest acc (relu) or
 *        |acc| (signed), shift = the smallest integer s with m < (code_max + 1) * 2^s (0 when
 *        m is 0; negative, a left shift, when m is small), and
 *        output[o] = clamp(floor((acc[o] + 2^s / 2) / 2^s), relu ? 0 : -code_max, code_max)
 *        (acc[o] * 2^-s for s <= 0). The largest output of a sample with m > 0 is thus in
 *        [(code_max + 1) / 2, code_max]; the output's real scale is 2^shift times the
 *        accumulator's: the sample's own. This is the dynshift quantizer's rule.
 * @param[in]  params       Layer parameters; must not be NULL.
 * @param[in]  input        int8 [in_features].
 * @param[in]  weights      Packed [out_features][in_features] (see ::lowbit_pack_weights).
 * @param[in]  weights_size Must equal lowbit_packed_size(format, out_features, in_features).
 * @param[in]  bias         int32 [out_features], or NULL for no bias.
 * @param[out] output       int8 [out_features]; must not overlap input or scratch.
 * @param[out] shift_out    Receives the shift (-31..31), or NULL.
 * @param[out] scratch      At least lowbit_fc_dynshift_scratch_size() bytes, any alignment.
 * @param[in]  scratch_size Size of scratch in bytes.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG, LOWBIT_ERR_FORMAT, LOWBIT_ERR_RANGE (zero point, code_max,
 *         relu) or LOWBIT_ERR_BUFFER (weights_size, scratch).
 */
lowbit_status_t lowbit_fc_dynshift_s8(const lowbit_fc_dynshift_params_t* params,
                                      const int8_t* input, const uint8_t* weights,
                                      size_t weights_size, const int32_t* bias, int8_t* output,
                                      int8_t* shift_out, void* scratch, size_t scratch_size);

/** 2-D convolution parameters (CHW, batch 1, grouped; groups == in_channels is depthwise). */
typedef struct {
  size_t in_channels;            /**< Input channels, >= 1, divisible by groups. */
  size_t in_height;              /**< Input rows, >= 1. */
  size_t in_width;               /**< Input columns, >= 1. */
  size_t out_channels;           /**< Output channels, >= 1, divisible by groups. */
  size_t kernel_h;               /**< Kernel rows, >= 1, <= in_height + pad_top + pad_bottom. */
  size_t kernel_w;               /**< Kernel columns, >= 1, <= in_width + pad_left + pad_right. */
  size_t stride_h;               /**< Vertical stride, >= 1. */
  size_t stride_w;               /**< Horizontal stride, >= 1. */
  size_t pad_top;                /**< Rows of padding above (value = input_zero_point). */
  size_t pad_bottom;             /**< Rows of padding below. */
  size_t pad_left;               /**< Columns of padding on the left. */
  size_t pad_right;              /**< Columns of padding on the right. */
  size_t groups;                 /**< Channel groups, >= 1. */
  int32_t input_zero_point;      /**< Input zero point in [-128, 127]; also the pad value. */
  lowbit_format_t weight_format; /**< Format of the packed weights. */
  lowbit_requant_t requant;      /**< count 1 or out_channels. */
} lowbit_conv2d_params_t;

/**
 * @brief Output size of a convolution: out = (in + pad_before + pad_after - kernel) / stride + 1.
 * @param[in]  params     Convolution parameters; must not be NULL.
 * @param[out] out_height Receives the output rows; must not be NULL.
 * @param[out] out_width  Receives the output columns; must not be NULL.
 * @return LOWBIT_OK or LOWBIT_ERR_ARG (zero size, kernel larger than the padded input, groups
 *         not dividing the channels).
 */
lowbit_status_t lowbit_conv2d_output_shape(const lowbit_conv2d_params_t* params, size_t* out_height,
                                           size_t* out_width);

/**
 * @brief Scratch bytes needed by ::lowbit_conv2d_s8: the in_channels / groups input channels of
 *        one group as int16 planes including their padding (padded_height * stride_w *
 *        ceil(padded_width / stride_w) values each), one output channel's kernel as int16
 *        ((in_channels / groups) * kernel_h * kernel_w values), plus LOWBIT_SCRATCH_SLACK.
 * @param[in] params Convolution parameters.
 * @return The size in bytes, or 0 if params is NULL or invalid.
 */
size_t lowbit_conv2d_scratch_size(const lowbit_conv2d_params_t* params);

/**
 * @brief Grouped 2-D convolution, CHW int8 in and out.
 *
 * Weights are packed [out_channels][in_channels / groups][kernel_h][kernel_w], one padded row per
 * output channel (row_length = (in_channels / groups) * kernel_h * kernel_w). Output channel o
 * reads input channels g * (in_channels / groups) ... where g = o / (out_channels / groups).
 * Output element (o, y, x) reads input rows y * stride_h - pad_top + ky and columns
 * x * stride_w - pad_left + kx; positions outside the input hold input_zero_point, so they add 0.
 * row_length must not exceed 65793, which keeps every sum exact in int32.
 *
 * @param[in]  params       Convolution parameters; must not be NULL.
 * @param[in]  input        int8 [in_channels][in_height][in_width].
 * @param[in]  weights      Packed weights, as above.
 * @param[in]  weights_size Must equal lowbit_packed_size(format, out_channels, row_length).
 * @param[in]  bias         int32 [out_channels], or NULL for no bias.
 * @param[out] output       int8 [out_channels][out_height][out_width]; must not overlap input or
 *                          scratch.
 * @param[out] scratch      Caller-owned scratch of at least lowbit_conv2d_scratch_size() bytes,
 *                          any alignment; must not overlap input.
 * @param[in]  scratch_size Size of scratch in bytes.
 * @return LOWBIT_OK, LOWBIT_ERR_RANGE for a row_length above 65793, or the first argument error
 *         found.
 */
lowbit_status_t lowbit_conv2d_s8(const lowbit_conv2d_params_t* params, const int8_t* input,
                                 const uint8_t* weights, size_t weights_size, const int32_t* bias,
                                 int8_t* output, void* scratch, size_t scratch_size);

/** Pooling parameters (CHW, batch 1; input and output share scale and zero point). */
typedef struct {
  size_t channels;   /**< Channels, >= 1. */
  size_t in_height;  /**< Input rows, >= 1. */
  size_t in_width;   /**< Input columns, >= 1. */
  size_t kernel_h;   /**< Window rows, >= 1. */
  size_t kernel_w;   /**< Window columns, >= 1. */
  size_t stride_h;   /**< Vertical stride, >= 1. */
  size_t stride_w;   /**< Horizontal stride, >= 1. */
  size_t pad_top;    /**< Rows of padding above, < kernel_h; padding is never read. */
  size_t pad_bottom; /**< Rows of padding below, < kernel_h. */
  size_t pad_left;   /**< Columns of padding on the left, < kernel_w. */
  size_t pad_right;  /**< Columns of padding on the right, < kernel_w. */
} lowbit_pool_params_t;

/**
 * @brief Output size of a pooling: out = (in + pad_before + pad_after - kernel) / stride + 1.
 * @param[in]  params     Pool parameters; must not be NULL.
 * @param[out] out_height Receives the output rows; must not be NULL.
 * @param[out] out_width  Receives the output columns; must not be NULL.
 * @return LOWBIT_OK or LOWBIT_ERR_ARG (zero size, padding >= kernel, kernel > padded input).
 */
lowbit_status_t lowbit_pool_output_shape(const lowbit_pool_params_t* params, size_t* out_height,
                                         size_t* out_width);

/**
 * @brief Max pooling: each output is the largest input in its window; padding is excluded.
 * @param[in]  params Pool parameters; must not be NULL.
 * @param[in]  input  int8 [channels][in_height][in_width].
 * @param[out] output int8 [channels][out_height][out_width]; must not overlap input.
 * @return LOWBIT_OK or LOWBIT_ERR_ARG.
 */
lowbit_status_t lowbit_max_pool_s8(const lowbit_pool_params_t* params, const int8_t* input,
                                   int8_t* output);

/**
 * @brief Average pooling over the in-bounds elements of each window (padding excluded from both
 *        the sum and the count): out = round_half_away_from_zero(sum / count).
 *
 * Averaging q directly equals averaging q - zero_point and adding it back, because the zero
 * point is an integer, so no zero point parameter is needed.
 *
 * @param[in]  params Pool parameters; must not be NULL.
 * @param[in]  input  int8 [channels][in_height][in_width].
 * @param[out] output int8 [channels][out_height][out_width]; must not overlap input.
 * @return LOWBIT_OK or LOWBIT_ERR_ARG.
 */
lowbit_status_t lowbit_avg_pool_s8(const lowbit_pool_params_t* params, const int8_t* input,
                                   int8_t* output);

/**
 * @brief Scratch bytes needed by ::lowbit_conv2d_max_pool_s8: lowbit_conv2d_scratch_size(conv)
 *        plus one output channel's int32 sums, one row of int32 maxima and one row of pooled
 *        int32 sums, 4 * ((pool->in_height + 1) * pool->in_width + pooled width).
 * @param[in] conv Convolution parameters.
 * @param[in] pool Pool parameters of the convolution's output.
 * @return The size in bytes, or 0 if either is NULL or invalid.
 */
size_t lowbit_conv2d_max_pool_scratch_size(const lowbit_conv2d_params_t* conv,
                                           const lowbit_pool_params_t* pool);

/**
 * @brief Conv2d whose output is max-pooled, in one call: bit for bit ::lowbit_conv2d_s8 followed
 *        by ::lowbit_max_pool_s8 on its output, computed by pooling the int32 sums and
 *        requantizing only the pooled ones (requantization never decreases, so the largest
 *        requantized value of a window is the requantized largest sum).
 * @param[in]  conv         Convolution parameters; must not be NULL.
 * @param[in]  pool         Pooling of the convolution's output: channels = conv->out_channels,
 *                          in_height x in_width = the convolution's output size.
 * @param[in]  input        int8 [in_channels][in_height][in_width].
 * @param[in]  weights      Packed weights, as for ::lowbit_conv2d_s8.
 * @param[in]  weights_size As for ::lowbit_conv2d_s8.
 * @param[in]  bias         int32 [out_channels], or NULL for no bias.
 * @param[out] output       int8 [out_channels][pooled height][pooled width]; must not overlap
 *                          input or scratch.
 * @param[out] scratch      At least lowbit_conv2d_max_pool_scratch_size() bytes, any alignment.
 * @param[in]  scratch_size Size of scratch in bytes.
 * @return LOWBIT_OK, or the first error either operator would report (LOWBIT_ERR_ARG also when
 *         the pool does not match the convolution's output).
 */
lowbit_status_t lowbit_conv2d_max_pool_s8(const lowbit_conv2d_params_t* conv,
                                          const lowbit_pool_params_t* pool, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output, void* scratch,
                                          size_t scratch_size);

/** One input of ::lowbit_concat_s8 with its rescale to the common output scale. */
typedef struct {
  const int8_t* data; /**< length int8 values. */
  size_t length;      /**< Elements, >= 1 (C * H * W of a CHW tensor, or a feature count). */
  int32_t zero_point; /**< Zero point of this input in [-128, 127]. */
  int32_t multiplier; /**< input_scale / output_scale as a Q31 multiplier (see requantization). */
  int32_t shift;      /**< Shift that goes with multiplier, in [-31, 30]. */
} lowbit_concat_input_t;

/**
 * @brief Concatenate int8 buffers along the channel (CHW) or feature axis.
 *
 * For batch-1 CHW tensors with equal H and W, channel concatenation is buffer concatenation.
 * Each element becomes lowbit_requantize(q - zero_point, multiplier, shift, output_zero_point,
 * -128, 127); inputs already in the output scale use LOWBIT_IDENTITY_MULTIPLIER and
 * LOWBIT_IDENTITY_SHIFT, which reduces to q - zero_point + output_zero_point exactly.
 *
 * @param[in]  inputs            num_inputs descriptors; must not be NULL.
 * @param[in]  num_inputs        Number of inputs, >= 1.
 * @param[in]  output_zero_point Output zero point in [-128, 127].
 * @param[out] output            int8 buffer of output_length; must not overlap any input.
 * @param[in]  output_length     Must equal the sum of the input lengths.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG, LOWBIT_ERR_RANGE or LOWBIT_ERR_BUFFER.
 */
lowbit_status_t lowbit_concat_s8(const lowbit_concat_input_t* inputs, size_t num_inputs,
                                 int32_t output_zero_point, int8_t* output, size_t output_length);

/** Parameters of ::lowbit_add_s8: the two inputs' rescales share one shift. */
typedef struct {
  int32_t zero_point_a;      /**< Zero point of input a in [-128, 127]. */
  int32_t zero_point_b;      /**< Zero point of input b in [-128, 127]. */
  int32_t multiplier_a;      /**< scale_a / output_scale = multiplier_a * 2^(shift - 31), >= 0. */
  int32_t multiplier_b;      /**< scale_b / output_scale = multiplier_b * 2^(shift - 31), >= 0. */
  int32_t shift;             /**< Shared shift in [-31, 30]. */
  int32_t output_zero_point; /**< Output zero point in [-128, 127]. */
  int32_t act_min;           /**< Lower output clamp (activation) in [-128, 127]. */
  int32_t act_max;           /**< Upper output clamp in [act_min, 127]. */
} lowbit_add_params_t;

/**
 * @brief Element-wise sum of two int8 tensors in their own scales (a residual add).
 *
 * out[i] = clamp(round_half_away(((a[i] - zero_point_a) * multiplier_a +
 *                                 (b[i] - zero_point_b) * multiplier_b) * 2^(shift - 31))
 *                + output_zero_point, act_min, act_max),
 * with the sum exact in int64: one rounding into the output grid, and a following ReLU is the
 * clamp (docs/runtime.md, "Residual add").
 *
 * @param[in]  params  Zero points, rescales and clamp; must not be NULL.
 * @param[in]  input_a length int8 values.
 * @param[in]  input_b length int8 values (the same CHW shape as input_a).
 * @param[out] output  length int8 values; may be input_a or input_b itself (element i is read
 *                     before it is written), must not overlap them otherwise.
 * @param[in]  length  Elements, >= 1.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG or LOWBIT_ERR_RANGE.
 */
lowbit_status_t lowbit_add_s8(const lowbit_add_params_t* params, const int8_t* input_a,
                              const int8_t* input_b, int8_t* output, size_t length);

/**
 * @brief Index of the largest value (the predicted class); ties go to the lowest index.
 * @param[in]  values int8 scores.
 * @param[in]  length Number of scores, >= 1.
 * @param[out] index  Receives the index in [0, length); must not be NULL.
 * @return LOWBIT_OK or LOWBIT_ERR_ARG.
 */
lowbit_status_t lowbit_argmax_s8(const int8_t* values, size_t length, size_t* index);

/* ------------------------------------------------------------------------------------------ */
/* Decoder and spiking operators                                                              */
/* ------------------------------------------------------------------------------------------ */

/** Transposed 2-D convolution parameters (CHW, batch 1, groups 1, no dilation). */
typedef struct {
  size_t in_channels;            /**< Input channels, >= 1. */
  size_t in_height;              /**< Input rows, >= 1. */
  size_t in_width;               /**< Input columns, >= 1. */
  size_t out_channels;           /**< Output channels, >= 1. */
  size_t out_height;             /**< Output rows computed, >= 1 (any crop of the full size). */
  size_t out_width;              /**< Output columns computed, >= 1. */
  size_t kernel_h;               /**< Kernel rows, >= 1. */
  size_t kernel_w;               /**< Kernel columns, >= 1. */
  size_t stride_h;               /**< Vertical stride (upsampling factor), >= 1. */
  size_t stride_w;               /**< Horizontal stride, >= 1. */
  size_t pad_top;                /**< Rows cropped off the top of the full output. */
  size_t pad_left;               /**< Columns cropped off the left of the full output. */
  int32_t input_zero_point;      /**< Input zero point in [-128, 127]. */
  lowbit_format_t weight_format; /**< Format of the packed weights. */
  lowbit_requant_t requant;      /**< count 1 or out_channels. */
} lowbit_conv_transpose2d_params_t;

/**
 * @brief Scratch bytes needed by ::lowbit_conv_transpose2d_s8: the int32 sums of one output
 *        channel, 4 * out_height * out_width, plus LOWBIT_SCRATCH_SLACK.
 * @param[in] params Transposed convolution parameters.
 * @return The size in bytes, or 0 if params is NULL or invalid.
 */
size_t lowbit_conv_transpose2d_scratch_size(const lowbit_conv_transpose2d_params_t* params);

/**
 * @brief Transposed 2-D convolution (groups 1), CHW int8 in and out, cropped to a given size.
 *
 * Weights are packed [out_channels][in_channels][kernel_h][kernel_w], one padded row per output
 * channel (row_length = in_channels * kernel_h * kernel_w; PyTorch stores [in][out][kh][kw], the
 * exporter permutes). Each output is
 *   acc[o][y][x] = bias[o] + sum of (in[i][iy][ix] - input_zero_point) * w[o][i][ky][kx]
 *                  over i, ky, kx with iy * stride_h = y + pad_top - ky, 0 <= iy < in_height,
 *                  and ix * stride_w = x + pad_left - kx, 0 <= ix < in_width,
 * i.e. input element (i, iy, ix) adds to output (iy * stride_h + ky - pad_top,
 * ix * stride_w + kx - pad_left) when that lies in [0, out_height) x [0, out_width). PyTorch's
 * full size is (in - 1) * stride - 2 * pad + kernel (+ output_padding); out_height and out_width
 * may be that or fewer (the first rows and columns are kept). The sum is exact, saturated to int32
 * and requantized as for ::lowbit_conv2d_s8. row_length must not exceed 65793.
 *
 * @param[in]  params       Parameters; must not be NULL.
 * @param[in]  input        int8 [in_channels][in_height][in_width].
 * @param[in]  weights      Packed weights, as above.
 * @param[in]  weights_size Must equal lowbit_packed_size(format, out_channels, row_length).
 * @param[in]  bias         int32 [out_channels], or NULL for no bias.
 * @param[out] output       int8 [out_channels][out_height][out_width]; must not overlap input or
 *                          scratch.
 * @param[out] scratch      At least lowbit_conv_transpose2d_scratch_size() bytes, any alignment.
 * @param[in]  scratch_size Size of scratch in bytes.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG (NULL, zero size), LOWBIT_ERR_FORMAT, LOWBIT_ERR_RANGE (zero
 *         point, requantization, row_length above 65793) or LOWBIT_ERR_BUFFER (weights or scratch
 *         size).
 */
lowbit_status_t lowbit_conv_transpose2d_s8(const lowbit_conv_transpose2d_params_t* params,
                                           const int8_t* input, const uint8_t* weights,
                                           size_t weights_size, const int32_t* bias, int8_t* output,
                                           void* scratch, size_t scratch_size);

/** What a LIF neuron's membrane does after it spikes. Values are stable (generated code). */
typedef enum {
  LOWBIT_LIF_RESET_SUBTRACT = 0, /**< The threshold is subtracted (snnTorch "subtract"). */
  LOWBIT_LIF_RESET_ZERO = 1,     /**< The membrane is set to 0 (snnTorch "zero"). */
  LOWBIT_LIF_RESET_NONE = 2,     /**< No reset. */
  LOWBIT_LIF_RESET_COUNT = 3     /**< Number of reset kinds (not a reset). */
} lowbit_lif_reset_t;

/** Parameters of an integer leaky integrate-and-fire layer over a CHW tensor. */
typedef struct {
  size_t channels;          /**< Channels, >= 1. */
  size_t plane;             /**< Elements per channel (H * W; 1 after a dense layer), >= 1. */
  int32_t input_zero_point; /**< Zero point of the input current in [-128, 127]. */
  const int32_t* threshold; /**< param_count thresholds >= 1, in units of the current's step. */
  const int32_t* beta_q15;  /**< param_count decays in [0, 32768] (beta * 2^15); read only when
                                 leak_shift is 0, may be NULL otherwise. */
  size_t param_count;       /**< 1 (per layer) or channels (per channel). */
  int32_t leak_shift;       /**< 1..15: leak(U) = U - floor(U / 2^leak_shift); 0: beta_q15. */
  lowbit_lif_reset_t reset; /**< Reset after a spike. */
  int32_t reset_delay;      /**< 1: the reset applies at the next step (snnTorch), 0: at once. */
  int32_t membrane_bits;    /**< 16 (int16_t membrane) or 32 (int32_t membrane). */
} lowbit_lif_params_t;

/**
 * @brief Bytes of a LIF layer's state: channels * plane membranes of membrane_bits / 8 bytes,
 *        plus channels * plane pending-reset bytes when reset_delay is 1.
 * @param[in] params Parameters.
 * @return The size in bytes, or 0 if params is NULL or invalid.
 */
size_t lowbit_lif_state_bytes(const lowbit_lif_params_t* params);

/**
 * @brief Zero a LIF layer's state (membranes and pending resets): call before the first step of
 *        every new input sequence.
 * @param[in]  params        Parameters; must not be NULL.
 * @param[out] membrane      channels * plane int16_t or int32_t (by membrane_bits).
 * @param[out] pending_reset channels * plane bytes, or NULL (then reset_delay must be 0).
 * @return LOWBIT_OK, LOWBIT_ERR_ARG or LOWBIT_ERR_RANGE (as ::lowbit_lif_step_s8).
 */
lowbit_status_t lowbit_lif_reset_state(const lowbit_lif_params_t* params, void* membrane,
                                       uint8_t* pending_reset);

/**
 * @brief One time step of an integer LIF layer: integrate the current, spike, reset.
 *
 * Per element i of channel c (parameter entry c, or 0 per layer), with I = current[i] - zp,
 * U the membrane, R the pending reset, thr = threshold[c], sat() the membrane type's clamp and
 * floor division throughout (docs/runtime.md, "Spiking state"):
 *   leak(U) = U - floor(U / 2^leak_shift), or floor((U * beta_q15[c] + 2^14) / 2^15) if 0;
 *   reset_delay 1: U = sat(leak(U) + I - (R ? thr : 0))     (SUBTRACT)
 *                  U = sat((R ? 0 : leak(U)) + I)           (ZERO)
 *                  U = sat(leak(U) + I)                     (NONE)
 *                  S = U > thr; R = S
 *   reset_delay 0: U = sat(leak(U) + I); S = U > thr; then if S: U -= thr (SUBTRACT), U = 0
 *                  (ZERO), nothing (NONE).
 * spikes[i] = S in {0, 1} (scale 1, zero point 0).
 *
 * @param[in]     params        Parameters; must not be NULL.
 * @param[in]     current       int8 [channels * plane] input current codes.
 * @param[in,out] membrane      channels * plane int16_t (membrane_bits 16) or int32_t (32),
 *                              caller-owned and kept between steps; naturally aligned.
 * @param[in,out] pending_reset channels * plane bytes (0 or 1) kept between steps; may be NULL
 *                              when reset_delay is 0.
 * @param[out]    spikes        int8 [channels * plane]; may be current itself.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG (NULL, zero size, param_count neither 1 nor channels,
 *         beta_q15 NULL with leak_shift 0, pending_reset NULL with reset_delay 1) or
 *         LOWBIT_ERR_RANGE (zero point, threshold < 1, beta_q15 outside [0, 32768], leak_shift
 *         outside 0..15, unknown reset, reset_delay not 0/1, membrane_bits not 16/32).
 */
lowbit_status_t lowbit_lif_step_s8(const lowbit_lif_params_t* params, const int8_t* current,
                                   void* membrane, uint8_t* pending_reset, int8_t* spikes);

/**
 * @brief Accumulate a spike train over time steps: sum[i] = clamp(sum[i] + input[i] -
 *        input_zero_point, -128, 127). The sum is state, zeroed by the caller (all 0) before
 *        the first step; after T steps it is a rate with scale input_scale / T.
 * @param[in]     input            int8 [length].
 * @param[in]     input_zero_point Zero point of input in [-128, 127].
 * @param[in,out] sum              int8 [length]; must not overlap input.
 * @param[in]     length           Elements, >= 1.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG or LOWBIT_ERR_RANGE.
 */
lowbit_status_t lowbit_time_sum_s8(const int8_t* input, int32_t input_zero_point, int8_t* sum,
                                   size_t length);

/**
 * @brief Leaky ReLU in one int8 grid (same scale and zero point in and out):
 *        y = x if x >= zero_point, else zero_point + round_half_away((x - zero_point) *
 *        slope_q15 / 2^15).
 * @param[in]  input      int8 [length].
 * @param[in]  zero_point Zero point of input and output in [-128, 127].
 * @param[in]  slope_q15  Negative slope * 2^15 in [0, 32767] (0.1 -> 3277).
 * @param[out] output     int8 [length]; may be input itself.
 * @param[in]  length     Elements, >= 1.
 * @return LOWBIT_OK, LOWBIT_ERR_ARG or LOWBIT_ERR_RANGE.
 */
lowbit_status_t lowbit_leaky_relu_s8(const int8_t* input, int32_t zero_point, int32_t slope_q15,
                                     int8_t* output, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_RUNTIME_H_ */
