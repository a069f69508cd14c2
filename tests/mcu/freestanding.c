/* memset and memcpy for calls the compiler may generate in freestanding images (no C library is
 * linked under qemu-user). */
#include <stddef.h>

/* Fills n bytes with c. */
void* memset(void* d, int c, size_t n);
/* Copies n bytes. */
void* memcpy(void* d, const void* s, size_t n);

void* memset(void* d, int c, size_t n) {
  volatile unsigned char* p = (unsigned char*)d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}

void* memcpy(void* d, const void* s, size_t n) {
  volatile unsigned char* p = (unsigned char*)d;
  const unsigned char* q = (const unsigned char*)s;
  while (n--) *p++ = *q++;
  return d;
}
