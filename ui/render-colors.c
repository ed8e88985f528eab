/* Colour maps, class colours and the text of class lines. */
#include <stdio.h>
#include <string.h>

#include "lnlfer-render.h"

#define STOPS 9

/* Nine evenly spaced samples of each map (matplotlib's inferno and viridis; Google's
 * turbo without its darkest ends, so that both ends stay visible over a face),
 * interpolated linearly in between. */
static const float maps[LNLR_CMAP_COUNT][STOPS][3] = {
    [LNLR_CMAP_INFERNO] = {{0.001f, 0.000f, 0.014f},
                           {0.087f, 0.045f, 0.225f},
                           {0.258f, 0.039f, 0.406f},
                           {0.416f, 0.091f, 0.433f},
                           {0.578f, 0.148f, 0.404f},
                           {0.736f, 0.216f, 0.330f},
                           {0.865f, 0.317f, 0.226f},
                           {0.955f, 0.469f, 0.100f},
                           {0.988f, 0.998f, 0.645f}},
    [LNLR_CMAP_VIRIDIS] = {{0.267f, 0.005f, 0.329f},
                           {0.282f, 0.141f, 0.458f},
                           {0.230f, 0.322f, 0.546f},
                           {0.173f, 0.449f, 0.558f},
                           {0.128f, 0.567f, 0.551f},
                           {0.158f, 0.684f, 0.502f},
                           {0.369f, 0.789f, 0.383f},
                           {0.678f, 0.864f, 0.190f},
                           {0.993f, 0.906f, 0.144f}},
    [LNLR_CMAP_TURBO] = {{0.230f, 0.320f, 0.820f},
                         {0.150f, 0.550f, 0.980f},
                         {0.100f, 0.780f, 0.850f},
                         {0.250f, 0.930f, 0.550f},
                         {0.600f, 0.990f, 0.250f},
                         {0.900f, 0.850f, 0.200f},
                         {0.990f, 0.600f, 0.130f},
                         {0.930f, 0.350f, 0.060f},
                         {0.800f, 0.150f, 0.030f}},
    [LNLR_CMAP_GREY] = {{0.000f, 0.000f, 0.000f},
                        {0.125f, 0.125f, 0.125f},
                        {0.250f, 0.250f, 0.250f},
                        {0.375f, 0.375f, 0.375f},
                        {0.500f, 0.500f, 0.500f},
                        {0.625f, 0.625f, 0.625f},
                        {0.750f, 0.750f, 0.750f},
                        {0.875f, 0.875f, 0.875f},
                        {1.000f, 1.000f, 1.000f}},
};

void lnlr_colormap_rgb(lnlr_colormap cmap, double t, double rgb[3]) {
  if (cmap < 0 || cmap >= LNLR_CMAP_COUNT) cmap = LNLR_CMAP_TURBO;
  if (!(t > 0.0)) t = 0.0; /* also NaN */
  if (t > 1.0) t = 1.0;
  double pos = t * (STOPS - 1);
  int i = (int)pos;
  if (i >= STOPS - 1) i = STOPS - 2;
  double f = pos - i;
  for (int c = 0; c < 3; c++) rgb[c] = maps[cmap][i][c] * (1.0 - f) + maps[cmap][i + 1][c] * f;
}

static const struct {
  const char *key;
  float rgb[3];
} class_colors[] = {
    {"neutral", {0.78f, 0.80f, 0.84f}},  {"happiness", {1.00f, 0.80f, 0.12f}},
    {"surprise", {0.22f, 0.82f, 1.00f}}, {"sadness", {0.36f, 0.50f, 1.00f}},
    {"anger", {1.00f, 0.27f, 0.22f}},    {"disgust", {0.45f, 0.83f, 0.28f}},
    {"fear", {0.74f, 0.46f, 1.00f}},     {"contempt", {1.00f, 0.56f, 0.22f}},
};

void lnlr_class_rgb(const char *key, int index, double rgb[3]) {
  size_t n = sizeof class_colors / sizeof class_colors[0];
  size_t pick = (size_t)(index < 0 ? 0 : index) % n;
  for (size_t i = 0; key && i < n; i++)
    if (strcmp(key, class_colors[i].key) == 0) pick = i;
  for (int c = 0; c < 3; c++) rgb[c] = class_colors[pick].rgb[c];
}

int lnlr_top_classes(const lnlr_scene *scene, int face, int *index, int n) {
  const float *p = scene->faces[face].expression.probs;
  int k = scene->num_classes < n ? scene->num_classes : n;
  for (int i = 0; i < k; i++) {
    int best = -1;
    for (int c = 0; c < scene->num_classes; c++) {
      int used = 0;
      for (int j = 0; j < i; j++) used |= index[j] == c;
      if (!used && (best < 0 || p[c] > p[best])) best = c;
    }
    index[i] = best;
  }
  return k;
}

void lnlr_format_class(const lnlr_scene *scene, int cls, float prob, char *buf, size_t size) {
  const char *name = scene->class_labels ? scene->class_labels[cls] : scene->class_keys[cls];
  snprintf(buf, size, "%s %.0f%%", name ? name : "?", 100.0 * prob);
}
