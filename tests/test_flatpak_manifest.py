#!/usr/bin/env python3
"""Checks flatpak/org.gimp.GIMP.Plugin.Lnlfer.json without the Flatpak runtime: it parses
(with flatpak-builder --show-manifest too, where flatpak-builder is installed: it must know
every key), it is the GIMP 3
extension (id, branch, runtime, build-extension, prefix), cJSON and OpenBLAS are modules with
pinned archives (URL and a sha256), OpenBLAS is built static only, and the lnlfer module's
meson options exist (meson_options.txt or meson's built-ins) and install the plug-in under
the prefix with the static OpenBLAS."""
import json
import re
import shutil
import subprocess
import sys
import tempfile

src = sys.argv[1]
path = src + "/flatpak/org.gimp.GIMP.Plugin.Lnlfer.json"
failures = []


def check(name, ok, detail=""):
    print(("ok - " if ok else "FAIL - ") + name + ("" if ok else ": " + str(detail)))
    if not ok:
        failures.append(name)


m = json.load(open(path))
check("id", m.get("id") == "org.gimp.GIMP.Plugin.Lnlfer", m.get("id"))
check("branch 3", m.get("branch") == "3", m.get("branch"))
check("runtime org.gimp.GIMP", m.get("runtime") == "org.gimp.GIMP", m.get("runtime"))
check("build-extension", m.get("build-extension") is True)
prefix = m.get("build-options", {}).get("prefix")
check("prefix /app/extensions/Lnlfer", prefix == "/app/extensions/Lnlfer", prefix)
modules = {mod["name"]: mod for mod in m.get("modules", [])}
check("modules cjson, openblas, lnlfer in that order",
      [mod["name"] for mod in m.get("modules", [])] == ["cjson", "openblas", "lnlfer"],
      list(modules))
for name in ("cjson", "openblas"):
    for source in modules.get(name, {}).get("sources", []):
        check(name + ": archive with a URL and a sha256",
              source.get("type") == "archive" and source.get("url", "").startswith("https://")
              and re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")) is not None, source)
        check(name + ": says how the checksum was obtained", "Debian" in source.get("//", ""))
check("cjson: static only", "-DBUILD_SHARED_LIBS=OFF" in modules["cjson"].get("config-opts", []))
check("openblas: static only, with CBLAS",
      all("NO_SHARED=1" in c and "NO_CBLAS" not in c
          for c in modules["openblas"].get("build-commands", [])))

options = set(re.findall(r"option\('([^']+)'", open(src + "/meson_options.txt").read()))
builtins = {"buildtype", "werror", "prefix", "libdir", "b_lto", "strip"}
opts = modules["lnlfer"].get("config-opts", [])
for opt in opts:
    name = opt[2:].split("=")[0]
    check("lnlfer: option " + name + " exists", name in options | builtins, opt)
check("lnlfer: plug-in under the prefix", "-Dgimplibdir=" + str(prefix) in opts, opts)
check("lnlfer: static OpenBLAS", "-Dstatic-openblas=true" in opts, opts)
check("lnlfer: plug-in enabled", "-Dplugin=enabled" in opts, opts)

if shutil.which("flatpak-builder"):
    with tempfile.TemporaryDirectory() as scratch:  # it leaves a .flatpak-builder/ in its cwd
        r = subprocess.run(["flatpak-builder", "--show-manifest", path], capture_output=True,
                           text=True, cwd=scratch)
    check("flatpak-builder --show-manifest", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        # flatpak-builder drops the keys it does not know: a misspelt key shows as lost.
        shown = json.loads(r.stdout)

        def lost(a, b):
            return sorted(k for k in a if k != "//" and k not in b)

        check("flatpak-builder knows every key", lost(m, shown) == [], lost(m, shown))
        for mine, theirs in zip(m["modules"], shown.get("modules", [])):
            check("flatpak-builder knows every key of module " + mine["name"],
                  lost(mine, theirs) == [], lost(mine, theirs))
else:
    print("skip - flatpak-builder not installed: checked as JSON only")
sys.exit(1 if failures else 0)
