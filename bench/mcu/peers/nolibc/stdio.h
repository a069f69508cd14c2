/* Empty <stdio.h> for bench/mcu/peers.sh on cross compilers without a C library (Debian's
 * riscv64-unknown-elf-gcc without picolibc): BitNetMCU_inference.c includes <stdio.h> but calls
 * nothing from it in the fully connected path. Put on the include path only when the compiler
 * has no <stdio.h> of its own. */
#ifndef LOWBIT_BENCH_PEERS_NOLIBC_STDIO_H
#define LOWBIT_BENCH_PEERS_NOLIBC_STDIO_H
#endif
