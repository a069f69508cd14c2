/* Input and output of the peer benchmark images (bench/mcu/peers.sh): Linux system calls made
 * by the start-up files, so the images link no C library I/O and the sample is not in flash. */
#ifndef LOWBIT_BENCH_PEER_IO_H
#define LOWBIT_BENCH_PEER_IO_H

/// read(2) on file descriptor `fd` (start_riscv.S / start_arm.S).
int peer_sys_read(int fd, void* buffer, int size);
/// write(2) on file descriptor `fd` (start_riscv.S / start_arm.S).
int peer_sys_write(int fd, const void* buffer, int size);

/// Reads exactly `size` bytes from stdin; returns 0 on success, 1 on a short read.
static inline int peer_read_full(void* buffer, int size) {
  char* at = (char*)buffer;
  while (size > 0) {
    int got = peer_sys_read(0, at, size);
    if (got <= 0) return 1;
    at += got;
    size -= got;
  }
  return 0;
}

#endif
