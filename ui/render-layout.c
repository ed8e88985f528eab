/* Free places for labels and the legend: rectangles inside the area that overlap none of
 * a list of obstacles (face boxes, the legend, tags placed before). */
#include <math.h>

#include "lnlfer-render.h"
#include "render-private.h"

int lnlr_spot_free(lnlr_rect r, lnlr_rect area, const lnlr_rect *obstacles, int n) {
  const double eps = 1e-6;
  if (r.x < area.x - eps || r.y < area.y - eps || r.x + r.w > area.x + area.w + eps ||
      r.y + r.h > area.y + area.h + eps)
    return 0;
  for (int i = 0; i < n; i++)
    if (lnlr_rect_overlaps(r, obstacles[i])) return 0;
  return 1;
}

static double gap(double a0, double a1, double b0, double b1) {
  return a1 < b0 ? b0 - a1 : b1 < a0 ? a0 - b1 : 0.0;
}

double lnlr_rect_distance(lnlr_rect a, lnlr_rect b) {
  return hypot(gap(a.x, a.x + a.w, b.x, b.x + b.w), gap(a.y, a.y + a.h, b.y, b.y + b.h));
}

/* Positions from lo to hi (both included) in at most STEPS + 1 even steps. */
#define STEPS 48

static int positions(double lo, double hi, double *out) {
  if (hi < lo) return 0;
  int n = hi - lo < 1.0 ? 1 : STEPS + 1;
  for (int i = 0; i < n; i++) out[i] = n == 1 ? lo : lo + (hi - lo) * i / STEPS;
  return n;
}

int lnlr_nearest_free(lnlr_rect area, lnlr_rect window, double w, double h, lnlr_rect target,
                      const lnlr_rect *obstacles, int n, int (*accept)(lnlr_rect, void *),
                      void *data, lnlr_rect *out) {
  double x0 = fmax(window.x, area.x), y0 = fmax(window.y, area.y);
  double x1 = fmin(window.x + window.w, area.x + area.w) - w;
  double y1 = fmin(window.y + window.h, area.y + area.h) - h;
  double xs[STEPS + 1], ys[STEPS + 1], best = INFINITY;
  int nx = positions(x0, x1, xs), ny = positions(y0, y1, ys);
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) {
      lnlr_rect r = {xs[i], ys[j], w, h};
      double d = lnlr_rect_distance(r, target);
      if (d < best && lnlr_spot_free(r, area, obstacles, n) && (!accept || accept(r, data))) {
        best = d;
        *out = r;
      }
    }
  return isfinite(best);
}

/* Liang-Barsky: whether the segment passes through the inside of r. */
int lnlr_segment_crosses(double x0, double y0, double x1, double y1, lnlr_rect r) {
  double t0 = 0, t1 = 1, dx = x1 - x0, dy = y1 - y0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - r.x, r.x + r.w - x0, y0 - r.y, r.y + r.h - y0};
  for (int i = 0; i < 4; i++) {
    if (p[i] == 0) {
      if (q[i] <= 0) return 0;
      continue;
    }
    double t = q[i] / p[i];
    if (p[i] < 0)
      t0 = t > t0 ? t : t0;
    else
      t1 = t < t1 ? t : t1;
    if (t0 >= t1) return 0;
  }
  return t1 - t0 > 1e-9;
}
