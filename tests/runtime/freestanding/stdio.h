/* The part of <stdio.h> runtime_test.c uses, for freestanding MCU builds under qemu-user (no C
 * library): printf with %s, %d, %u, %ld, %lu and %%, in freestanding_libc.c. */
#ifndef LOWBIT_TESTS_FREESTANDING_STDIO_H_
#define LOWBIT_TESTS_FREESTANDING_STDIO_H_

/** Formats to standard output (the subset above); returns the bytes written. */
int printf(const char* format, ...);

#endif /* LOWBIT_TESTS_FREESTANDING_STDIO_H_ */
