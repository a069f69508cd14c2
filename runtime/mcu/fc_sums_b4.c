/* lowbit_mcu_fc_sums_b4: 4-bit fields (the demo model's format).
 *
 * RV32 without a multiplier (RV32EC: CH32V003-class), GCC or clang: the assembly below. It takes
 * the nonzero inputs two at a time, so each lane word is read and written once per two rows.
 * Per pair it fills a 256-byte table: row f (16 bytes) holds (d1 f) << 16, (d2 f) << 16, d1 f,
 * d2 f, so a weight byte b of input k finds its high nibble's lane value at T + (b & 0xF0) + 4k
 * and its low nibble's at T + ((b << 28) >> 24) + 8 + 4k: three and four instructions. One
 * position (a byte of each row) costs 26 instructions, 13 per weight byte; row 0 of the table is
 * zeroed once per call. One position a time (an unrolled pass would save 2 instructions a
 * position for 60 more bytes; flash is the scarcer resource on a 16 kB part). Lanes are added out
 * every 8 pairs (16 inputs: 16 * 3825 < 65536). Only x1 and x5..x15 are used, so the same code runs
 * on RV32E and RV32I (either ABI). Every other target: the C paths of fc_sums_impl.h. */
#include "fc_sums_impl.h"

#if LOWBIT_MCU_TABLE_KERNELS && LOWBIT_MCU_ASM && defined(__riscv) && __riscv_xlen == 32

/* The 7th argument (work): on the stack under ILP32E (6 argument registers), in a6 under ILP32. */
#if defined(__riscv_abi_rve)
#define LOWBIT_MCU_RV_WORK "  lw a0, 48(sp)\n"
#else
#define LOWBIT_MCU_RV_WORK "  mv a0, a6\n"
#endif

/* Frame (48 bytes, a multiple of 16 so that the sp adjustments compress): 0 pairs left before
 * a flush, 4 D, 8 skip, 12 x end, 16 sums, 20 lanes (= work), 36 s1, 40 s0, 44 ra; the
 * 7th argument (work) is the caller's stack word at 48 (ILP32E) or a6 (ILP32). Registers: t0 x,
 * a3 the row after x's, a4 row bytes (= lane words), ra the table T = lanes + 4 * row bytes,
 * t1 / t2 the two rows of a pair, a5 the lane word, a1 the end of row 1. */
__asm__(
    "  .section .text.lowbit_mcu_fc_sums_b4,\"ax\",@progbits\n"
    "  .globl lowbit_mcu_fc_sums_b4\n"
    "  .type lowbit_mcu_fc_sums_b4, @function\n"
    "  .p2align 1\n"
    "lowbit_mcu_fc_sums_b4:\n"
    "  addi sp, sp, -48\n"
    "  sw ra, 44(sp)\n"
    "  sw s0, 40(sp)\n"
    "  sw s1, 36(sp)\n"
    "  mv t0, a0\n" LOWBIT_MCU_RV_WORK
    "  sw a0, 20(sp)\n"
    "  sw a5, 16(sp)\n"
    "  add a1, a1, t0\n"
    "  sw a1, 12(sp)\n"
    "  sw a2, 8(sp)\n"
    "  sw zero, 4(sp)\n"
    "  li s0, 8\n"
    "  sw s0, 0(sp)\n"
    "  addi a4, a4, 1\n"
    "  srli a4, a4, 1\n"
    "  slli ra, a4, 2\n"
    "  add ra, ra, a0\n"
    /* Zero the lanes, the sums and row 0 of the table (prime registers: compressed stores). */
    "  li s1, 0\n"
    "1:\n"
    "  sw s1, 0(a0)\n"
    "  sw s1, 0(a5)\n"
    "  sw s1, 4(a5)\n"
    "  addi a0, a0, 4\n"
    "  addi a5, a5, 8\n"
    "  bne a0, ra, 1b\n"
    "  sw s1, 0(a0)\n"
    "  sw s1, 4(a0)\n"
    "  sw s1, 8(a0)\n"
    "  sw s1, 12(a0)\n"
    /* Find the next two nonzero inputs: d1 in s1 (row t2), d2 in s0 (row t1). */
    "2:\n"
    "  lw a1, 12(sp)\n"
    "  lw a2, 8(sp)\n"
    "  li s1, 0\n"
    "3:\n"
    "  beq t0, a1, 4f\n"
    "  lb s0, 0(t0)\n"
    "  addi t0, t0, 1\n"
    "  sub s0, s0, a2\n"
    "  add a3, a3, a4\n"
    "  beqz s0, 3b\n"
    "  sub t1, a3, a4\n"
    "  bnez s1, 5f\n"
    "  mv s1, s0\n"
    "  mv t2, t1\n"
    "  j 3b\n"
    "4:\n" /* the end of x: nothing left, or an odd one out, paired with 0 over its own row */
    "  beqz s1, 9f\n"
    "  li s0, 0\n"
    "  mv t1, t2\n"
    "5:\n"
    "  lw a1, 4(sp)\n"
    "  add a1, a1, s0\n"
    "  add a1, a1, s1\n"
    "  sw a1, 4(sp)\n"
    /* Table rows 15 .. 1, counting down to T (s1 = d1 -> T + 4k with k = 0, s0 = d2 -> k = 1). */
    "  slli a2, s1, 4\n"
    "  sub a2, a2, s1\n"
    "  slli a0, s0, 4\n"
    "  sub a0, a0, s0\n"
    "  addi a5, ra, 240\n"
    "6:\n"
    "  slli a1, a2, 16\n"
    "  sw a1, 0(a5)\n"
    "  slli a1, a0, 16\n"
    "  sw a1, 4(a5)\n"
    "  sw a2, 8(a5)\n"
    "  sw a0, 12(a5)\n"
    "  sub a2, a2, s1\n"
    "  sub a0, a0, s0\n"
    "  addi a5, a5, -16\n"
    "  bne a5, ra, 6b\n"
    /* The pass over the two rows (t2: k = 0, t1: k = 1), one position (byte) at a time. */
    "  lw a5, 20(sp)\n"
    "  add a1, t2, a4\n"
    "7:\n"
    "  lbu s0, 0(t2)\n"
    "  lbu s1, 0(t1)\n"
    "  andi a2, s0, 240\n"
    "  add a2, a2, ra\n"
    "  lw a2, 0(a2)\n"
    "  slli s0, s0, 28\n"
    "  srli s0, s0, 24\n"
    "  add s0, s0, ra\n"
    "  lw s0, 8(s0)\n"
    "  add a2, a2, s0\n"
    "  andi s0, s1, 240\n"
    "  add s0, s0, ra\n"
    "  lw s0, 4(s0)\n"
    "  add a2, a2, s0\n"
    "  slli s1, s1, 28\n"
    "  srli s1, s1, 24\n"
    "  add s1, s1, ra\n"
    "  lw s1, 12(s1)\n"
    "  add a2, a2, s1\n"
    "  lw s0, 0(a5)\n"
    "  add a2, a2, s0\n"
    "  sw a2, 0(a5)\n"
    "  addi t2, t2, 1\n"
    "  addi t1, t1, 1\n"
    "  addi a5, a5, 4\n"
    "  bne t2, a1, 7b\n"
    "  lw a0, 0(sp)\n"
    "  addi a0, a0, -1\n"
    "  sw a0, 0(sp)\n"
    "  bnez a0, 2b\n"
    /* Add the lanes out (after 8 pairs, and at the end of x), then go on or return D. */
    "9:\n"
    "  li a0, 8\n"
    "  sw a0, 0(sp)\n"
    "  lw a5, 20(sp)\n"
    "  lw a0, 16(sp)\n"
    "8:\n"
    "  lw s0, 0(a5)\n"
    "  sw zero, 0(a5)\n"
    "  slli s1, s0, 16\n"
    "  srli s1, s1, 16\n"
    "  srli s0, s0, 16\n"
    "  lw a2, 0(a0)\n"
    "  add a2, a2, s1\n"
    "  sw a2, 0(a0)\n"
    "  lw a2, 4(a0)\n"
    "  add a2, a2, s0\n"
    "  sw a2, 4(a0)\n"
    "  addi a5, a5, 4\n"
    "  addi a0, a0, 8\n"
    "  bne a5, ra, 8b\n"
    "  lw a1, 12(sp)\n"
    "  bne t0, a1, 2b\n"
    "  lw a0, 4(sp)\n"
    "  lw ra, 44(sp)\n"
    "  lw s0, 40(sp)\n"
    "  lw s1, 36(sp)\n"
    "  addi sp, sp, 48\n"
    "  ret\n"
    "  .size lowbit_mcu_fc_sums_b4, .-lowbit_mcu_fc_sums_b4\n"
    "  .text\n");

#else

int32_t lowbit_mcu_fc_sums_b4(const int8_t* x, uint32_t n_in, int32_t skip, const uint8_t* w,
                              uint32_t n_out, int32_t* sums, uint32_t* work) {
#if LOWBIT_MCU_TABLE_KERNELS
  return lowbit_mcu_sums_table(x, n_in, skip, w, n_out, sums, work, 4u);
#else
  return lowbit_mcu_sums_mul(x, n_in, skip, w, n_out, sums, work, 4u);
#endif
}

#endif
