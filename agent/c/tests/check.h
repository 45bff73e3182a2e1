/* The libvhsm test programs' assertion: counts a failure and says where, then goes on. */
#ifndef VHSM_TESTS_CHECK_H
#define VHSM_TESTS_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond, ...)                                                                                       \
  do {                                                                                                         \
    if (!(cond)) {                                                                                             \
      failures++;                                                                                              \
      printf("not ok: " __VA_ARGS__);                                                                          \
      printf(" (%s:%d)\n", __FILE__, __LINE__);                                                                \
    }                                                                                                          \
  } while (0)

#endif
