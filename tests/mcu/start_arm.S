/* Start-up for kernel_test.c and the MCU bench under qemu-arm (Linux user mode, EABI system
 * calls: number in r7, svc 0; no C library): _start calls main and exits with its value;
 * lowbit_test_write writes stdout and lowbit_test_read reads stdin. Thumb-1 only, so the same
 * file serves Cortex-M0 and Cortex-M4. */
  .syntax unified
  .thumb
  .text
  .globl _start
  .thumb_func
_start:
  bl main
  movs r7, #1
  svc 0
  .globl lowbit_test_write
  .thumb_func
lowbit_test_write:
  push {r7, lr}
  movs r2, r1
  movs r1, r0
  movs r0, #1
  movs r7, #4
  svc 0
  pop {r7, pc}
  .globl lowbit_test_read
  .thumb_func
lowbit_test_read:
  push {r7, lr}
  movs r2, r1
  movs r1, r0
  movs r0, #0
  movs r7, #3
  svc 0
  pop {r7, pc}
