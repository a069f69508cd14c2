/* lowbit_test_write for the build machine (kernel_test.c is freestanding; the host has a C
 * library). */
#include <unistd.h>

/* Writes n bytes to standard output. */
int lowbit_test_write(const char* text, int n);

int lowbit_test_write(const char* text, int n) {
  return (int)write(1, text, (size_t)n);
}
