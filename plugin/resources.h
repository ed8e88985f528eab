/* The plug-in's installed resources other than the weights: its help pages (a GIMP help
 * domain) and its icon, found next to the plug-in or in the installed data directory. */
#ifndef LNLFER_RESOURCES_H
#define LNLFER_RESOURCES_H

#include "settings.h"

/* The help domain's name; the procedure's help id is PLUG_IN_PROC. */
#define LNLFER_HELP_DOMAIN "lnlfer"

/* Registers the help pages (help/<lang>/gimp-help.xml) with GIMP's help system, so that the
 * dialog's Help button opens them; only from query_procedures. Nothing when not installed. */
void lnlfer_register_help(GimpPlugIn *plug_in);

/* Gives the procedure its icon (lnlfer.png), when installed. */
void lnlfer_set_icon(GimpProcedure *procedure);

#endif
