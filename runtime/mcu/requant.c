/* lowbit_mcu_requant and lowbit_mcu_requant_c16: 32-bit requantization of a layer's sums.
 *
 * The product a * m is formed modulo 2^32, which is exact because the exporter guarantees
 * |a| * m < 2^31. Cores without a multiplier (LOWBIT_MCU_TABLE_KERNELS) shift and add over m's
 * set bits: the gaps between them are listed once per call (once per output when per_channel),
 * so a multiplier with k set bits costs 2k instructions per output and m == 1 none. */
#include "fc_sums_impl.h"

#if LOWBIT_MCU_TABLE_KERNELS && LOWBIT_MCU_ASM && defined(__riscv) && __riscv_xlen == 32

/* Arguments 7 to 13 (r, per_channel, zp, lo, hi, y): all on the caller's stack under ILP32E (6
 * argument registers), r and per_channel in a6 and a7 under ILP32 (per_channel is then kept at
 * 44 in the frame). */
#if defined(__riscv_abi_rve)
#define LOWBIT_MCU_RQ_ENTRY "  lw t2, 64(sp)\n"
#define LOWBIT_MCU_RQ_PC "68"
#define LOWBIT_MCU_RQ_ZP "72"
#define LOWBIT_MCU_RQ_LO "76"
#define LOWBIT_MCU_RQ_HI "80"
#define LOWBIT_MCU_RQ_Y "84"
#else
#define LOWBIT_MCU_RQ_ENTRY "  mv t2, a6\n  sw a7, 44(sp)\n"
#define LOWBIT_MCU_RQ_PC "44"
#define LOWBIT_MCU_RQ_ZP "64"
#define LOWBIT_MCU_RQ_LO "68"
#define LOWBIT_MCU_RQ_HI "72"
#define LOWBIT_MCU_RQ_Y "76"
#endif

/* RV32 without a multiplier: an assembler macro (NAME, LOAD for the constants, STRIDE their
 * size) expanded for both entry points. Frame (64 bytes, a multiple of 16 so that the sp
 * adjustments compress): 0..31 the shifts of m's set bits (bytes), 32 next m, 36 next r, 40
 * base_d, 44 per_channel (ILP32), 52 s1, 56 s0, 60 ra; the caller's stack arguments follow at
 * 64 (LOWBIT_MCU_RQ_*). Registers: a0 sums, a2 c, a4 step_shift, a5 y, a1 y end, t0 2^(r-1),
 * t1 r, s1 the end of the shift list; a3 (a), s0 (p), ra (list), t2 scratch. */
// clang-format off
__asm__(
    "  .macro lowbit_mcu_rq name, load, stride\n"
    "  .section .text.\\name,\"ax\",@progbits\n"
    "  .globl \\name\n"
    "  .type \\name, @function\n"
    "  .p2align 1\n"
    "\\name:\n"
    "  addi sp, sp, -64\n"
    "  sw ra, 60(sp)\n"
    "  sw s0, 56(sp)\n"
    "  sw s1, 52(sp)\n"
    "  sw a3, 40(sp)\n"
    "  sw a5, 32(sp)\n"
    LOWBIT_MCU_RQ_ENTRY
    "  sw t2, 36(sp)\n"
    "  lw a5, " LOWBIT_MCU_RQ_Y "(sp)\n"
    "  add a1, a1, a5\n"
    "  beq a5, a1, 9f\n"
    /* The next channel's scale: t0 = 2^(r-1), t1 = r, the shifts of m's set bits. */
    "1:\n"
    "  lw a3, 32(sp)\n"
    "  lw s0, 0(a3)\n"
    "  addi a3, a3, 4\n"
    "  sw a3, 32(sp)\n"
    "  lw a3, 36(sp)\n"
    "  lbu t1, 0(a3)\n"
    "  addi a3, a3, 1\n"
    "  sw a3, 36(sp)\n"
    "  addi t2, t1, -1\n"
    "  li t0, 1\n"
    "  sll t0, t0, t2\n"
    "  mv s1, sp\n"
    "  li t2, 0\n"
    "2:\n"
    "  andi a3, s0, 1\n"
    "  beqz a3, 3f\n"
    "  sb t2, 0(s1)\n"
    "  addi s1, s1, 1\n"
    "3:\n"
    "  addi t2, t2, 1\n"
    "  srli s0, s0, 1\n"
    "  bnez s0, 2b\n"
    /* One output: a = c + base_d + (sums << step), p = a * m. */
    "4:\n"
    "  lw a3, 0(a0)\n"
    "  sll a3, a3, a4\n"
    "  lw t2, 40(sp)\n"
    "  add a3, a3, t2\n"
    "  \\load t2, 0(a2)\n"
    "  add a3, a3, t2\n"
    "  mv ra, sp\n"
    "  li s0, 0\n"
    "5:\n"
    "  lbu t2, 0(ra)\n"
    "  addi ra, ra, 1\n"
    "  sll t2, a3, t2\n"
    "  add s0, s0, t2\n"
    "  bne ra, s1, 5b\n"
    /* Round |p| half up, put the sign back, add zp, clamp. */
    "  srai a3, s0, 31\n"
    "  xor s0, s0, a3\n"
    "  sub s0, s0, a3\n"
    "  add s0, s0, t0\n"
    "  srl s0, s0, t1\n"
    "  xor s0, s0, a3\n"
    "  sub s0, s0, a3\n"
    "  lw a3, " LOWBIT_MCU_RQ_ZP "(sp)\n"
    "  add s0, s0, a3\n"
    "  lw a3, " LOWBIT_MCU_RQ_LO "(sp)\n"
    "  bge s0, a3, 7f\n"
    "  mv s0, a3\n"
    "7:\n"
    "  lw a3, " LOWBIT_MCU_RQ_HI "(sp)\n"
    "  bge a3, s0, 8f\n"
    "  mv s0, a3\n"
    "8:\n"
    "  sb s0, 0(a5)\n"
    "  addi a0, a0, 4\n"
    "  addi a2, a2, \\stride\n"
    "  addi a5, a5, 1\n"
    "  beq a5, a1, 9f\n"
    "  lw a3, " LOWBIT_MCU_RQ_PC "(sp)\n"
    "  beqz a3, 4b\n"
    "  j 1b\n"
    "9:\n"
    "  lw ra, 60(sp)\n"
    "  lw s0, 56(sp)\n"
    "  lw s1, 52(sp)\n"
    "  addi sp, sp, 64\n"
    "  ret\n"
    "  .size \\name, .-\\name\n"
    "  .endm\n"
    "  lowbit_mcu_rq lowbit_mcu_requant, lw, 4\n"
    "  lowbit_mcu_rq lowbit_mcu_requant_c16, lh, 2\n"
    "  .purgem lowbit_mcu_rq\n"
    "  .text\n");
// clang-format on

#else

/* How one multiplier is applied: its set-bit gaps (no multiplier) and its rounding. */
typedef struct {
  uint32_t m;
  uint32_t r;
  uint32_t half;    /* 2^(r-1) */
#if LOWBIT_MCU_TABLE_KERNELS
  uint32_t n_gaps;  /* 0 for m == 1 */
  uint8_t gaps[32]; /* a * m = sum of a << (gaps[0] + ... + gaps[i]) over i */
#endif
} lowbit_mcu_scale_t;

LOWBIT_MCU_INLINE void lowbit_mcu_scale_set(lowbit_mcu_scale_t* s, int32_t m, uint32_t r) {
  s->m = (uint32_t)m;
  s->r = r;
  s->half = 1u << (r - 1u);
#if LOWBIT_MCU_TABLE_KERNELS
  {
    uint32_t t = (uint32_t)m, gap = 0, n = 0;
    if (t != 1u) {
      for (; t != 0u; t >>= 1, ++gap) {
        if (t & 1u) {
          s->gaps[n++] = (uint8_t)gap;
          gap = 0;
        }
      }
    }
    s->n_gaps = n;
  }
#endif
}

/* a * m modulo 2^32. */
LOWBIT_MCU_INLINE uint32_t lowbit_mcu_scale_mul(const lowbit_mcu_scale_t* s, uint32_t a) {
#if LOWBIT_MCU_TABLE_KERNELS
  const uint8_t* g = s->gaps;
  const uint8_t* const end = g + s->n_gaps;
  uint32_t p;
  if (g == end) return a;
  p = 0;
  do {
    a <<= *g++;
    p += a;
  } while (g != end);
  return p;
#else
  return a * s->m;
#endif
}

/* The shared loop; c16 != 0 reads `c` as int16_t constants, else as int32_t. */
LOWBIT_MCU_INLINE void lowbit_mcu_requant_any(const int32_t* sums, uint32_t n, const void* c,
                                              int c16, int32_t base_d, uint32_t step_shift,
                                              const int32_t* m, const uint8_t* r,
                                              uint32_t per_channel, int32_t zp, int32_t lo,
                                              int32_t hi, int8_t* y) {
  int8_t* const end = y + n;
  lowbit_mcu_scale_t s;
  if (n == 0u) return;
  lowbit_mcu_scale_set(&s, m[0], r[0]);
  for (;;) {
    const uint32_t k = c16 ? (uint32_t)(int32_t) * (const int16_t*)c : *(const uint32_t*)c;
    const uint32_t a = k + (uint32_t)base_d + ((uint32_t)*sums++ << step_shift);
    const uint32_t p = lowbit_mcu_scale_mul(&s, a);
    const uint32_t negative = p >> 31;
    /* |p| + 2^(r-1) < 2^31 + 2^30 fits in uint32. */
    const uint32_t magnitude = ((negative ? 0u - p : p) + s.half) >> s.r;
    int32_t q = (negative ? -(int32_t)magnitude : (int32_t)magnitude) + zp;
    if (q < lo) q = lo;
    if (q > hi) q = hi;
    *y++ = (int8_t)q;
    if (y == end) break;
    c = c16 ? (const void*)((const int16_t*)c + 1) : (const void*)((const int32_t*)c + 1);
    if (per_channel) lowbit_mcu_scale_set(&s, *++m, *++r);
  }
}

void lowbit_mcu_requant(const int32_t* sums, uint32_t n, const int32_t* c, int32_t base_d,
                        uint32_t step_shift, const int32_t* m, const uint8_t* r,
                        uint32_t per_channel, int32_t zp, int32_t lo, int32_t hi, int8_t* y) {
  lowbit_mcu_requant_any(sums, n, c, 0, base_d, step_shift, m, r, per_channel, zp, lo, hi, y);
}

void lowbit_mcu_requant_c16(const int32_t* sums, uint32_t n, const int16_t* c, int32_t base_d,
                            uint32_t step_shift, const int32_t* m, const uint8_t* r,
                            uint32_t per_channel, int32_t zp, int32_t lo, int32_t hi, int8_t* y) {
  lowbit_mcu_requant_any(sums, n, c, 1, base_d, step_shift, m, r, per_channel, zp, lo, hi, y);
}

#endif
