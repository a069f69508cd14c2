/* Human-readable names of lowbit_status_t values. */
#include "lowbit_runtime.h"

const char* lowbit_status_name(lowbit_status_t status) {
  switch (status) {
    case LOWBIT_OK:
      return "LOWBIT_OK";
    case LOWBIT_ERR_ARG:
      return "LOWBIT_ERR_ARG";
    case LOWBIT_ERR_FORMAT:
      return "LOWBIT_ERR_FORMAT";
    case LOWBIT_ERR_RANGE:
      return "LOWBIT_ERR_RANGE";
    case LOWBIT_ERR_BUFFER:
      return "LOWBIT_ERR_BUFFER";
  }
  return "LOWBIT_ERR_UNKNOWN";
}
