/* Reading a GIMP drawable for the engine: an lnl_source over a part of the drawable (any
 * precision, format and offsets), transparent parts shown over white, the faces of a
 * selection kept. */
#ifndef LNLFER_PIXELS_H
#define LNLFER_PIXELS_H

#include <libgimp/gimp.h>

#include "lnlfer.h"

/* Reports the fraction (0..1) of a read of the whole area done; FALSE to cancel it. */
typedef gboolean (*LnlferReadProgress)(double fraction, gpointer data);

typedef struct LnlferReader {
  GimpDrawable *drawable;
  GeglBuffer *buffer;
  GeglRectangle area;   /* what is read, in the drawable's coordinates */
  int image_x, image_y; /* the area's origin in the image */
  GimpImage *image;     /* for the selection, when it is not empty */
  LnlferReadProgress progress;
  gpointer progress_data;
  GError *error; /* why the last read failed, or NULL */
} LnlferReader;

/* A reader of `area` (drawable coordinates) whose origin is at (image_x, image_y) in the
 * image, and the engine's source over it (source->user is the reader). */
void lnlfer_reader_init(LnlferReader *reader, GimpDrawable *drawable, const GeglRectangle *area,
                        int image_x, int image_y, lnl_source *source);
void lnlfer_reader_clear(LnlferReader *reader);

#endif
