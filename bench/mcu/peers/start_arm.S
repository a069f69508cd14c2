/* Start-up for a freestanding Thumb image under qemu-arm (bench/mcu/peers.sh).
 * Linux EABI system calls: number in r7, then svc 0 (1 exit, 3 read, 4 write). */
  .syntax unified
  .thumb
  .text
  .globl _start
  .thumb_func
_start:
  bl main
  movs r7, #1
  svc 0

  .globl peer_sys_read
  .thumb_func
peer_sys_read:
  push {r7, lr}
  movs r7, #3
  svc 0
  pop {r7, pc}

  .globl peer_sys_write
  .thumb_func
peer_sys_write:
  push {r7, lr}
  movs r7, #4
  svc 0
  pop {r7, pc}
