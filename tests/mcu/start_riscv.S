/* Start-up for kernel_test.c and the MCU bench under qemu-riscv32 (Linux user mode, no C
 * library): _start calls main and exits with its value; lowbit_test_write writes stdout and
 * lowbit_test_read reads stdin. qemu takes the system call number in t0 for RV32E binaries (the
 * ILP32E convention) and in a7 otherwise. */
#if defined(__riscv_32e) || defined(__riscv_e)
#define SYSCALL_NUMBER t0
#else
#define SYSCALL_NUMBER a7
#endif
  .text
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  call main
  li SYSCALL_NUMBER, 93
  ecall
  .globl lowbit_test_write
lowbit_test_write:
  mv a2, a1
  mv a1, a0
  li a0, 1
  li SYSCALL_NUMBER, 64
  ecall
  ret
  .globl lowbit_test_read
lowbit_test_read:
  mv a2, a1
  mv a1, a0
  li a0, 0
  li SYSCALL_NUMBER, 63
  ecall
  ret
