/* Start-up for a freestanding RV32 image under qemu-user (bench/mcu/peers.sh).
 * qemu takes the Linux system call number in t0 for RV32E binaries and in a7 otherwise. */
#ifdef __riscv_32e
#define SYSNO t0
#else
#define SYSNO a7
#endif
  .text
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  call main
  li SYSNO, 93 /* exit(main's return value) */
  ecall

  .globl peer_sys_read
peer_sys_read:
  li SYSNO, 63
  ecall
  ret

  .globl peer_sys_write
peer_sys_write:
  li SYSNO, 64
  ecall
  ret
