/* The analysis as structured return values. */
#include "results-values.h"

/* Where the structured values start: after the status, "n-faces" and "results". */
#define FIRST_VALUE 3

void lnlfer_add_result_values(GimpProcedure *procedure) {
  gimp_procedure_add_string_array_return_value(
      procedure, "labels", _("Labels"),
      _("The most probable expression of each face (class key), most confident face first"),
      G_PARAM_READWRITE);
  gimp_procedure_add_double_array_return_value(
      procedure, "boxes", _("Boxes"),
      _("x, y, width and height of each face's box in image pixels, face after face"),
      G_PARAM_READWRITE);
  gimp_procedure_add_double_array_return_value(procedure, "scores", _("Scores"),
                                               _("The face detector's score of each face (0 to 1)"),
                                               G_PARAM_READWRITE);
  gimp_procedure_add_string_array_return_value(
      procedure, "classes", _("Classes"),
      _("The expression classes (keys), in the order of the probabilities"), G_PARAM_READWRITE);
  gimp_procedure_add_double_array_return_value(
      procedure, "probabilities", _("Probabilities"),
      _("Each face's probability of each class, face after face, classes in the order of "
        "\"classes\""),
      G_PARAM_READWRITE);
  gimp_procedure_add_int32_array_return_value(
      procedure, "confident", _("Confident"),
      _("1 for each face that is confident (detector score and landmark fit), else 0"),
      G_PARAM_READWRITE);
}

void lnlfer_set_result_values(GimpValueArray *rv, const LnlferAnalysis *a) {
  int n = a->count, k = a->num_classes;
  gchar **labels = g_new0(gchar *, n + 1);
  gchar **classes = g_new0(gchar *, k + 1);
  gdouble *boxes = g_new(gdouble, 4 * n + 1);
  gdouble *scores = g_new(gdouble, n + 1);
  gdouble *probs = g_new(gdouble, (gsize)n * k + 1);
  gint32 *confident = g_new(gint32, n + 1);
  for (int j = 0; j < k; j++) classes[j] = g_strdup(a->class_keys[j]);
  for (int i = 0; i < n; i++) {
    const lnl_face_analysis *f = &a->faces[i];
    int label = f->expression.label;
    labels[i] = g_strdup(label >= 0 && label < k ? a->class_keys[label] : "");
    boxes[4 * i] = f->face.box.x;
    boxes[4 * i + 1] = f->face.box.y;
    boxes[4 * i + 2] = f->face.box.w;
    boxes[4 * i + 3] = f->face.box.h;
    scores[i] = f->face.score;
    for (int j = 0; j < k; j++) probs[i * k + j] = f->expression.probs[j];
    confident[i] = f->confident ? 1 : 0;
  }
  GIMP_VALUES_TAKE_STRV(rv, FIRST_VALUE, labels);
  /* GimpArray wants NULL data for an empty array. */
  GIMP_VALUES_SET_DOUBLE_ARRAY(rv, FIRST_VALUE + 1, n ? boxes : NULL, 4 * n);
  GIMP_VALUES_SET_DOUBLE_ARRAY(rv, FIRST_VALUE + 2, n ? scores : NULL, n);
  GIMP_VALUES_TAKE_STRV(rv, FIRST_VALUE + 3, classes);
  GIMP_VALUES_SET_DOUBLE_ARRAY(rv, FIRST_VALUE + 4, n && k ? probs : NULL, (gsize)n * k);
  GIMP_VALUES_SET_INT32_ARRAY(rv, FIRST_VALUE + 5, n ? confident : NULL, n);
  g_free(boxes);
  g_free(scores);
  g_free(probs);
  g_free(confident);
}
