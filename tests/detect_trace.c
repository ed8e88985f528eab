/* detect_trace: every detection cluster of lnl_detect with the features of the consistency
 * check, kept or not, as JSON (the data behind the check; see tools/detector/fit_consistency.py).
 *
 *     detect_trace DETECTOR THRESHOLD IMAGE... > trace.json
 *
 * [{"file", "width", "height", "clusters": [{"box": [x, y, w, h], "score", "tile",
 *   "whole", "px", "tile_n", "whole_n", "tiled", "kept"}]}] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "lnl_detector.h"
#include "lnlfer.h"
#include <stb_image.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s DETECTOR THRESHOLD IMAGE...\n", argv[0]);
    return 2;
  }
  lnl_detector *det = NULL;
  lnl_error err = {0};
  if (lnl_detector_open(argv[1], &det, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  opt.score_threshold = strtof(argv[2], NULL);
  cJSON *all = cJSON_CreateArray();
  int failures = 0;
  for (int i = 3; i < argc; i++) {
    int w, h, ch;
    unsigned char *px = stbi_load(argv[i], &w, &h, &ch, 3);
    lnl_detect_cluster *cl = NULL;
    int n = 0;
    lnl_image img = {px, w, h, (size_t)w * 3};
    if (!px || lnl_detect_clusters(det, &img, &opt, &cl, &n, &err)) {
      fprintf(stderr, "%s: %s\n", argv[i], px ? err.message : "cannot read");
      failures++;
      stbi_image_free(px);
      continue;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", argv[i]);
    cJSON_AddNumberToObject(o, "width", w);
    cJSON_AddNumberToObject(o, "height", h);
    cJSON *arr = cJSON_AddArrayToObject(o, "clusters");
    for (int k = 0; k < n; k++) {
      const lnl_detect_cluster *c = &cl[k];
      cJSON *jc = cJSON_CreateObject();
      float box[4] = {c->face.box.x, c->face.box.y, c->face.box.w, c->face.box.h};
      cJSON_AddItemToObject(jc, "box", cJSON_CreateFloatArray(box, 4));
      cJSON_AddNumberToObject(jc, "score", c->face.score);
      cJSON_AddNumberToObject(jc, "tile", c->tile_best);
      cJSON_AddNumberToObject(jc, "whole", c->whole_best);
      cJSON_AddNumberToObject(jc, "px", c->whole_px);
      cJSON_AddNumberToObject(jc, "tile_n", c->tile_n);
      cJSON_AddNumberToObject(jc, "whole_n", c->whole_n);
      cJSON_AddNumberToObject(jc, "tiled", c->tiled);
      cJSON_AddNumberToObject(jc, "kept", c->kept);
      cJSON_AddItemToArray(arr, jc);
    }
    cJSON_AddItemToArray(all, o);
    free(cl);
    stbi_image_free(px);
  }
  char *text = cJSON_PrintUnformatted(all);
  puts(text);
  free(text);
  cJSON_Delete(all);
  lnl_detector_close(det);
  return failures ? 1 : 0;
}
