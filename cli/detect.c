/* lnlfer detect: faces in photos. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"
#include "lnlfer-json.h"

static void help(FILE *out) {
  fprintf(out, "usage: lnlfer detect [OPTIONS] IMAGE...\n"
               "\n"
               "Finds the faces in each image and prints their boxes [x, y, w, h] (pixels,\n"
               "top-left origin), confidence and landmarks (the person's right first):\n"
               "YuNet (yunet-n.safetensors) gives right eye, left eye, nose tip, right and\n"
               "left mouth corner; BlazeFace right eye, left eye, nose tip, mouth, right\n"
               "ear, left ear.\n"
               "\n"
               "  --detector FILE    detector weights (default: the shipped BlazeFace)\n");
  cli_help_detection(out, 21);
  fprintf(out, "  --format FORMAT    json (default) or csv (one row per face)\n"
               "  --threads N        threads (default 1)\n"
               "  --stats            print each image's network passes and multiply-adds\n"
               "                     to stderr\n"
               "\n"
               "Exit status: 0 when a face was found in every image, 3 when every image was\n"
               "read but some had no face, 1 when something failed, 2 for a usage error.\n");
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

typedef struct run {
  cli_engine engine;
  cli_format format;
  int stats;
  cJSON *all;
} run;

static int detect_one(const char *path, const lnl_image *img, void *data) {
  run *r = data;
  lnl_face *faces = NULL;
  int n = 0;
  lnl_error err = {0};
  if (r->stats) {
    int passes = lnl_detect_passes(r->engine.detector, img->width, img->height, &r->engine.detect);
    uint64_t macs = lnl_detect_macs(r->engine.detector, img->width, img->height, &r->engine.detect);
    fprintf(stderr, "stats: %s %dx%d passes %d gmac %.3f\n", path, img->width, img->height, passes,
            (double)macs / 1e9);
  }
  if (lnl_context_detect(r->engine.ctx, r->engine.detector, img, &r->engine.detect, &faces, &n,
                         &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    return CLI_EXIT_FAILED;
  }
  if (r->format == CLI_FORMAT_JSON) {
    cJSON *o = cli_json_image(path, img);
    cJSON *arr = cJSON_AddArrayToObject(o, "faces");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, lnlj_detection(&faces[i], -1));
    cJSON_AddItemToArray(r->all, o);
  } else {
    csv_faces(stdout, path, faces, n);
  }
  free(faces);
  if (n > 0) return CLI_EXIT_OK;
  cli_note_no_face(path);
  return CLI_EXIT_NO_FACE;
}

static int detect_option(int key, const char *arg, void *data) {
  ((run *)data)->stats = 1; /* --stats, the only one */
  return 0;
}

int cmd_detect(int argc, char **argv) {
  static const struct option extra[] = {{"stats", no_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
  cli_options o = {.format = CLI_FORMAT_JSON};
  run r = {0};
  int status =
      cli_parse(argc, argv, "detect", CLI_DETECTOR | CLI_DETECTION | CLI_FORMAT | CLI_THREADS,
                extra, detect_option, &r, help, &o);
  if (status >= 0) return status;
  r.format = o.format;
  if (!cli_engine_open(&r.engine, &o, CLI_DETECTOR)) return CLI_EXIT_FAILED;
  if (r.format == CLI_FORMAT_CSV) {
    fputs("file,face,x,y,w,h,score", stdout);
    for (int k = 0; k < 6; k++) printf(",lm%d_x,lm%d_y", k, k);
    fputc('\n', stdout);
  } else {
    r.all = cJSON_CreateArray();
  }
  status = cli_each_image(argc, argv, o.first_image, detect_one, &r);
  if (r.all) cli_print_json(r.all, 0);
  cli_engine_close(&r.engine);
  return status;
}
