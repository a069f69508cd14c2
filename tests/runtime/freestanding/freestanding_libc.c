/* Just enough C library for runtime_test.c on MCU targets under qemu-user: the start-up files of
 * tests/mcu give _start (which calls main and exits with its value) and lowbit_test_write, and
 * tests/mcu/freestanding.c memset and memcpy. */
#include <stdarg.h>
#include <stdint.h>

#include "stdio.h"
#include "string.h"

/* Writes n bytes to standard output (tests/mcu/start_*.S). */
int lowbit_test_write(const char* text, int n);

int strcmp(const char* a, const char* b) {
  while (*a != 0 && *a == *b) {
    ++a;
    ++b;
  }
  return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

/* Writes a magnitude in decimal, with a minus sign if negative; returns the bytes written. */
static int put_number(unsigned long magnitude, int negative) {
  char digits[24];
  int n = 0;
  int written;
  do {
    digits[n++] = (char)('0' + (int)(magnitude % 10u));
    magnitude /= 10u;
  } while (magnitude != 0u);
  if (negative) digits[n++] = '-';
  written = n;
  while (n > 0) lowbit_test_write(&digits[--n], 1);
  return written;
}

int printf(const char* format, ...) {
  va_list args;
  int written = 0;
  va_start(args, format);
  while (*format != 0) {
    const char* run = format;
    int is_long = 0;
    while (*format != 0 && *format != '%') ++format;
    if (format != run) {
      lowbit_test_write(run, (int)(format - run));
      written += (int)(format - run);
    }
    if (*format == 0) break;
    ++format; /* '%' */
    if (*format == 'l') {
      is_long = 1;
      ++format;
    }
    if (*format == 's') {
      const char* s = va_arg(args, const char*);
      int n = 0;
      while (s[n] != 0) ++n;
      lowbit_test_write(s, n);
      written += n;
    } else if (*format == 'd') {
      const long v = is_long ? va_arg(args, long) : (long)va_arg(args, int);
      written += put_number(v < 0 ? 0ul - (unsigned long)v : (unsigned long)v, v < 0);
    } else if (*format == 'u') {
      written += put_number(is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned), 0);
    } else if (*format == '%') {
      lowbit_test_write("%", 1);
      ++written;
    }
    if (*format != 0) ++format;
  }
  va_end(args);
  return written;
}
