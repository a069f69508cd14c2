/* Classifier read-out: index of the largest int8 score. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_argmax_s8(const int8_t* values, size_t length, size_t* index) {
  size_t best = 0;
  size_t i;
  if (values == NULL || index == NULL || length == 0) return LOWBIT_ERR_ARG;
  /* Strictly greater keeps the first of equal maxima, matching the documented tie rule. */
  for (i = 1; i < length; ++i) {
    if (values[i] > values[best]) best = i;
  }
  *index = best;
  return LOWBIT_OK;
}
