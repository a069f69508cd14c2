/* Host tool for bench/mcu/peers.sh: reads the numbers of a C initializer list on stdin (decimal
 * such as "-22.0" or hexadecimal such as "0xEC", separated by commas and white space), checks that
 * there are exactly COUNT (argv[1]) of them, each an int8 or uint8 value, and writes them to stdout
 * as raw bytes. Used to take a test sample out of the user's BitNetMCU checkout. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: peer_bytes COUNT < initializer-list\n");
    return 2;
  }
  const long expected = strtol(argv[1], NULL, 10);
  static char text[1 << 20];
  const size_t length = fread(text, 1, sizeof(text) - 1, stdin);
  text[length] = '\0';
  unsigned char bytes[4096];
  long count = 0;
  for (char* at = text; *at != '\0';) {
    if (*at == ',' || isspace((unsigned char)*at)) {
      ++at;
      continue;
    }
    char* end = at;
    double value = 0;
    if (at[0] == '0' && (at[1] == 'x' || at[1] == 'X')) {
      value = (double)strtol(at, &end, 16);
    } else {
      value = strtod(at, &end);
    }
    if (end == at || value < -128 || value > 255 || value != (double)(long)value) {
      fprintf(stderr, "peer_bytes: not an 8-bit integer at \"%.20s\"\n", at);
      return 1;
    }
    if (count == (long)sizeof(bytes)) {
      fprintf(stderr, "peer_bytes: more than %zu numbers\n", sizeof(bytes));
      return 1;
    }
    bytes[count++] = (unsigned char)((long)value & 0xff);
    at = end;
  }
  if (count != expected) {
    fprintf(stderr, "peer_bytes: %ld numbers, expected %ld\n", count, expected);
    return 1;
  }
  return fwrite(bytes, 1, (size_t)count, stdout) == (size_t)count ? 0 : 1;
}
