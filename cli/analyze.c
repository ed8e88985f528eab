/* lnlfer analyze: detect, align and classify every face of each photo. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stb_image_write.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *out) {
  fprintf(out, "usage: lnlfer analyze [OPTIONS] IMAGE...\n"
               "\n"
               "Finds every face, aligns it and recognises its expression. Prints each face's\n"
               "box, detector score, label, class probabilities and region weights; each\n"
               "region is also given as its four corners in image pixels.\n"
               "\n"
               "  --weights FILE     expression weights (default: the shipped ones)\n"
               "  --detector FILE    detector weights (default: the shipped BlazeFace)\n"
               "  --threshold T      minimum detector confidence, 0..1\n"
               "  --min-size PX      ignore faces narrower than PX pixels\n"
               "  --max-faces N      analyse at most the N most confident faces\n"
               "  --format FORMAT    json (default) or csv (one row per face)\n"
               "  --crops DIR        also save each aligned face crop as DIR/<image>-<n>.png\n"
               "  --threads N        threads (default 1)\n");
}

static void map_point(const float m[6], float u, float v, float out[2]) {
  out[0] = m[0] * u + m[1] * v + m[2];
  out[1] = m[3] * u + m[4] * v + m[5];
}

static cJSON *json_face(const lnl_model *model, const lnl_face_analysis *a) {
  const lnl_face *f = &a->face;
  const lnl_result *r = &a->expression;
  cJSON *o = cJSON_CreateObject();
  float box[4] = {f->box.x, f->box.y, f->box.w, f->box.h};
  cJSON_AddItemToObject(o, "box", cJSON_CreateFloatArray(box, 4));
  cJSON_AddNumberToObject(o, "score", f->score);
  cJSON *marks = cJSON_AddArrayToObject(o, "landmarks");
  for (int k = 0; k < f->num_landmarks; k++)
    cJSON_AddItemToArray(marks, cJSON_CreateFloatArray(f->landmarks[k], 2));
  cJSON_AddStringToObject(o, "label", lnl_model_class_name(model, r->label));
  cJSON *probs = cJSON_AddObjectToObject(o, "probabilities");
  for (int k = 0; k < lnl_model_num_classes(model); k++)
    cJSON_AddNumberToObject(probs, lnl_model_class_name(model, k), r->probs[k]);
  cJSON *regions = cJSON_AddArrayToObject(o, "regions");
  for (int i = 0; i < lnl_model_num_regions(model); i++) {
    const lnl_rect *b = &r->regions[i];
    float quad[4][2];
    map_point(a->crop_to_image, b->x, b->y, quad[0]);
    map_point(a->crop_to_image, b->x + b->w, b->y, quad[1]);
    map_point(a->crop_to_image, b->x + b->w, b->y + b->h, quad[2]);
    map_point(a->crop_to_image, b->x, b->y + b->h, quad[3]);
    cJSON *reg = cJSON_CreateObject();
    cJSON_AddNumberToObject(reg, "weight", r->weights[i]);
    cJSON *q = cJSON_AddArrayToObject(reg, "quad");
    for (int k = 0; k < 4; k++) cJSON_AddItemToArray(q, cJSON_CreateFloatArray(quad[k], 2));
    cJSON_AddItemToArray(regions, reg);
  }
  return o;
}

static void csv_header(const lnl_model *model) {
  fputs("file,face,x,y,w,h,score,label", stdout);
  for (int k = 0; k < lnl_model_num_classes(model); k++)
    printf(",%s", lnl_model_class_name(model, k));
  for (int r = 0; r < lnl_model_num_regions(model); r++) printf(",w%d", r);
  fputc('\n', stdout);
}

static void csv_face(const lnl_model *model, const char *file, int i, const lnl_face_analysis *a) {
  const lnl_result *r = &a->expression;
  cli_csv_field(stdout, file);
  printf(",%d,%.1f,%.1f,%.1f,%.1f,%.4f,%s", i, a->face.box.x, a->face.box.y, a->face.box.w,
         a->face.box.h, a->face.score, lnl_model_class_name(model, r->label));
  for (int k = 0; k < lnl_model_num_classes(model); k++) printf(",%.6f", r->probs[k]);
  for (int k = 0; k < lnl_model_num_regions(model); k++) printf(",%.6f", r->weights[k]);
  fputc('\n', stdout);
}

/* Writes DIR/<basename without extension>-<i>.png of each aligned crop. */
static void save_crops(const char *dir, const char *file, const lnl_model *model,
                       const lnl_image *img, const lnl_face_analysis *res, int n) {
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  int side = lnl_model_crop_side(model);
  uint8_t *rgb = malloc((size_t)side * side * 3);
  for (int i = 0; rgb && i < n; i++) {
    char path[1024];
    float m[6];
    lnl_error err = {0};
    snprintf(path, sizeof path, "%s/%.*s-%d.png", dir,
             (int)(strrchr(base, '.') ? strrchr(base, '.') - base : (long)strlen(base)), base, i);
    if (lnl_align(model, img, &res[i].face, rgb, m, &err) != LNL_OK ||
        !stbi_write_png(path, side, side, 3, rgb, side * 3))
      fprintf(stderr, "lnlfer: cannot write %s\n", path);
  }
  free(rgb);
}

int cmd_analyze(int argc, char **argv) {
  static const struct option opts[] = {{"weights", required_argument, NULL, 'w'},
                                       {"detector", required_argument, NULL, 'd'},
                                       {"threshold", required_argument, NULL, 'T'},
                                       {"min-size", required_argument, NULL, 'm'},
                                       {"max-faces", required_argument, NULL, 'n'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"crops", required_argument, NULL, 'c'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *weights = NULL, *detector = NULL, *crops = NULL;
  float threshold = -1.0f;
  int min_size = 0, max_faces = 0, threads = 1, json = 1, c;
  char *end;
  while ((c = getopt_long(argc, argv, "w:d:T:m:n:f:c:t:h", opts, NULL)) != -1) {
    switch (c) {
    case 'w': weights = optarg; break;
    case 'd': detector = optarg; break;
    case 'T':
      threshold = strtof(optarg, &end);
      if (*end || !(threshold >= 0.0f && threshold <= 1.0f)) {
        fprintf(stderr, "lnlfer analyze: --threshold must be between 0 and 1\n");
        return 2;
      }
      break;
    case 'm': min_size = atoi(optarg); break;
    case 'n': max_faces = atoi(optarg); break;
    case 'f':
      if (strcmp(optarg, "json") && strcmp(optarg, "csv")) {
        fprintf(stderr, "lnlfer analyze: --format must be json or csv\n");
        return 2;
      }
      json = strcmp(optarg, "json") == 0;
      break;
    case 'c': crops = optarg; break;
    case 't': threads = atoi(optarg); break;
    case 'h': help(stdout); return 0;
    default: help(stderr); return 2;
    }
  }
  if (optind >= argc || min_size < 0 || max_faces < 0 || threads < 1 || threads > 64) {
    fprintf(stderr, optind >= argc ? "lnlfer analyze: no image given\n"
                                   : "lnlfer analyze: bad --min-size, --max-faces or --threads\n");
    return 2;
  }
  lnl_model *model = cli_open_model(weights);
  lnl_detector *det = model ? cli_open_detector(detector) : NULL;
  lnl_context *ctx = NULL;
  lnl_error err = {0};
  if (det && lnl_context_new(model, threads, &ctx, &err) != LNL_OK)
    fprintf(stderr, "lnlfer: %s\n", err.message);
  if (!ctx) {
    lnl_detector_close(det);
    lnl_model_close(model);
    return 1;
  }
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  if (threshold >= 0.0f) opt.score_threshold = threshold;
  opt.min_face_size = min_size;
  opt.max_faces = max_faces;
  opt.threads = threads;
  int failures = 0;
  cJSON *all = json ? cJSON_CreateArray() : NULL;
  if (!json) csv_header(model);
  for (int i = optind; i < argc; i++) {
    cli_image img;
    char why[256];
    if (!cli_image_load(argv[i], &img, why, sizeof why)) {
      fprintf(stderr, "lnlfer: %s: cannot read image: %s\n", argv[i], why);
      failures++;
      continue;
    }
    lnl_image view = cli_image_view(&img);
    lnl_face_analysis *res = NULL;
    int n = 0;
    if (lnl_analyze(ctx, det, &view, &opt, &res, &n, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s: %s\n", argv[i], err.message);
      failures++;
    } else if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "file", argv[i]);
      cJSON_AddNumberToObject(o, "width", view.width);
      cJSON_AddNumberToObject(o, "height", view.height);
      cJSON *faces = cJSON_AddArrayToObject(o, "faces");
      for (int k = 0; k < n; k++) cJSON_AddItemToArray(faces, json_face(model, &res[k]));
      cJSON_AddItemToArray(all, o);
    } else {
      for (int k = 0; k < n; k++) csv_face(model, argv[i], k, &res[k]);
    }
    if (crops && n > 0) save_crops(crops, argv[i], model, &view, res, n);
    free(res);
    cli_image_free(&img);
  }
  if (all) {
    char *text = cJSON_Print(all);
    if (text) puts(text);
    free(text);
    cJSON_Delete(all);
  }
  lnl_context_free(ctx);
  lnl_detector_close(det);
  lnl_model_close(model);
  return failures ? 1 : 0;
}
