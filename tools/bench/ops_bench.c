/* Times the engine's channels-first operators (engine/lnl_ops.h) one layer at a time, on the
 * layer shapes of a network: the detector's cost per op, per kernel set and thread count.
 *
 *   ops_bench [--kernel NAME] [--threads N] [--runs N] [--clock cpu|wall] [--pass] < LAYERS
 *
 * LAYERS, one op a line (tools/bench/yunet_layers.py writes YuNet's at a given input size):
 *   conv CIN COUT H W K STRIDE PAD GROUPS RELU   (H x W: the op's input)
 *   maxpool C H W K STRIDE
 *   upsample_add C H W                            (nearest x2 of C x H x W, plus a 2H x 2W value)
 *   relu C H W | add C H W | sigmoid C H W
 * Prints, per line, the median and minimum time of --runs runs (after 2 untimed ones) in
 * milliseconds, and their sums at the end; with --pass, the median and minimum time of
 * whole passes (every line in turn), as a network runs them. Inputs are random (every op
 * reads the same buffers); the numbers only time the operators. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lnl_kernels.h"
#include "lnl_ops.h"

/* --clock cpu (the default): CPU time of the whole process (all its threads); on a machine
 * shared with other work the wall clock mostly measures how long the scheduler kept this
 * process waiting. --clock wall: the monotonic clock. */
static clockid_t clock_id = CLOCK_PROCESS_CPUTIME_ID;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(clock_id, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *rand_floats(size_t n) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  if (!p) {
    fprintf(stderr, "ops_bench: out of memory\n");
    exit(2);
  }
  unsigned s = 12345u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)(s >> 8) / (float)(1u << 24) - 0.5f;
  }
  return p;
}

typedef struct op {
  char kind[16];
  int a[9];
  size_t nin, nin2, nout, nscratch; /* floats of its buffers */
  char line[64];
} op;

/* Parses one LAYERS line; 0 for a comment or a malformed line. */
static int parse_op(const char *line, op *o) {
  int *a = o->a;
  memset(o, 0, sizeof *o);
  int n = sscanf(line, "%15s %d %d %d %d %d %d %d %d %d", o->kind, a, a + 1, a + 2, a + 3, a + 4,
                 a + 5, a + 6, a + 7, a + 8);
  if (n < 4 || line[0] == '#') return 0;
  snprintf(o->line, sizeof o->line, "%.*s", (int)strcspn(line, "\n"), line);
  if (strcmp(o->kind, "conv") == 0) {
    int oh = lnl_conv_out_size(a[2], a[4], a[5], a[6]),
        ow = lnl_conv_out_size(a[3], a[4], a[5], a[6]);
    lnl_conv conv = {a[0], a[1], a[4], a[4], a[5], a[6], a[7], NULL, NULL};
    o->nin = (size_t)a[0] * a[2] * a[3];
    o->nin2 = (size_t)a[1] * (a[0] / a[7]) * a[4] * a[4] + a[1] + 1; /* weights, then bias */
    o->nout = (size_t)a[1] * oh * ow;
    o->nscratch = lnl_conv_scratch(&conv, a[2], a[3]);
  } else if (strcmp(o->kind, "maxpool") == 0) {
    o->nin = (size_t)a[0] * a[1] * a[2];
    o->nin2 = 1;
    o->nout = (size_t)a[0] * ((a[1] - a[3]) / a[4] + 1) * ((a[2] - a[3]) / a[4] + 1);
  } else if (strcmp(o->kind, "upsample_add") == 0) {
    o->nin = (size_t)a[0] * a[1] * a[2];
    o->nin2 = o->nout = 4 * o->nin;
  } else {
    o->nin = o->nin2 = o->nout = (size_t)a[0] * a[1] * a[2];
  }
  return 1;
}

static double median(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Runs op once. */
static void run(const op *o, float *in, float *in2, float *out, float *scratch, lnl_parallel *par) {
  const int *a = o->a;
  if (strcmp(o->kind, "conv") == 0) {
    lnl_conv conv = {a[0], a[1], a[4], a[4], a[5], a[6], a[7], in2, in2 + 1};
    lnl_conv2d(&conv, in, a[2], a[3], out, scratch, a[8], par);
  } else if (strcmp(o->kind, "maxpool") == 0) {
    lnl_maxpool2d(in, a[0], a[1], a[2], a[3], a[4], out, par);
  } else if (strcmp(o->kind, "upsample_add") == 0) {
    lnl_upsample2_add(in, a[0], a[1], a[2], in2, out, par);
  } else {
    size_t n = (size_t)a[0] * a[1] * a[2];
    if (strcmp(o->kind, "relu") == 0) {
      lnl_relu(in, n);
    } else if (strcmp(o->kind, "add") == 0) {
      lnl_add(in, in2, n);
    } else {
      for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
    }
  }
}

int main(int argc, char **argv) {
  int threads = 1, runs = 20, pass = 0;
  const char *kernel = NULL;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 == argc && strcmp(argv[i], "--pass") != 0) i = argc; /* a value is missing */
    if (i == argc) {
      fprintf(stderr, "ops_bench: %s needs a value\n", argv[argc - 1]);
      return 2;
    }
    if (strcmp(argv[i], "--threads") == 0)
      threads = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--runs") == 0)
      runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--kernel") == 0)
      kernel = argv[i + 1];
    else if (strcmp(argv[i], "--clock") == 0 && strcmp(argv[i + 1], "wall") == 0)
      clock_id = CLOCK_MONOTONIC;
    else if (strcmp(argv[i], "--clock") == 0 && strcmp(argv[i + 1], "cpu") == 0)
      clock_id = CLOCK_PROCESS_CPUTIME_ID;
    else if (strcmp(argv[i], "--pass") == 0) {
      pass = 1;
      i--; /* takes no value */
    } else {
      fprintf(stderr,
              "usage: ops_bench [--kernel NAME] [--threads N] [--runs N] [--clock cpu|wall] "
              "[--pass] < LAYERS\n");
      return 2;
    }
  }
  if (threads < 1 || runs < 1 || (kernel && !lnl_kernels_select(kernel))) {
    fprintf(stderr, "ops_bench: bad --threads, --runs or --kernel\n");
    return 2;
  }
  lnl_parallel_init();
  lnl_parallel par = {.threads = threads};
  lnl_parallel_start(&par);
  op *ops = NULL;
  int nops = 0, cap = 0;
  size_t max_in = 0, max_in2 = 0, max_out = 0, max_scratch = 0;
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    if (nops == cap && !(ops = realloc(ops, sizeof *ops * (size_t)(cap = 2 * cap + 16)))) return 2;
    if (!parse_op(line, &ops[nops])) continue;
    const op *o = &ops[nops++];
    max_in = o->nin > max_in ? o->nin : max_in;
    max_in2 = o->nin2 > max_in2 ? o->nin2 : max_in2;
    max_out = o->nout > max_out ? o->nout : max_out;
    max_scratch = o->nscratch > max_scratch ? o->nscratch : max_scratch;
  }
  /* every op reads the same random inputs and writes the same output buffer */
  float *in = rand_floats(max_in), *in2 = rand_floats(max_in2), *out = rand_floats(max_out);
  float *scratch = rand_floats(max_scratch);
  double *t = malloc(sizeof(double) * (size_t)runs), total = 0.0, total_min = 0.0;
  printf("# kernels %s, %d thread(s), median of %d runs, %s time\n", lnl_kernels()->name, threads,
         runs, clock_id == CLOCK_MONOTONIC ? "wall" : "CPU");
  if (pass) { /* whole passes: every op in turn, as a network runs them */
    for (int r = -2; r < runs; r++) {
      double t0 = now_ms();
      for (int i = 0; i < nops; i++) run(&ops[i], in, in2, out, scratch, &par);
      if (r >= 0) t[r] = now_ms() - t0;
    }
    double med = median(t, runs);
    printf("pass %.3f ms (min %.3f)\n", med, t[0]);
  } else {
    for (int i = 0; i < nops; i++) {
      for (int r = -2; r < runs; r++) {
        double t0 = now_ms();
        run(&ops[i], in, in2, out, scratch, &par);
        if (r >= 0) t[r] = now_ms() - t0;
      }
      double med = median(t, runs);
      total += med;
      total_min += t[0];
      printf("%-48s %9.3f ms (min %.3f)\n", ops[i].line, med, t[0]);
    }
    printf("total %.3f ms (sum of the minima %.3f)\n", total, total_min);
  }
  free(t);
  free(scratch);
  free(out);
  free(in2);
  free(in);
  free(ops);
  lnl_parallel_stop(&par);
  return 0;
}
