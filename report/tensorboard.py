#!/usr/bin/env python3
"""`signsweep export STORE --tensorboard DIR` (the last step): one TensorBoard run per trial, from the exports
signsweep wrote into DIR (trials.csv: one row per trial; series.csv: one row per trial and epoch; axes.txt: the
sweep's axes, one per line). It never reads the store, so its numbers are the exports'.

Each trial of state done becomes the run DIR/<kind>-<id>/ with
  - its per-epoch series as scalars under series/<name> (loss, test and train accuracy, bit accuracy, lr,
    images per second...), step = epoch;
  - an HParams session (TensorBoard's HParams plugin): the trial's axes and kind as hyperparameters, its final
    results (test accuracy, the reference's BER, the projection BER, p-value...) as metrics under final/<name>,
    so the plugin's table and parallel-coordinates views compare the trials of a sweep;
and DIR itself gets the experiment summary that declares every hyperparameter and metric of the sweep.
The events are written with tensorboardX (PyPI, in the virtual environment scripts/setup-tensorboard.sh makes).
Exit 2: DIR holds no exports.
Usage: tensorboard.py DIR
"""
import csv
import os
import sys
from collections import defaultdict

from tensorboardX import SummaryWriter
from tensorboardX.summary import hparams

# Columns of trials.csv that describe the trial rather than measure it.
BOOKKEEPING = {"id", "kind", "label", "parent", "state", "attempts", "error", "started", "finished"}


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def hyperparameter(text):
    """An axis value as HParams wants it: a number where it is one, else the text."""
    value = number(text)
    return value if value is not None else text


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    try:
        trials = read_rows(os.path.join(out, "trials.csv"))
        series_rows = read_rows(os.path.join(out, "series.csv"))
        with open(os.path.join(out, "axes.txt")) as f:
            axes = [line.strip() for line in f if line.strip()]
    except OSError as e:
        print(f"tensorboard.py: {out}: no export to read ({e})", file=sys.stderr)
        return 2
    series = defaultdict(list)
    for row in series_rows:
        series[row["id"]].append(row)
    series_names = [c for c in (series_rows[0].keys() if series_rows else [])
                    if c not in BOOKKEEPING and c not in axes and c != "epoch"]
    written = 0
    all_hparams, all_metrics = {}, {}
    for trial in trials:
        if trial["state"] != "done":
            continue
        run = os.path.join(out, f"{trial['kind']}-{trial['id']}")
        with SummaryWriter(logdir=run) as w:
            for row in series.get(trial["id"], []):
                epoch = int(row["epoch"])
                for name in series_names:
                    value = number(row[name])
                    if value is not None:
                        w.add_scalar(f"series/{name}", value, epoch)
            hparam_dict = {"kind": trial["kind"]}
            hparam_dict.update({a: hyperparameter(trial[a]) for a in axes if trial.get(a, "") != ""})
            metric_dict = {}
            for name, text in trial.items():
                if name in BOOKKEEPING or name in axes or text == "":
                    continue
                value = number(text)
                if value is not None:
                    metric_dict[f"final/{name}"] = value
            _, start, end = hparams(hparam_dict, metric_dict)
            for summary in (start, end):
                w.file_writer.add_summary(summary)
            for k, v in hparam_dict.items():
                all_hparams.setdefault(k, v)
            all_metrics.update({k: 0.0 for k in metric_dict})
            for name, value in metric_dict.items():
                w.add_scalar(name, value, 0)
        written += 1
    # One experiment summary at the top of DIR declares every hyperparameter and metric of the sweep: the
    # HParams plugin reads its columns from there (a run's own would declare only that run's axes).
    if written:
        experiment, _, _ = hparams(all_hparams, all_metrics)
        with SummaryWriter(logdir=out) as w:
            w.file_writer.add_summary(experiment)
    print(f"{written} TensorBoard runs in {out} (tensorboard --logdir {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
