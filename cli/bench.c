/* lnlfer bench: latency of the network alone and of a whole photo. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"

#define MAX_CONFIGS 8

static void help(FILE *out) {
  fprintf(out,
          "usage: lnlfer bench [OPTIONS]\n"
          "\n"
          "Times the expression network alone (preprocessed input in, probabilities and\n"
          "region weights out, via lnl_run) at each batch size and thread count, and,\n"
          "with --photo, the whole photo (detection, alignment, classification via\n"
          "lnl_analyze). Prints the per-face latency (median, min, max over --runs timed\n"
          "runs after --warmup untimed ones), the multiply-adds per face and the achieved\n"
          "GFLOP/s (2 x multiply-adds / median per-face time).\n"
          "\n"
          "  --weights FILE     expression weights (default: the shipped ones)\n"
          "  --detector FILE    detector weights for --photo (default: the shipped BlazeFace)\n"
          "  --runs N           timed runs per configuration (default 100)\n"
          "  --warmup N         untimed runs before them (default 10)\n"
          "  --photo IMAGE      also time lnl_analyze on this photo (default: none)\n"
          "  --photo-runs N     timed runs of the photo (default 10, after 1 warm-up)\n"
          "  --threads LIST     thread counts, comma-separated (default 1,2)\n"
          "  --batch LIST       batch sizes, comma-separated (default 1,8)\n"
          "  --format FORMAT    table (default) or json\n");
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct stats {
  double median, min, max;
} stats;

/* Sorts v in place. */
static stats summarize(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return (stats){med, v[0], v[n - 1]};
}

/* "1,2" -> {1, 2}; returns the count, 0 when malformed. */
static int parse_list(const char *s, int *out, int max, int lo, int hi) {
  int n = 0;
  while (*s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < lo || v > hi || n == max) return 0;
    out[n++] = (int)v;
    s = end;
    if (*s == ',')
      s++;
    else if (*s)
      return 0;
  }
  return n;
}

static int parse_count(const char *s, int lo, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < lo || v > 1000000) return 0;
  *out = (int)v;
  return 1;
}

/* The CPU's name from /proc/cpuinfo ("unknown" elsewhere). */
static void cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *v = strchr(line, ':');
    if (!v) continue;
    v++;
    while (*v == ' ' || *v == '\t') v++;
    snprintf(buf, size, "%s", v);
    buf[strcspn(buf, "\n")] = 0;
    break;
  }
  fclose(f);
}

/* Peak resident memory of this process in KB: VmHWM from /proc/self/status (getrusage's
 * ru_maxrss would also count what the parent held when it forked us), else ru_maxrss. */
static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  struct rusage ru;
  if (kb < 0 && getrusage(RUSAGE_SELF, &ru) == 0) kb = ru.ru_maxrss;
  return kb;
}

typedef struct net_result {
  int batch, threads;
  stats per_face; /* ms */
  double gflops;  /* at the median */
} net_result;

typedef struct photo_result {
  int threads, faces;
  stats ms;
} photo_result;

/* Deterministic inputs in the range of normalised pixels ((x/255 - mean) / std). */
static void fill_inputs(float *x, size_t n) {
  uint32_t state = 12345u;
  for (size_t i = 0; i < n; i++) {
    state = state * 1664525u + 1013904223u;
    x[i] = ((float)(state >> 8) / 16777216.0f) * 4.0f - 2.0f;
  }
}

static int bench_network(const lnl_model *model, const float *inputs, int batch, int threads,
                         int runs, int warmup, net_result *out) {
  lnl_context *ctx = NULL;
  lnl_error err = {0};
  if (lnl_context_new(model, threads, &ctx, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s\n", err.message);
    return 0;
  }
  lnl_result *res = malloc(sizeof *res * (size_t)batch);
  double *t = malloc(sizeof *t * (size_t)runs);
  int ok = res && t;
  for (int i = 0; ok && i < warmup + runs; i++) {
    double t0 = now_ms();
    if (lnl_run(ctx, inputs, batch, res, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s\n", err.message);
      ok = 0;
    }
    double dt = now_ms() - t0;
    if (i >= warmup) t[i - warmup] = dt / batch;
  }
  if (ok) {
    out->batch = batch;
    out->threads = threads;
    out->per_face = summarize(t, runs);
    out->gflops = 2.0 * (double)lnl_model_macs(model) / (out->per_face.median * 1e-3) * 1e-9;
  }
  free(t);
  free(res);
  lnl_context_free(ctx);
  return ok;
}

static int bench_photo(const lnl_model *model, const lnl_detector *det, const lnl_image *img,
                       int threads, int runs, photo_result *out) {
  lnl_context *ctx = NULL;
  lnl_error err = {0};
  if (lnl_context_new(model, threads, &ctx, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s\n", err.message);
    return 0;
  }
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  double *t = malloc(sizeof *t * (size_t)runs);
  int ok = t != NULL, faces = 0;
  for (int i = 0; ok && i < 1 + runs; i++) {
    lnl_face_analysis *res = NULL;
    double t0 = now_ms();
    if (lnl_analyze(ctx, det, img, &opt, &res, &faces, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s\n", err.message);
      ok = 0;
    }
    double dt = now_ms() - t0;
    free(res);
    if (i >= 1) t[i - 1] = dt;
  }
  if (ok) {
    out->threads = threads;
    out->faces = faces;
    out->ms = summarize(t, runs);
  }
  free(t);
  lnl_context_free(ctx);
  return ok;
}

static cJSON *json_stats(stats s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "median", s.median);
  cJSON_AddNumberToObject(o, "min", s.min);
  cJSON_AddNumberToObject(o, "max", s.max);
  return o;
}

int cmd_bench(int argc, char **argv) {
  static const struct option opts[] = {{"weights", required_argument, NULL, 'w'},
                                       {"detector", required_argument, NULL, 'd'},
                                       {"runs", required_argument, NULL, 'r'},
                                       {"warmup", required_argument, NULL, 'W'},
                                       {"photo", required_argument, NULL, 'p'},
                                       {"photo-runs", required_argument, NULL, 'P'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"batch", required_argument, NULL, 'b'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *weights = NULL, *detector = NULL, *photo = NULL;
  int runs = 100, warmup = 10, photo_runs = 10, json = 0, c;
  int threads[MAX_CONFIGS] = {1, 2}, batches[MAX_CONFIGS] = {1, 8};
  int nthreads = 2, nbatches = 2;
  while ((c = getopt_long(argc, argv, "w:d:r:W:p:P:t:b:f:h", opts, NULL)) != -1) {
    switch (c) {
    case 'w': weights = optarg; break;
    case 'd': detector = optarg; break;
    case 'p': photo = optarg; break;
    case 'r':
      if (!parse_count(optarg, 1, &runs)) {
        fprintf(stderr, "lnlfer bench: --runs must be a positive number\n");
        return 2;
      }
      break;
    case 'W':
      if (!parse_count(optarg, 0, &warmup)) {
        fprintf(stderr, "lnlfer bench: --warmup must be a number >= 0\n");
        return 2;
      }
      break;
    case 'P':
      if (!parse_count(optarg, 1, &photo_runs)) {
        fprintf(stderr, "lnlfer bench: --photo-runs must be a positive number\n");
        return 2;
      }
      break;
    case 't':
      if (!(nthreads = parse_list(optarg, threads, MAX_CONFIGS, 1, 64))) {
        fprintf(stderr, "lnlfer bench: --threads takes up to %d counts in 1..64, like 1,2\n",
                MAX_CONFIGS);
        return 2;
      }
      break;
    case 'b':
      if (!(nbatches = parse_list(optarg, batches, MAX_CONFIGS, 1, 1024))) {
        fprintf(stderr, "lnlfer bench: --batch takes up to %d sizes in 1..1024, like 1,8\n",
                MAX_CONFIGS);
        return 2;
      }
      break;
    case 'f':
      if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
        fprintf(stderr, "lnlfer bench: --format must be table or json\n");
        return 2;
      }
      json = strcmp(optarg, "json") == 0;
      break;
    case 'h': help(stdout); return 0;
    default: help(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "lnlfer bench: unexpected argument '%s' (the photo goes after --photo)\n",
            argv[optind]);
    return 2;
  }
  lnl_model *model = cli_open_model(weights);
  if (!model) return 1;
  lnl_detector *det = NULL;
  cli_image img = {0};
  if (photo) {
    char why[256];
    if (!(det = cli_open_detector(detector))) {
      lnl_model_close(model);
      return 1;
    }
    if (!cli_image_load(photo, &img, why, sizeof why)) {
      fprintf(stderr, "lnlfer: %s: %s\n", photo, why);
      lnl_detector_close(det);
      lnl_model_close(model);
      return 1;
    }
  }

  int ch = lnl_model_input_channels(model), side = lnl_model_input_size(model), maxb = 0;
  for (int i = 0; i < nbatches; i++)
    if (batches[i] > maxb) maxb = batches[i];
  size_t per = (size_t)ch * side * side;
  float *inputs = malloc(sizeof(float) * per * (size_t)maxb);
  net_result net[MAX_CONFIGS * MAX_CONFIGS];
  photo_result ph[MAX_CONFIGS];
  int nnet = 0, nph = 0, ok = inputs != NULL;
  if (inputs) fill_inputs(inputs, per * (size_t)maxb);
  for (int b = 0; ok && b < nbatches; b++)
    for (int t = 0; ok && t < nthreads; t++)
      ok = bench_network(model, inputs, batches[b], threads[t], runs, warmup, &net[nnet++]);
  lnl_image view = cli_image_view(&img);
  for (int t = 0; ok && photo && t < nthreads; t++)
    ok = bench_photo(model, det, &view, threads[t], photo_runs, &ph[nph++]);
  free(inputs);
  if (!ok) {
    cli_image_free(&img);
    lnl_detector_close(det);
    lnl_model_close(model);
    return 1;
  }

  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  uint64_t macs = lnl_model_macs(model);
  long max_rss_kb = peak_rss_kb();
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cpu", cpu);
    cJSON_AddNumberToObject(o, "macs_per_face", (double)macs);
    cJSON *shape = cJSON_AddArrayToObject(o, "input_shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(ch));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(side));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(side));
    cJSON_AddNumberToObject(o, "runs", runs);
    cJSON_AddNumberToObject(o, "warmup", warmup);
    cJSON *arr = cJSON_AddArrayToObject(o, "network");
    for (int i = 0; i < nnet; i++) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "batch", net[i].batch);
      cJSON_AddNumberToObject(e, "threads", net[i].threads);
      cJSON_AddItemToObject(e, "per_face_ms", json_stats(net[i].per_face));
      cJSON_AddNumberToObject(e, "gflops", net[i].gflops);
      cJSON_AddItemToArray(arr, e);
    }
    if (photo) {
      cJSON *p = cJSON_AddObjectToObject(o, "photo");
      cJSON_AddStringToObject(p, "file", photo);
      cJSON_AddNumberToObject(p, "width", img.width);
      cJSON_AddNumberToObject(p, "height", img.height);
      cJSON_AddNumberToObject(p, "runs", photo_runs);
      cJSON *pa = cJSON_AddArrayToObject(p, "results");
      for (int i = 0; i < nph; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "threads", ph[i].threads);
        cJSON_AddNumberToObject(e, "faces", ph[i].faces);
        cJSON_AddItemToObject(e, "ms", json_stats(ph[i].ms));
        cJSON_AddItemToArray(pa, e);
      }
    } else {
      cJSON_AddNullToObject(o, "photo");
    }
    cJSON_AddNumberToObject(o, "max_rss_kb", (double)max_rss_kb);
    char *text = cJSON_Print(o);
    if (text) puts(text);
    free(text);
    cJSON_Delete(o);
  } else {
    printf("CPU: %s\n", cpu);
    printf("network: %dx%dx%d input, %.1f M multiply-adds per face; %d timed runs after %d "
           "warm-up\n",
           ch, side, side, (double)macs * 1e-6, runs, warmup);
    printf("per-face latency = time of one lnl_run call on the batch / batch size; "
           "GFLOP/s at the median\n");
    printf("\n%-6s %-8s %12s %12s %12s %10s\n", "batch", "threads", "median ms", "min ms", "max ms",
           "GFLOP/s");
    for (int i = 0; i < nnet; i++)
      printf("%-6d %-8d %12.3f %12.3f %12.3f %10.2f\n", net[i].batch, net[i].threads,
             net[i].per_face.median, net[i].per_face.min, net[i].per_face.max, net[i].gflops);
    if (photo) {
      printf("\nwhole photo (lnl_analyze: detection + alignment + classification; decoding not "
             "included)\n%s: %dx%d (%.1f MP), %d timed run(s) after 1 warm-up\n",
             photo, img.width, img.height, (double)img.width * img.height * 1e-6, photo_runs);
      printf("%-8s %6s %12s %12s %12s\n", "threads", "faces", "median ms", "min ms", "max ms");
      for (int i = 0; i < nph; i++)
        printf("%-8d %6d %12.1f %12.1f %12.1f\n", ph[i].threads, ph[i].faces, ph[i].ms.median,
               ph[i].ms.min, ph[i].ms.max);
    } else {
      printf("\nwhole photo: not measured (no --photo given)\n");
    }
    printf("\npeak resident memory of this process: %.1f MB\n", (double)max_rss_kb / 1024.0);
  }
  cli_image_free(&img);
  lnl_detector_close(det);
  lnl_model_close(model);
  return 0;
}
