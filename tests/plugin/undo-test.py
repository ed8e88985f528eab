# Runs in gimp-3.0 (with its GUI, under Xvfb) as a python-fu-eval batch, driven by
# undo-test.sh: opens the portrait in a display, runs plug-in-lnlfer, signals the driver
# (OUT/undo-ready), waits for the driver's single Ctrl+Z and checks that it removed every
# annotation (layer group and parasite) and nothing else. Prints PASS/FAIL lines.
import os
import time

src, out = os.environ["LNLFER_SRC"], os.environ["LNLFER_OUT"]


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)), flush=True)


def layer_names(img):
    return [layer.get_name() for layer in img.get_layers()]


img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                     Gio.File.new_for_path(src + "/tests/data/astronaut.png"))
Gimp.Display.new(img)
before = layer_names(img)
proc = Gimp.get_pdb().lookup_procedure("plug-in-lnlfer")
config = proc.create_config()
config.set_property("image", img)
config.set_core_object_array("drawables", img.get_selected_drawables())
result = proc.run(config)
Gimp.displays_flush()
check("undo: the plug-in ran", result.index(0) == Gimp.PDBStatusType.SUCCESS and
      result.index(1) == 1, result.index(0))
check("undo: annotations added", len(layer_names(img)) == len(before) + 1 and
      "lnlfer-results" in img.get_parasite_list(), layer_names(img))
open(out + "/undo-ready", "w").close()
for _ in range(600):
    if layer_names(img) == before:
        break
    time.sleep(0.1)
time.sleep(1)  # a second undo step, if there were one, would have been applied by now
check("undo: one Ctrl+Z removes the layer group", layer_names(img) == before, layer_names(img))
check("undo: one Ctrl+Z removes the parasite",
      "lnlfer-results" not in img.get_parasite_list(), img.get_parasite_list())
print("UNDO-BATCH-DONE", flush=True)
