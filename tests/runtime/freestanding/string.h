/* The part of <string.h> runtime_test.c uses, for freestanding MCU builds (freestanding_libc.c). */
#ifndef LOWBIT_TESTS_FREESTANDING_STRING_H_
#define LOWBIT_TESTS_FREESTANDING_STRING_H_

#include <stddef.h>

/** Fills n bytes with c. */
void* memset(void* d, int c, size_t n);
/** Copies n bytes. */
void* memcpy(void* d, const void* s, size_t n);
/** Compares two NUL-terminated strings. */
int strcmp(const char* a, const char* b);

#endif /* LOWBIT_TESTS_FREESTANDING_STRING_H_ */
