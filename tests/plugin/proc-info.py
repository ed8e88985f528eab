# Run by python-fu-eval (menu-help-check.py's input): prints "PROC {json}" with what GIMP's
# PDB holds for plug-in-lnlfer, in the language GIMP runs in.
import json

proc = Gimp.get_pdb().lookup_procedure("plug-in-lnlfer")
nicks, choices = [], []
for spec in proc.get_arguments():
    if spec.get_name() in ("run-mode", "image", "drawables"):
        continue
    nicks.append(spec.get_nick())
    if GObject.type_name(spec.__gtype__) == "GimpParamChoice":
        choice = Gimp.param_spec_choice_get_choice(spec)
        choices += [choice.get_label(n) for n in choice.list_nicks()]
print("PROC " + json.dumps({
    "menu_paths": proc.get_menu_paths(), "menu_label": proc.get_menu_label(),
    "image_types": proc.get_image_types(), "help_id": proc.get_help_id(),
    "nicks": nicks, "choices": choices}, ensure_ascii=False))
