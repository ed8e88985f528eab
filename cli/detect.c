/* lnlfer detect: faces in photos. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *out) {
  fprintf(out, "usage: lnlfer detect [OPTIONS] IMAGE...\n"
               "\n"
               "Finds the faces in each image and prints their boxes [x, y, w, h] (pixels,\n"
               "top-left origin), confidence and landmarks (right eye, left eye, nose tip,\n"
               "mouth, right ear, left ear; the person's right).\n"
               "\n"
               "  --detector FILE    detector weights (default: the shipped BlazeFace)\n"
               "  --threshold T      minimum confidence, 0..1 (default: the detector's, 0.5)\n"
               "  --min-size PX      drop faces narrower than PX pixels (default 0)\n"
               "  --max-faces N      keep the N most confident faces (default: all)\n"
               "  --format FORMAT    json (default) or csv (one row per face)\n"
               "  --threads N        threads (default 1)\n"
               "  --stats            print each image's network passes and multiply-adds\n"
               "                     to stderr\n");
}

static cJSON *json_faces(const char *file, const lnl_image *img, const lnl_face *faces, int n) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "file", file);
  cJSON_AddNumberToObject(o, "width", img->width);
  cJSON_AddNumberToObject(o, "height", img->height);
  cJSON *arr = cJSON_AddArrayToObject(o, "faces");
  for (int i = 0; i < n; i++) {
    const lnl_face *f = &faces[i];
    cJSON *jf = cJSON_CreateObject();
    float box[4] = {f->box.x, f->box.y, f->box.w, f->box.h};
    cJSON_AddItemToObject(jf, "box", cJSON_CreateFloatArray(box, 4));
    cJSON_AddNumberToObject(jf, "score", f->score);
    cJSON *marks = cJSON_AddArrayToObject(jf, "landmarks");
    for (int k = 0; k < f->num_landmarks; k++)
      cJSON_AddItemToArray(marks, cJSON_CreateFloatArray(f->landmarks[k], 2));
    cJSON_AddItemToArray(arr, jf);
  }
  return o;
}

static void csv_faces(FILE *out, const char *file, const lnl_face *faces, int n) {
  for (int i = 0; i < n; i++) {
    const lnl_face *f = &faces[i];
    cli_csv_field(out, file);
    fprintf(out, ",%d,%.1f,%.1f,%.1f,%.1f,%.4f", i, f->box.x, f->box.y, f->box.w, f->box.h,
            f->score);
    for (int k = 0; k < f->num_landmarks; k++)
      fprintf(out, ",%.1f,%.1f", f->landmarks[k][0], f->landmarks[k][1]);
    fputc('\n', out);
  }
}

int cmd_detect(int argc, char **argv) {
  static const struct option opts[] = {{"detector", required_argument, NULL, 'd'},
                                       {"threshold", required_argument, NULL, 'T'},
                                       {"min-size", required_argument, NULL, 'm'},
                                       {"max-faces", required_argument, NULL, 'n'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"stats", no_argument, NULL, 's'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *detector = NULL;
  int json = 1, c;
  float threshold = -1.0f;
  int min_size = 0, max_faces = 0, threads = 1, stats = 0;
  char *end;
  while ((c = getopt_long(argc, argv, "d:T:m:n:f:t:sh", opts, NULL)) != -1) {
    switch (c) {
    case 'd': detector = optarg; break;
    case 'T':
      threshold = strtof(optarg, &end);
      if (*end || !(threshold >= 0.0f && threshold <= 1.0f)) {
        fprintf(stderr, "lnlfer detect: --threshold must be between 0 and 1\n");
        return 2;
      }
      break;
    case 'm': min_size = atoi(optarg); break;
    case 'n': max_faces = atoi(optarg); break;
    case 'f':
      if (strcmp(optarg, "json") && strcmp(optarg, "csv")) {
        fprintf(stderr, "lnlfer detect: --format must be json or csv\n");
        return 2;
      }
      json = strcmp(optarg, "json") == 0;
      break;
    case 't': threads = atoi(optarg); break;
    case 's': stats = 1; break;
    case 'h': help(stdout); return 0;
    default: help(stderr); return 2;
    }
  }
  if (optind >= argc || min_size < 0 || max_faces < 0 || threads < 1 || threads > 64) {
    fprintf(stderr, optind >= argc ? "lnlfer detect: no image given\n"
                                   : "lnlfer detect: bad --min-size, --max-faces or --threads\n");
    return 2;
  }
  lnl_detector *det = cli_open_detector(detector);
  if (!det) return 1;
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  if (threshold >= 0.0f) opt.score_threshold = threshold;
  opt.min_face_size = min_size;
  opt.max_faces = max_faces;
  opt.threads = threads;
  int failures = 0;
  cJSON *all = json ? cJSON_CreateArray() : NULL;
  if (!json) {
    fputs("file,face,x,y,w,h,score", stdout);
    for (int k = 0; k < 6; k++) printf(",lm%d_x,lm%d_y", k, k);
    fputc('\n', stdout);
  }
  for (int i = optind; i < argc; i++) {
    cli_image img;
    char why[256];
    if (!cli_image_load(argv[i], &img, why, sizeof why)) {
      fprintf(stderr, "lnlfer: %s: cannot read image: %s\n", argv[i], why);
      failures++;
      continue;
    }
    lnl_image view = cli_image_view(&img);
    lnl_face *faces = NULL;
    int n = 0;
    lnl_error err = {0};
    if (stats) {
      int passes = lnl_detect_passes(det, view.width, view.height, &opt);
      fprintf(stderr, "stats: %s %dx%d passes %d gmac %.3f\n", argv[i], view.width, view.height,
              passes, passes * (double)lnl_detector_macs(det) / 1e9);
    }
    if (lnl_detect(det, &view, &opt, &faces, &n, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s: %s\n", argv[i], err.message);
      failures++;
    } else if (json) {
      cJSON_AddItemToArray(all, json_faces(argv[i], &view, faces, n));
    } else {
      csv_faces(stdout, argv[i], faces, n);
    }
    free(faces);
    cli_image_free(&img);
  }
  if (all) {
    char *text = cJSON_PrintUnformatted(all);
    if (text) puts(text);
    free(text);
    cJSON_Delete(all);
  }
  lnl_detector_close(det);
  return failures ? 1 : 0;
}
