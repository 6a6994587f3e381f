"""Reads `signsweep export --tensorboard DIR` back with TensorBoard's own reader (EventAccumulator and the
HParams plugin's protos) and compares every value with the exports beside it (trials.csv, series.csv, which
the CLI test compares with the store through h5py). Prints one line per check; exit 1 on a mismatch.
Usage: check_tensorboard.py DIR (run with the Python of .venv-tensorboard)."""
import csv
import math
import os
import sys
from collections import defaultdict

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

out = sys.argv[1]
trials = list(csv.DictReader(open(os.path.join(out, "trials.csv"))))
series = defaultdict(list)
for row in csv.DictReader(open(os.path.join(out, "series.csv"))):
    series[row["id"]].append(row)
axes = [a.strip() for a in open(os.path.join(out, "axes.txt")) if a.strip()]
failed = 0


def fail(message):
    global failed
    failed += 1
    print("FAIL", message)


def close(a, b):  # event files hold float32
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)


done = [t for t in trials if t["state"] == "done"]
values = 0
for t in done:
    run = os.path.join(out, f"{t['kind']}-{t['id']}")
    ea = EventAccumulator(run, size_guidance={"scalars": 0})
    ea.Reload()
    tags = set(ea.Tags()["scalars"])
    for row in series.get(t["id"], []):
        for name, text in row.items():
            if name in ("id", "kind", "label", "epoch") or name in axes or text == "":
                continue
            points = {e.step: e.value for e in ea.Scalars(f"series/{name}")} if f"series/{name}" in tags else {}
            got = points.get(int(row["epoch"]))
            if got is None or not close(got, float(text)):
                fail(f"{run}: series/{name} at epoch {row['epoch']} is {got}, the export says {text}")
            values += 1
    content = ea.PluginTagToContent("hparams")
    if "_hparams_/session_start_info" not in content:
        fail(f"{run}: no HParams session")
        continue
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    hp = {k: (v.number_value if v.HasField("number_value") else v.string_value) for k, v in start.hparams.items()}
    want = {"kind": t["kind"], **{a: t[a] for a in axes if t.get(a, "") != ""}}
    for k, v in want.items():
        try:
            ok = close(hp.get(k), float(v))
        except (TypeError, ValueError):
            ok = hp.get(k) == v
        if not ok:
            fail(f"{run}: hparam {k} = {hp.get(k)!r}, the export says {v!r}")
        values += 1
    for name in ("test_accuracy", "ber_white_box", "mean_repeat_ber"):
        if t.get(name, "") == "":
            continue
        got = [e.value for e in ea.Scalars(f"final/{name}")] if f"final/{name}" in tags else []
        if len(got) != 1 or not close(got[0], float(t[name])):
            fail(f"{run}: final/{name} = {got}, the export says {t[name]}")
        values += 1
root = EventAccumulator(out)
root.Reload()
experiment = root.PluginTagToContent("hparams").get("_hparams_/experiment")
declared = set()
if experiment is not None:
    declared = {h.name for h in plugin_data_pb2.HParamsPluginData.FromString(experiment).experiment.hparam_infos}
used = {a for t in done for a in axes if t.get(a, "") != ""} | {"kind"}
if not used <= declared:
    fail(f"{out}: the experiment summary declares {sorted(declared)}, not every axis of {sorted(used)}")
print(f"checked {len(done)} TensorBoard runs, {values} values against the exports")
sys.exit(1 if failed else 0)
