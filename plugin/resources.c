/* The plug-in's help domain and icon. */
#include "resources.h"

/* The first of `name` next to the plug-in (a per-user install's copy; in the build tree a link
 * to the source tree's) and in the installed data directory that exists, or NULL. */
static GFile *find_resource(const char *name) {
  char *plugin_dir = g_path_get_dirname(gimp_get_progname());
  char *candidates[] = {
      g_build_filename(plugin_dir, name, NULL),
      g_build_filename(LNLFER_DATADIR, name, NULL),
  };
  GFile *found = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
    if (!found && g_file_test(candidates[i], G_FILE_TEST_EXISTS))
      found = g_file_new_for_path(candidates[i]);
    g_free(candidates[i]);
  }
  g_free(plugin_dir);
  return found;
}

void lnlfer_register_help(GimpPlugIn *plug_in) {
  GFile *help = find_resource("help");
  if (!help) return;
  gimp_plug_in_set_help_domain(plug_in, LNLFER_HELP_DOMAIN, help);
  g_object_unref(help);
}

void lnlfer_set_icon(GimpProcedure *procedure) {
  GFile *icon = find_resource(PLUG_IN_BINARY ".png");
  if (!icon) return;
  gimp_procedure_set_icon_file(procedure, icon);
  g_object_unref(icon);
}
