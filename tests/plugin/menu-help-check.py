#!/usr/bin/env python3
"""Checks the plug-in's registration as GIMP has it (item 4 and 5 of issue 20, and the icon):
  - the menu path: every part GIMP knows (a submenu of its menus/image-menu.ui) is written
    untranslated, and the other parts are translated by the plug-in, so the German menu shows
    no English: for each language the menu as GIMP shows it is printed;
  - the image types include indexed images;
  - the help domain GIMP registered for the plug-in (pluginrc's help-def) maps the
    procedure's help id, through <domain>/<lang>/gimp-help.xml, to an existing page, which
    names every argument and choice by its label in that language;
  - the icon GIMP registered (pluginrc's icon) is an image file that loads.
usage: menu-help-check.py IMAGE_MENU_UI GIMP_LOCALEDIR PLUGINRC LANG:PROC_LOG...
Each PROC_LOG holds the line "PROC {json}" printed by a python-fu-eval batch run with
LANGUAGE=LANG (the procedure's menu paths, label, image types, help id, nicks, choices).
Prints PASS/FAIL lines, then MENU-CHECK-DONE; exit status 1 when one failed."""
import gettext
import json
import os
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

failures = 0


def report(ok, what):
    global failures
    print(("PASS " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


def canonical(label):
    """GIMP matches menu paths against labels without mnemonics or a trailing ellipsis."""
    return label.replace("_", "").rstrip(".").rstrip("\u2026").strip()


def submenus(node):
    """The submenus directly in a menu (through its sections, not into its submenus)."""
    for child in node:
        if child.tag == "submenu":
            yield child
        elif child.tag == "section":
            yield from submenus(child)


def label_of(submenu):
    for a in submenu.findall("attribute"):
        if a.get("name") == "label":
            return a.text or "", a.get("context")
    return None, None


def shown_path(ui_root, path, catalog):
    """The menu path as GIMP shows it: (parts as shown, parts GIMP did not know)."""
    prefix, _, rest = path.partition("/")
    if prefix != "<Image>":
        return None, ["(not an <Image> path: %s)" % prefix]
    menu = ui_root.find("menu")
    shown, unknown = [], []
    for part in rest.split("/") if rest else []:
        match = None
        if menu is not None:
            for sub in submenus(menu):
                label, context = label_of(sub)
                if label is not None and canonical(label) == canonical(part):
                    match = sub, label, context
                    break
        if match:
            menu, label, context = match
            text = catalog.pgettext(context, label) if context else catalog.gettext(label)
            shown.append(canonical(text))
        else:
            menu = None  # an unknown part: GIMP makes the submenu with this label as it is
            shown.append(part)
            unknown.append(part)
    return shown, unknown


def read_proc(log):
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("PROC "):
                return json.loads(line[5:])
    return None


def main():
    ui_file, localedir, pluginrc = sys.argv[1:4]
    runs = []
    for arg in sys.argv[4:]:
        lang, log = arg.split(":", 1)
        proc = read_proc(log)
        report(proc is not None, "%s: the procedure was looked up in GIMP (%s)" % (lang, log))
        if proc:
            runs.append((lang, proc))
    if not runs:
        return
    ui_root = ET.parse(ui_file).getroot()
    english = dict(runs).get("en")

    # The menu.
    for lang, proc in runs:
        catalog = gettext.translation("gimp30", localedir, languages=[lang], fallback=True)
        paths = proc["menu_paths"]
        report(len(paths) >= 1, "%s: the procedure has a menu path (%s)" % (lang, paths))
        for i, path in enumerate(paths):
            shown, unknown = shown_path(ui_root, path, catalog)
            if shown is None:
                report(False, "%s: menu path %s: %s" % (lang, path, unknown[0]))
                continue
            menu = " > ".join(shown + [proc["menu_label"].replace("_", "")])
            if lang == "en" or english is None:
                report(True, "%s: menu %s (GIMP's own: %s)" % (lang, menu, " > ".join(
                    s for s in shown if s not in unknown) or "none"))
                continue
            en_path = english["menu_paths"][i].split("/")[1:]
            untranslated = [p for p in unknown if p in en_path]
            report(not untranslated,
                   "%s: menu %s%s" % (lang, menu, " shows %s in English: not a GIMP 3 menu, and "
                                      "not translated" % untranslated if untranslated else ""))

    # Image types.
    for lang, proc in runs[:1]:
        types = [t.strip() for t in proc["image_types"].split(",")]
        report(any(t.startswith("INDEXED") or t == "*" for t in types),
               "image types %s include indexed images" % proc["image_types"])

    # The help domain and the icon, as GIMP registered them.
    rc = open(pluginrc, encoding="utf-8", errors="replace").read()
    block = re.search(r'\(plug-in-def "[^"]*/lnlfer"(.*?)\n\(plug-in-def', rc + '\n(plug-in-def', re.S)
    block = block.group(1) if block else ""
    helpdef = re.search(r'\(help-def "([^"]*)" "([^"]*)"\)', block)
    report(helpdef is not None, "pluginrc: lnlfer registered a help domain (%s)" %
           (helpdef.group(0) if helpdef else "none"))
    for lang, proc in runs:
        help_id = proc["help_id"]
        if not helpdef:
            break
        domain, uri = helpdef.groups()
        report(help_id.startswith(domain + "?"),
               "%s: the procedure's help id %s is in the domain %s" % (lang, help_id, domain))
        root = urllib.parse.unquote(urllib.parse.urlparse(uri).path)
        mapping = os.path.join(root, lang, "gimp-help.xml")
        try:
            items = {i.get("id"): i.get("ref") for i in ET.parse(mapping).getroot().iter("help-item")}
        except (OSError, ET.ParseError) as e:
            report(False, "%s: %s: %s" % (lang, mapping, e))
            continue
        ref = items.get(help_id.partition("?")[2])
        page = os.path.join(root, lang, ref) if ref else None
        report(page is not None and os.path.isfile(page),
               "%s: help id %s -> %s" % (lang, help_id, page or "no help-item in " + mapping))
        if not page or not os.path.isfile(page):
            continue
        text = " ".join(re.sub(r"<[^>]*>", " ", open(page, encoding="utf-8").read()).split())
        text = text.replace("&gt;", ">").replace("&amp;", "&")
        missing = [n for n in proc["nicks"] + proc["choices"] if canonical(n) not in text]
        report(not missing, "%s: the help page names every option and choice (%d)%s" % (
            lang, len(proc["nicks"]) + len(proc["choices"]),
            ", not: %s" % missing if missing else ""))
    icon = re.search(r'\(icon image-file -?\d+ "([^"]*)"\)', block)
    report(icon is not None, "pluginrc: lnlfer registered an icon file (%s)" %
           (icon.group(1) if icon else "none"))
    if icon:
        path = urllib.parse.unquote(urllib.parse.urlparse(icon.group(1)).path)
        try:
            import gi
            gi.require_version("GdkPixbuf", "2.0")
            from gi.repository import GdkPixbuf
            pixbuf = GdkPixbuf.Pixbuf.new_from_file(path)
            report(pixbuf.get_width() >= 16 and pixbuf.get_has_alpha(),
                   "the icon loads: %s, %d x %d with alpha" % (path, pixbuf.get_width(),
                                                              pixbuf.get_height()))
        except Exception as e:  # noqa: BLE001 (any failure to load is the finding)
            report(False, "the icon %s does not load: %s" % (path, e))


main()
print("MENU-CHECK-DONE")  # reached without an exception
sys.exit(1 if failures else 0)
