/* Minimal test helpers: each failed check prints where and counts; main returns the count. */
#ifndef LNLFER_CHECK_H
#define LNLFER_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

/* Largest absolute difference between two float arrays. */
static inline double max_abs_diff(const float *a, const float *b, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > m || d != d) m = d != d ? INFINITY : d;
  }
  return m;
}

#define CHECK_CLOSE(a, b, n, tol)                                        \
  do {                                                                   \
    double d_ = max_abs_diff((a), (b), (n));                             \
    CHECK_MSG(d_ <= (tol), "max |diff| %.3g > %.3g", d_, (double)(tol)); \
  } while (0)

#endif
