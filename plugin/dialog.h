/* The interactive dialog: the procedure's arguments with a live preview of the
 * annotations. */
#ifndef LNLFER_DIALOG_H
#define LNLFER_DIALOG_H

#include "analysis.h"

/* Shows the dialog; TRUE when the user pressed OK (the config then holds the values).
 * The preview's last analysis is handed over in *analysis (or NULL) so that OK does not
 * analyse again; it was made with (*analysis)->settings. */
gboolean lnlfer_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                       GimpDrawable *drawable, LnlferEngine *engine, LnlferAnalysis **analysis);

#endif
