/* lowbit MCU kernels: fully connected layers in column form for microcontrollers.
 *
 * Freestanding C99 (only <stddef.h> and <stdint.h>). Implementations (all give the same bits):
 * - RV32 without a multiplier (RV32EC, RV32IC; GCC or clang): assembly for 4-bit sums and for
 *   requantization; table C paths for 1, 2 and 8 bits.
 * - Cortex-M0 (Thumb-1, GCC) and Cortex-M3/M4/M7 (Thumb-2): an assembly row loop for 4 bits in
 *   the multiplier C path. RV32IMC and every other compiler or target: the multiplier C path.
 * -DLOWBIT_MCU_NO_ASM selects the C paths everywhere; -DLOWBIT_MCU_FORCE_TABLE or
 * -DLOWBIT_MCU_FORCE_MUL picks the table or the multiplier path (tests run both on the host).
 *
 * Layer form. With int8 inputs x[n_in] and the layer's `skip` (the smallest value the input can
 * hold: x_i >= skip always), d_i = x_i - skip is in [0, 255]. Each weight is a field
 * f_ij in [0, 2^bits - 1]; the exporter turns the real codes into fields and folds the rest into
 * per-output constants (docs/export.md, "MCU targets"). The kernels compute
 *     S_j = sum_i d_i * f_ij        and        D = sum_i d_i
 * and skip every input with d_i == 0 (after a ReLU, and on the image background, about half).
 *
 * Weight layout (INPUT-MAJOR, "columns"): bits in {1, 2, 4, 8}; codes per byte cpb = 8 / bits;
 * row_bytes = ceil(n_out * bits / 8); input i's row starts at byte i * row_bytes; the field of
 * output j is at bit offset (j * bits) % 8 of byte (j * bits) / 8 of that row, LSB first; padding
 * fields (j >= n_out) are 0. Example, 4 bits, n_out = 3: row bytes {f_i0 | f_i1 << 4, f_i2}.
 * Rows are read 32 bits at a time on cores with a multiplier when row_bytes % 4 == 0 and `w` is
 * 4-byte aligned (declare the array with __attribute__((aligned(4))) under GCC or clang: GCC for
 * Arm does not align const byte arrays by itself); otherwise a byte at a time, same result.
 *
 * Exactness: S_j <= n_in * 255 * (2^bits - 1) must be < 2^31 (the exporter checks it):
 * n_in <= 8,421,504 (1 bit), 2,807,168 (2), 561,433 (4), 33,025 (8). Then every S_j and D is
 * exact in int32; partial sums are kept in 16-bit lanes and added out before they can wrap.
 * Preconditions (not checked: these are the inner loops): n_out >= 1, every x_i in
 * [skip, skip + 255], buffers of the sizes below, sums and work 4-byte aligned (their types).
 */
#ifndef LOWBIT_MCU_H_
#define LOWBIT_MCU_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Codes per weight byte: 8 / bits. */
#define LOWBIT_MCU_CODES_PER_BYTE(bits) (8u / (uint32_t)(bits))

/** n_out rounded up to whole weight bytes: the int32 sums a kernel may write. */
#define LOWBIT_MCU_FC_SUMS_WORDS(n_out, bits)                                                     \
  (((uint32_t)(n_out) + LOWBIT_MCU_CODES_PER_BYTE(bits) - 1u) / LOWBIT_MCU_CODES_PER_BYTE(bits) * \
   LOWBIT_MCU_CODES_PER_BYTE(bits))

/** Work words for the 16-bit lane accumulators (two outputs a word; none for 8 bits). */
#define LOWBIT_MCU_FC_LANE_WORDS(n_out, bits) \
  ((uint32_t)(bits) == 8u ? 0u : LOWBIT_MCU_FC_SUMS_WORDS(n_out, bits) / 2u)

/** Work words for the per-input product tables of cores without a multiplier. */
#define LOWBIT_MCU_FC_TABLE_WORDS 64u

/** uint32 work words lowbit_mcu_fc_sums_b<bits> needs on every target (a safe bound). */
#define LOWBIT_MCU_FC_WORK_WORDS(n_out, bits) \
  (LOWBIT_MCU_FC_LANE_WORDS(n_out, bits) + LOWBIT_MCU_FC_TABLE_WORDS)

/** Work words enough where LOWBIT_MCU_TABLE_KERNELS is 0 (RV32 with M, Arm, others): no tables. */
#define LOWBIT_MCU_FC_WORK_WORDS_MUL(n_out, bits) LOWBIT_MCU_FC_LANE_WORDS(n_out, bits)

/** 1 when this compilation uses the multiplier-free (table) kernels, else 0. */
#if defined(LOWBIT_MCU_FORCE_TABLE)
#define LOWBIT_MCU_TABLE_KERNELS 1
#elif defined(LOWBIT_MCU_FORCE_MUL)
#define LOWBIT_MCU_TABLE_KERNELS 0
#elif defined(__riscv) && !defined(__riscv_mul) && !defined(__riscv_zmmul)
#define LOWBIT_MCU_TABLE_KERNELS 1
#else
#define LOWBIT_MCU_TABLE_KERNELS 0
#endif

/**
 * S_j = sum_i (x_i - skip) * f_ij for 1-bit fields; returns D = sum_i (x_i - skip).
 * @param x      n_in int8 inputs, each >= skip and <= skip + 255
 * @param n_in   inputs (>= 0; S and D are 0 for none)
 * @param skip   the layer's clamp minimum
 * @param w      n_in * row_bytes weight bytes in the column layout above
 * @param n_out  outputs (>= 1)
 * @param sums   LOWBIT_MCU_FC_SUMS_WORDS(n_out, bits) int32 (all written; the tail is padding)
 * @param work   LOWBIT_MCU_FC_WORK_WORDS(n_out, bits) uint32 of scratch, dead between calls
 *               (LOWBIT_MCU_FC_WORK_WORDS_MUL suffices where LOWBIT_MCU_TABLE_KERNELS is 0)
 */
int32_t lowbit_mcu_fc_sums_b1(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work);
/** As lowbit_mcu_fc_sums_b1 for 2-bit fields. */
int32_t lowbit_mcu_fc_sums_b2(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work);
/** As lowbit_mcu_fc_sums_b1 for 4-bit fields. */
int32_t lowbit_mcu_fc_sums_b4(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work);
/** As lowbit_mcu_fc_sums_b1 for 8-bit fields. */
int32_t lowbit_mcu_fc_sums_b8(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work);

/**
 * Requantizes n sums (n >= 0) to int8, with 32-bit arithmetic only:
 *     a_j = c_j + base_d + sums_j * 2^step_shift
 *     p   = a_j * m                    (caller guarantees |a_j| * m < 2^31)
 *     y_j = clamp(sign(p) * ((|p| + 2^(r-1)) >> r) + zp, lo, hi)   (half away from zero)
 * @param base_d      code_min * D, computed by the caller
 * @param step_shift  0 or 1 (odd-grid formats step by 2)
 * @param m, r        multipliers in [1, 2^31 - 1] and shifts in [1, 31]; n of each when
 *                    per_channel, else one for all. Cores without a multiplier shift and add
 *                    over m's set bits (about 30 + 5 per set bit instructions an output on
 *                    RV32E), so m should have few (strip its trailing zeros); m == 1 costs
 *                    one shift.
 * @param zp, lo, hi  output zero point and clamp, -128 <= lo <= hi <= 127
 * @param y           n int8 outputs
 */
void lowbit_mcu_requant(const int32_t* sums, uint32_t n, const int32_t* c, int32_t base_d,
                        uint32_t step_shift, const int32_t* m, const uint8_t* r,
                        uint32_t per_channel, int32_t zp, int32_t lo, int32_t hi, int8_t* y);
/** lowbit_mcu_requant with int16 constants c (half the flash when they fit). */
void lowbit_mcu_requant_c16(const int32_t* sums, uint32_t n, const int16_t* c, int32_t base_d,
                            uint32_t step_shift, const int32_t* m, const uint8_t* r,
                            uint32_t per_channel, int32_t zp, int32_t lo, int32_t hi, int8_t* y);

/**
 * The per-sample shift of a dynshift layer (BitNetMCU's ReLUNorm) over its sums, in 32 bits:
 *     a_j = c_j + base_d + sums_j * 2^step_shift      (caller guarantees |a_j| < 2^31)
 *     m   = max_j a_j (relu) or max_j |a_j|; s = the smallest integer with m < (code_max + 1) 2^s
 *     y_j = clamp(floor((a_j + 2^(s-1)) / 2^s) (s > 0) or a_j * 2^-s, relu ? 0 : -code_max,
 *                 code_max)
 * sums is overwritten with a_j. c may be NULL (all constants 0).
 * @param code_max  1..127
 * @param relu      1: outputs 0..code_max; 0: -code_max..code_max
 */
void lowbit_mcu_dynshift(int32_t* sums, uint32_t n, const int32_t* c, int32_t base_d,
                         uint32_t step_shift, int32_t code_max, uint32_t relu, int8_t* y);

/** A sums kernel: lowbit_mcu_fc_sums_b1, _b2, _b4 or _b8 (what a layer's field width picks). */
typedef int32_t (*lowbit_mcu_sums_fn)(const int8_t* x, uint32_t n_in, int32_t skip,
                                      const uint8_t* w, uint32_t n_out, int32_t* sums,
                                      uint32_t* work);

/**
 * A 2-D convolution (groups 1, int8 CHW) on the column kernels, optionally fused with the max
 * pooling of its output. Each output position gathers its input patch, n_in = in_channels *
 * kernel_h * kernel_w values in weight-row order ((c * kernel_h + ky) * kernel_w + kx), with the
 * padding as in_zp; the patch is a fully connected layer's input: `columns` holds n_in rows of
 * out_channels fields (the layout above), so
 *     a_j = c_j + base * D + 2^step_shift * S_j = bias_j + sum_i (patch_i - in_zp) w_ij.
 * With a pool, the largest a_j of each window is requantized (requantization never decreases, so
 * this equals pooling the requantized outputs). Outputs are written CHW:
 * y[(j * pooled_height + py) * pooled_width + px]. Without a pool: pool 1x1, stride 1, pad 0 and
 * pooled = out sizes.
 * Preconditions (checked by the exporter): skip <= in_zp and every input >= skip; the sums kernel's
 * bounds (n_in rows) and |a_j| * m < 2^31; every pool window holds at least one conv output.
 */
typedef struct {
  lowbit_mcu_sums_fn sums;  /**< Sums kernel of the field width. */
  const uint8_t* columns;   /**< n_in rows of out_channels fields, 4-byte aligned. */
  const int32_t* constants; /**< out_channels c_j (bias, zero points and skip folded in). */
  const int32_t* m;         /**< Multipliers: out_channels when per_channel, else one. */
  const uint8_t* r;         /**< Right shifts, as many as m. */
  uint16_t in_channels, in_height, in_width, out_channels;
  uint16_t out_height, out_width;       /**< The convolution's output. */
  uint16_t pooled_height, pooled_width; /**< The stored output (out sizes without a pool). */
  uint8_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
  uint8_t pool_h, pool_w, pool_stride_h, pool_stride_w, pool_pad_top, pool_pad_left;
  uint8_t bits;        /**< Field width: 1, 2, 4 or 8. */
  uint8_t step_shift;  /**< 0 or 1 (odd-grid formats step by 2). */
  uint8_t per_channel; /**< 1: one m and r per output channel. */
  int16_t base;        /**< Weight of field 0 (the format's smallest code). */
  int16_t skip;        /**< The sums kernel's skip: at most in_zp and every input. */
  int16_t in_zp;       /**< Input zero point: the padding value. */
  int16_t zp, lo, hi;  /**< Output zero point and clamp. */
} lowbit_mcu_conv_t;

/** Scratch bytes lowbit_mcu_conv needs: alignment, sums, work, window maxima, outputs, patch. */
#define LOWBIT_MCU_CONV_SCRATCH_BYTES(n_in, n_out, bits)                                 \
  (3u +                                                                                  \
   4u * (LOWBIT_MCU_FC_SUMS_WORDS(n_out, bits) + LOWBIT_MCU_FC_WORK_WORDS(n_out, bits) + \
         (uint32_t)(n_out)) +                                                            \
   (uint32_t)(n_out) + (uint32_t)(n_in))

/**
 * Runs the convolution `l` (see lowbit_mcu_conv_t) on x (in_channels x in_height x in_width) into
 * y (out_channels x pooled_height x pooled_width), with LOWBIT_MCU_CONV_SCRATCH_BYTES(in_channels
 * * kernel_h * kernel_w, out_channels, bits) bytes of scratch (any alignment).
 */
void lowbit_mcu_conv(const lowbit_mcu_conv_t* l, const int8_t* x, int8_t* y, void* scratch);

/** Scratch bytes lowbit_mcu_conv_depthwise needs: one channel's int32 accumulators (the
 * convolution's out_height * out_width), its kernel_h * kernel_w weights as int16, alignment. */
#define LOWBIT_MCU_CONV_DEPTHWISE_SCRATCH_BYTES(kernel_h, kernel_w, out_height, out_width) \
  (3u + 4u * (uint32_t)(out_height) * (uint32_t)(out_width) +                              \
   2u * (uint32_t)(kernel_h) * (uint32_t)(kernel_w))

/**
 * A depthwise convolution (groups = in_channels = out_channels), optionally with the max pool
 * after it, from the same descriptor: `columns` holds kernel_h * kernel_w rows (one per tap) of
 * out_channels fields, `sums` is unused (NULL). Output channel j reads input channel j only:
 *     a_j = c_j + sum_t (v_t - skip) (base + 2^step_shift * f_tj),
 * v_t the input under tap t (in_zp in the padding); pooling and requantization as in
 * lowbit_mcu_conv. Each channel is summed tap by tap over its whole output plane, int32 in
 * scratch (LOWBIT_MCU_CONV_DEPTHWISE_SCRATCH_BYTES), so the loops see no per-output geometry;
 * inputs at skip cost only the test.
 */
void lowbit_mcu_conv_depthwise(const lowbit_mcu_conv_t* l, const int8_t* x, int8_t* y,
                               void* scratch);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_MCU_H_ */
