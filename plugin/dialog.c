/* The interactive dialog and its live preview. The preview shows the analysed area
 * scaled down with the annotations drawn by lnlfer-render over it. The analysis is cached:
 * only a change of a detection setting (threshold, sizes) analyses again, after a short
 * pause in the changes; display settings only redraw. While it analyses, the dialog stays
 * alive: a progress bar shows how far it is, and Stop, a new detection setting, OK or
 * Cancel cancel it. */
#include "dialog.h"
#include "resources.h"

#include <libgimp/gimpui.h>
#include <math.h>
#include <string.h>

#define PREVIEW_SIZE 420
#define ANALYSE_DELAY_MS 400

typedef struct Preview {
  GimpProcedureConfig *config;
  GimpDrawable *drawable;
  LnlferEngine *engine;
  GtkWidget *area, *status, *progress, *stop;
  cairo_surface_t *image; /* the analysed area at preview scale */
  GeglRectangle rect;     /* the analysed area, image pixels */
  double scale;           /* preview pixels per image pixel */
  LnlferAnalysis *analysis;
  cairo_surface_t *map; /* region map at preview scale, in colours map_cmap */
  int map_cmap;
  guint timeout;
  gboolean busy;    /* an analysis runs (the main loop turns inside it) */
  gboolean cancel;  /* ... and is to stop */
  gboolean again;   /* ... and is to start again when it has stopped */
  gboolean closing; /* the dialog has been answered */
} Preview;

static const char *const detection_props[] = {"threshold", "min-face-size", "max-faces"};

static void set_status(Preview *p, const char *text) {
  gtk_label_set_text(GTK_LABEL(p->status), text);
}

/* The preview's pixels as GIMP scales them down for its own previews (fast even for a huge
 * layer: no tile comes into this process); FALSE when GIMP gives another size. */
static gboolean read_thumbnail(Preview *p, const GeglRectangle *dr, int w, int h) {
  int aw = 0, ah = 0, bpp = 0;
  GBytes *bytes = gimp_drawable_get_sub_thumbnail_data(p->drawable, dr->x, dr->y, dr->width,
                                                       dr->height, w, h, &aw, &ah, &bpp);
  gsize size = 0;
  const guint8 *src = bytes ? g_bytes_get_data(bytes, &size) : NULL;
  gboolean ok = src && aw == w && ah == h && bpp >= 1 && bpp <= 4 && size >= (gsize)w * h * bpp;
  unsigned char *data = cairo_image_surface_get_data(p->image);
  int stride = cairo_image_surface_get_stride(p->image);
  for (int y = 0; ok && y < h; y++) {
    guint32 *row = (guint32 *)(void *)(data + (gsize)y * stride);
    for (int x = 0; x < w; x++, src += bpp) {
      guint r = src[0], g = bpp >= 3 ? src[1] : r, b = bpp >= 3 ? src[2] : r;
      guint a = bpp == 2 ? src[1] : bpp == 4 ? src[3] : 255;
      row[x] = a << 24 | (r * a + 127) / 255 << 16 | (g * a + 127) / 255 << 8 | (b * a + 127) / 255;
    }
  }
  if (bytes) g_bytes_unref(bytes);
  return ok;
}

static void read_image(Preview *p) {
  GeglRectangle dr;
  if (!lnlfer_analysis_area(p->drawable, &p->rect, &dr)) return;
  p->scale = MIN(1.0, (double)PREVIEW_SIZE / MAX(dr.width, dr.height));
  int w = MAX(1, (int)floor(dr.width * p->scale)), h = MAX(1, (int)floor(dr.height * p->scale));
  p->image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_surface_flush(p->image);
  if (!read_thumbnail(p, &dr, w, h)) {
    GeglBuffer *buf = gimp_drawable_get_buffer(p->drawable);
    gegl_buffer_get(buf,
                    GEGL_RECTANGLE((int)floor(dr.x * p->scale), (int)floor(dr.y * p->scale), w, h),
                    p->scale, babl_format("cairo-ARGB32"), cairo_image_surface_get_data(p->image),
                    cairo_image_surface_get_stride(p->image), GEGL_ABYSS_CLAMP);
    g_object_unref(buf);
  }
  cairo_surface_mark_dirty(p->image);
  gtk_widget_set_size_request(p->area, w, h);
}

static void schedule_analysis(Preview *p, guint delay_ms);

/* Keeps the dialog alive during an analysis: shows the progress, handles events (which
 * may ask to cancel). */
static gboolean preview_progress(lnl_stage stage, double fraction, const char *what,
                                 gpointer data) {
  Preview *p = data;
  if (what) gtk_progress_bar_set_text(GTK_PROGRESS_BAR(p->progress), what);
  gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(p->progress), fraction);
  while (!p->cancel && gtk_events_pending()) gtk_main_iteration();
  return !p->cancel;
}

static void stop_clicked(GtkButton *button, Preview *p) {
  if (p->busy) p->cancel = TRUE;
}

/* Every answer of the dialog (OK, Cancel, closing it) stops a running analysis first. */
static void dialog_response(GtkDialog *dialog, gint response, Preview *p) {
  p->closing = TRUE;
  if (p->busy) p->cancel = TRUE;
}

static void analyse(Preview *p) {
  LnlferSettings s;
  GError *error = NULL;
  if (p->busy) { /* a change during an analysis: stop it and start again */
    p->cancel = p->again = TRUE;
    return;
  }
  lnlfer_settings_from_config(p->config, &s);
  set_status(p, _("Finding faces..."));
  g_clear_pointer(&p->analysis, lnlfer_analysis_free);
  g_clear_pointer(&p->map, cairo_surface_destroy);
  gtk_widget_queue_draw(p->area);
  p->busy = TRUE;
  p->cancel = p->again = FALSE;
  gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(p->progress), 0.0);
  gtk_widget_show(p->progress);
  gtk_widget_show(p->stop);
  LnlferAnalysis *result = lnlfer_analyze(p->engine, p->drawable, &s, preview_progress, p, &error);
  p->busy = FALSE;
  gtk_widget_hide(p->progress);
  gtk_widget_hide(p->stop);
  p->analysis = result;
  if (!p->analysis && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_error_free(error);
    if (p->again && !p->closing) {
      schedule_analysis(p, ANALYSE_DELAY_MS);
    } else {
      set_status(p, _("Stopped. Change a detection setting to analyze again."));
    }
  } else if (!p->analysis) {
    set_status(p, error->message);
    g_error_free(error);
  } else if (p->analysis->count == 0) {
    set_status(p, p->analysis->message);
  } else {
    char *text = g_strdup_printf(ngettext("%d face found.", "%d faces found.", p->analysis->count),
                                 p->analysis->count);
    set_status(p, text);
    g_free(text);
  }
  gtk_widget_queue_draw(p->area);
}

static gboolean analyse_later(gpointer data) {
  Preview *p = data;
  p->timeout = 0;
  analyse(p);
  return G_SOURCE_REMOVE;
}

static void schedule_analysis(Preview *p, guint delay_ms) {
  if (p->timeout) g_source_remove(p->timeout);
  p->timeout = g_timeout_add(delay_ms, analyse_later, p);
}

static void config_changed(GObject *config, GParamSpec *pspec, Preview *p) {
  for (size_t i = 0; i < G_N_ELEMENTS(detection_props); i++)
    if (strcmp(pspec->name, detection_props[i]) == 0) {
      schedule_analysis(p, ANALYSE_DELAY_MS);
      return;
    }
  gtk_widget_queue_draw(p->area);
}

/* The region map at preview scale, redrawn only when the faces or the colours change. */
static cairo_surface_t *region_map(Preview *p, const lnlr_scene *scene, int cmap) {
  if (p->map && p->map_cmap == cmap) return p->map;
  g_clear_pointer(&p->map, cairo_surface_destroy);
  p->map = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, cairo_image_surface_get_width(p->image),
                                      cairo_image_surface_get_height(p->image));
  p->map_cmap = cmap;
  lnlr_draw_region_map(p->map, p->rect.x, p->rect.y, p->scale, scene, (lnlr_colormap)cmap);
  return p->map;
}

static gboolean draw_preview(GtkWidget *widget, cairo_t *cr, Preview *p) {
  if (!p->image) return FALSE;
  int w = cairo_image_surface_get_width(p->image), h = cairo_image_surface_get_height(p->image);
  double x0 = floor((gtk_widget_get_allocated_width(widget) - w) / 2.0);
  double y0 = floor((gtk_widget_get_allocated_height(widget) - h) / 2.0);
  cairo_translate(cr, x0, y0);
  cairo_rectangle(cr, 0, 0, w, h);
  cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
  cairo_fill(cr);
  cairo_set_source_surface(cr, p->image, 0, 0);
  cairo_paint(cr);
  if (!p->analysis || p->analysis->count == 0) return FALSE;
  LnlferSettings s;
  lnlfer_settings_from_config(p->config, &s);
  lnlr_scene scene = lnlfer_analysis_scene(p->analysis);
  cairo_rectangle(cr, 0, 0, w, h);
  cairo_clip(cr);
  if (s.region_map) {
    lnlr_legend_text legend = lnlfer_legend_text();
    cairo_push_group(cr);
    cairo_set_source_surface(cr, region_map(p, &scene, s.colormap), 0, 0);
    cairo_paint(cr);
    cairo_save(cr);
    cairo_scale(cr, p->scale, p->scale);
    cairo_translate(cr, -p->rect.x, -p->rect.y);
    lnlr_draw_legend(cr, &scene, s.colormap, &legend);
    cairo_restore(cr);
    cairo_pop_group_to_source(cr);
    cairo_paint_with_alpha(cr, s.opacity / 100.0);
  }
  if (s.boxes) {
    lnlr_legend_text legend = lnlfer_legend_text();
    scene.legend = s.region_map ? &legend : NULL; /* the labels keep clear of it */
    cairo_scale(cr, p->scale, p->scale);
    cairo_translate(cr, -p->rect.x, -p->rect.y);
    lnlr_draw_boxes(cr, &scene, s.labels);
  }
  return FALSE;
}

static void frame(GimpProcedureDialog *dialog, const char *id, const char *title, const char *first,
                  ...) {
  va_list args;
  GList *props = NULL;
  va_start(args, first);
  for (const char *prop = first; prop; prop = va_arg(args, const char *))
    props = g_list_append(props, (gpointer)prop);
  va_end(args);
  char *box_id = g_strconcat(id, "-box", NULL), *title_id = g_strconcat(id, "-title", NULL);
  gimp_procedure_dialog_fill_box_list(dialog, box_id, props);
  gimp_procedure_dialog_get_label(dialog, title_id, title, FALSE, FALSE);
  gimp_procedure_dialog_fill_frame(dialog, id, title_id, FALSE, box_id);
  g_list_free(props);
  g_free(box_id);
  g_free(title_id);
}

/* Help and F1 open the page of lnlfer's help domain. GimpProcedureDialog's own help function
 * leaves the domain to GIMP, which finds it only for the plug-in GIMP called last (not when a
 * script opened the dialog, and then shows GIMP's manual). */
static void show_help(const gchar *help_id, gpointer data) {
  gimp_help(LNLFER_HELP_DOMAIN, help_id);
}

/* gimp_procedure_dialog_new, with show_help as the help function. */
static GtkWidget *new_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                             const char *title) {
  gboolean use_header_bar = FALSE;
  g_object_get(gtk_settings_get_default(), "gtk-dialogs-use-header", &use_header_bar, NULL);
  return g_object_new(GIMP_TYPE_PROCEDURE_DIALOG, "procedure", procedure, "config", config, "title",
                      title, "help-func", show_help, "help-id",
                      gimp_procedure_get_help_id(procedure), "use-header-bar", use_header_bar,
                      NULL);
}

gboolean lnlfer_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                       GimpDrawable *drawable, LnlferEngine *engine, LnlferAnalysis **analysis) {
  Preview p = {.config = config, .drawable = drawable, .engine = engine, .map_cmap = -1};
  gimp_ui_init(PLUG_IN_BINARY);
  GtkWidget *dialog = new_dialog(procedure, config, _("Facial Expressions"));
  GimpProcedureDialog *pd = GIMP_PROCEDURE_DIALOG(dialog);

  gimp_procedure_dialog_get_scale_entry(pd, "threshold", 1.0);
  gimp_procedure_dialog_get_scale_entry(pd, "opacity", 1.0);
  frame(pd, "detection", _("Detection"), "threshold", "min-face-size", "max-faces", NULL);
  frame(pd, "output", _("Annotations"), "region-map", "opacity", "colormap", "boxes",
        "label-content", "text-labels", "select-faces", NULL);
  gimp_procedure_dialog_set_sensitive(pd, "opacity", TRUE, G_OBJECT(config), "region-map", FALSE);
  gimp_procedure_dialog_set_sensitive(pd, "colormap", TRUE, G_OBJECT(config), "region-map", FALSE);
  gimp_procedure_dialog_set_sensitive(pd, "label-content", TRUE, G_OBJECT(config), "boxes", FALSE);
  gimp_procedure_dialog_set_sensitive(pd, "text-labels", TRUE, G_OBJECT(config), "boxes", FALSE);
  GtkWidget *options =
      gimp_procedure_dialog_fill_box(pd, "options-box", "detection", "output", NULL);
  gtk_widget_set_size_request(options, 300, -1);

  /* The preview is our own widget, in an untitled frame of the dialog's layout. */
  GtkWidget *preview_frame = gimp_procedure_dialog_fill_frame(pd, "preview", NULL, FALSE, NULL);
  GtkWidget *preview_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_add(GTK_CONTAINER(preview_frame), preview_box);
  gtk_widget_show(preview_box);
  p.area = gtk_drawing_area_new();
  p.status = gtk_label_new(NULL);
  gtk_label_set_line_wrap(GTK_LABEL(p.status), TRUE);
  gtk_label_set_max_width_chars(GTK_LABEL(p.status), 50);
  gtk_widget_set_halign(p.area, GTK_ALIGN_CENTER);
  gtk_widget_set_valign(p.area, GTK_ALIGN_START);
  gtk_box_pack_start(GTK_BOX(preview_box), p.area, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(preview_box), p.status, FALSE, FALSE, 0);
  GtkWidget *progress_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  p.progress = gtk_progress_bar_new();
  gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(p.progress), TRUE);
  /* TRANSLATORS: the button that stops the preview's analysis */
  p.stop = gtk_button_new_with_mnemonic(_("_Stop"));
  gtk_box_pack_start(GTK_BOX(progress_box), p.progress, TRUE, TRUE, 0);
  gtk_box_pack_start(GTK_BOX(progress_box), p.stop, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(preview_box), progress_box, FALSE, FALSE, 0);
  gtk_widget_set_no_show_all(p.progress, TRUE); /* shown while analysing */
  gtk_widget_set_no_show_all(p.stop, TRUE);
  g_signal_connect(p.stop, "clicked", G_CALLBACK(stop_clicked), &p);
  g_signal_connect(dialog, "response", G_CALLBACK(dialog_response), &p);
  gtk_widget_show(progress_box);
  gtk_widget_show(p.area);
  gtk_widget_show(p.status);
  g_signal_connect(p.area, "draw", G_CALLBACK(draw_preview), &p);

  GtkWidget *main_box =
      gimp_procedure_dialog_fill_box(pd, "main-box", "preview", "options-box", NULL);
  gtk_orientable_set_orientation(GTK_ORIENTABLE(main_box), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing(GTK_BOX(main_box), 12);
  gimp_procedure_dialog_fill(pd, "main-box", NULL);

  read_image(&p);
  if (!p.image)
    set_status(&p, _("The selection does not overlap the layer."));
  else
    schedule_analysis(&p, 50);
  gulong handler = g_signal_connect(config, "notify", G_CALLBACK(config_changed), &p);

  gboolean run = gimp_procedure_dialog_run(pd);

  g_signal_handler_disconnect(config, handler);
  if (p.timeout) g_source_remove(p.timeout);
  gtk_widget_destroy(dialog);
  g_clear_pointer(&p.map, cairo_surface_destroy);
  g_clear_pointer(&p.image, cairo_surface_destroy);
  if (run)
    *analysis = p.analysis; /* lnlfer_run checks that it fits the final settings */
  else
    lnlfer_analysis_free(p.analysis);
  return run;
}
