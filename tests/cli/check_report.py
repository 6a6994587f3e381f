"""Checks `signsweep report --plots` against `signsweep report --format csv` on the same store: every figure
listed in index.md exists as PNG (of the size index.md states), SVG, PDF and CSV; every number a figure's CSV
plots equals the report's number for the same cell (same axis values, same column name; training against the
training table, lambda-cost against the cost table); every interval of a ratio lies in [0, 1] around its value;
attacks on the prediction API (if the store has any) have remote BERs and no white-box BER after the attack.
Usage: check_report.py <signsweep> <store> <plots dir>; exits 1 on the first mismatch."""
import csv
import io
import math
import os
import re
import struct
import subprocess
import sys

import matplotlib.image

signsweep, store, plots = sys.argv[1:4]


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def report(table):
    out = subprocess.run([signsweep, "report", store, "--table", table, "--format", "csv"], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def same(a, b):
    if a in ("", "nan") and b in ("", "nan"):
        return True
    if a in ("", "nan") or b in ("", "nan"):
        return False
    x, y = float(a), float(b)
    return math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-9)


METRIC = r"_(mean|std|lo|hi|median|rate)$"  # the report's cell columns (report/report.h)
attacks, embed = report("attacks"), report("embed")
for table, rows in (("embed", embed), ("attacks", attacks)):
    for r in rows:
        for k in r:
            if k.endswith("_lo") and r[k] != "":
                stem = k[:-3]
                lo, hi = float(r[k]), float(r[stem + "_hi"])
                value = float(r.get(stem + "_mean") or r.get(stem + "_rate"))
                floor = -1.0 if "change" in stem else 0.0  # a paired change of a quantity in [0, 1] is in [-1, 1]
                if not (floor <= lo <= value + 1e-12 and value <= hi + 1e-12 and hi <= 1.0):
                    fail(f"{table} row {r}: {stem} interval [{lo}, {hi}] is not inside [{floor:g}, 1] around {value}")
api_rows = [r for r in attacks if r["attack"] in ("noise", "score-rounding", "score-perturbation")]
for r in api_rows:
    remote = [k for k in r if k.startswith("ber_remote_h") and k.endswith("_mean") and r[k] != ""]
    if r["ber_white_box_mean"] != "" or not remote:
        fail(f"API attack row {r} must show remote BER and no white-box BER after the attack")

index = open(os.path.join(plots, "index.md")).read()
figures = re.findall(r"!\[([\w-]+)\]\(\1\.png\)", index)
sizes = {name: (int(w), int(h)) for name, w, h in re.findall(r"### ([\w-]+)\n\n!\[[^\n]*\n\n[^\n]* PNG (\d+)x(\d+) px", index)}
for table in ("embed", "attacks"):
    if not os.path.exists(os.path.join(plots, f"{table}.md")) or f"{table}.md" not in index:
        fail(f"table {table} missing from {plots} or its index")
for name in figures:
    for ext in ("png", "svg", "pdf", "csv"):
        if not os.path.exists(os.path.join(plots, f"{name}.{ext}")):
            fail(f"{name}.{ext} missing")
    png = os.path.join(plots, f"{name}.png")
    size = png_size(png)
    height, width = matplotlib.image.imread(png).shape[:2]  # it decodes, to the size its header says
    if (width, height) != size or size != sizes.get(name):
        fail(f"{name}.png is {size} (decoded {width}x{height}), index.md states {sizes.get(name)}")
    rows = list(csv.DictReader(open(os.path.join(plots, f"{name}.csv"))))
    if not rows:
        fail(f"{name}.csv is empty")
    source = {"capacity": embed, "training": report("training"), "lambda-cost": report("cost")}.get(name, attacks)
    for row in rows:
        numeric = [k for k in row if re.search(METRIC, k)]
        axes = [k for k in row if k not in numeric and k != "n"]
        match = [r for r in source if all(r.get(a, "") == row[a] for a in axes)
                 and all(r.get(a, "") == "" for a in r if a not in row and not re.search(METRIC, a) and a != "n")]
        if len(match) != 1:
            fail(f"{name}.csv row {row}: {len(match)} report rows with these axis values")
        for k in numeric + ["n"]:
            if not same(row[k], match[0].get(k, "")):
                fail(f"{name}.csv {k} = {row[k]} but the report says {match[0].get(k)} for {row}")
print(f"checked {len(figures)} figures: {', '.join(sorted(figures))}; {len(api_rows)} API attack rows")
