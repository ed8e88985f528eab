/* The test build of the plug-in (lnlfer-testing, never installed): the shipped plug-in's
 * own object files, linked with this file and with --wrap for three functions they call,
 * so that the GIMP tests (tests/plugin/run-gimp-tests.sh) can drive what a user cannot on
 * demand, through the same public interfaces a real run goes through:
 *   LNLFER_TEST_CANCEL set: the engine's progress callback asks to stop after the
 *     detector's first pass (as a Stop does), so the analysis is cancelled mid-detection;
 *   LNLFER_TEST_FAIL_ANNOTATION set: selecting the faces fails, the last step of the
 *     annotation, so that everything but the selection has been made when it fails;
 *   always: the plug-in process's peak memory (VmHWM; getrusage's ru_maxrss would include
 *     GIMP's, which the process had before exec) is printed as the run returns.
 * The shipped plug-in has none of this (checked with strings: tests/plugin/meson.build). */
#include <libgimp/gimp.h>
#include <stdlib.h>
#include <string.h>

#include "lnlfer.h"

/* ---- cancel through the engine's progress callback ---- */

lnl_status __real_lnl_analyze_source(lnl_context *ctx, const lnl_detector *det,
                                     const lnl_source *src, const lnl_detect_options *opt,
                                     lnl_progress_func progress, void *progress_user,
                                     lnl_face_analysis **out, int *count, lnl_error *err);
lnl_status __wrap_lnl_analyze_source(lnl_context *ctx, const lnl_detector *det,
                                     const lnl_source *src, const lnl_detect_options *opt,
                                     lnl_progress_func progress, void *progress_user,
                                     lnl_face_analysis **out, int *count, lnl_error *err);

typedef struct cancelling {
  lnl_progress_func progress;
  void *user;
  int detector_passes;
} cancelling;

static int cancel_after_first_pass(void *user, lnl_stage stage, float fraction) {
  cancelling *c = user;
  if (stage == LNL_STAGE_DETECT && ++c->detector_passes > 1) return 1;
  return c->progress ? c->progress(c->user, stage, fraction) : 0;
}

lnl_status __wrap_lnl_analyze_source(lnl_context *ctx, const lnl_detector *det,
                                     const lnl_source *src, const lnl_detect_options *opt,
                                     lnl_progress_func progress, void *progress_user,
                                     lnl_face_analysis **out, int *count, lnl_error *err) {
  if (!g_getenv("LNLFER_TEST_CANCEL"))
    return __real_lnl_analyze_source(ctx, det, src, opt, progress, progress_user, out, count, err);
  cancelling c = {progress, progress_user, 0};
  return __real_lnl_analyze_source(ctx, det, src, opt, cancel_after_first_pass, &c, out, count,
                                   err);
}

/* ---- a failing last step of the annotation ---- */

gboolean __real_gimp_image_select_rectangle(GimpImage *image, GimpChannelOps op, gdouble x,
                                            gdouble y, gdouble width, gdouble height);
gboolean __wrap_gimp_image_select_rectangle(GimpImage *image, GimpChannelOps op, gdouble x,
                                            gdouble y, gdouble width, gdouble height);

gboolean __wrap_gimp_image_select_rectangle(GimpImage *image, GimpChannelOps op, gdouble x,
                                            gdouble y, gdouble width, gdouble height) {
  if (g_getenv("LNLFER_TEST_FAIL_ANNOTATION")) return FALSE;
  return __real_gimp_image_select_rectangle(image, op, x, y, width, height);
}

/* ---- peak memory, as the run returns ---- */

GimpValueArray *__real_gimp_procedure_new_return_values(GimpProcedure *procedure,
                                                        GimpPDBStatusType status, GError *error);
GimpValueArray *__wrap_gimp_procedure_new_return_values(GimpProcedure *procedure,
                                                        GimpPDBStatusType status, GError *error);

GimpValueArray *__wrap_gimp_procedure_new_return_values(GimpProcedure *procedure,
                                                        GimpPDBStatusType status, GError *error) {
  char *text = NULL;
  if (g_file_get_contents("/proc/self/status", &text, NULL, NULL)) {
    const char *hwm = strstr(text, "VmHWM:");
    if (hwm) g_printerr("lnlfer: peak memory %ld MB\n", strtol(hwm + 6, NULL, 10) / 1024);
    g_free(text);
  }
  return __real_gimp_procedure_new_return_values(procedure, status, error);
}
