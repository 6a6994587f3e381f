#!/usr/bin/env python3
"""Draws bench/results/scale.csv (bench/scale_sweep.sh): time and memory against trials, log-log.
   /usr/bin/python3 bench/scale_figure.py [csv] [out prefix, default docs/figures/scale]"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/scale.csv"
out = sys.argv[2] if len(sys.argv) > 2 else "docs/figures/scale"
rows = list(csv.DictReader(open(path)))
n = [int(r["trials"]) for r in rows]


def col(name):
    return [float(r[name]) for r in rows]


fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4))
times = [("expansion_s", "sweep expansion", "o", "-"),
         ("resume_first_task_s", "resume: start to first task", "s", "--"),
         ("resume_store_s", "resume: store opened and read", "^", ":"),
         ("status_s", "signsweep status", "D", "-."),
         ("report_s", "signsweep report", "v", (0, (5, 1, 1, 1, 1, 1)))]
for key, label, marker, style in times:
    left.plot(n, col(key), marker=marker, linestyle=style, color="black", label=label)
left.plot(n, [x * col("rank0_cpu_us_per_trial")[i] * 1e-6 for i, x in enumerate(n)], marker="x", linestyle="-",
          color="gray", label="rank 0 CPU of the whole run (per trial x trials)")


def log_log(ax, ylabel, title):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("trials in the sweep")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


log_log(left, "seconds", "time (one core)")
right.plot(n, col("peak_rss_mib"), marker="o", color="black", label="rank 0 peak resident memory")
right.plot(n, col("store_mib"), marker="s", linestyle="--", color="gray", label="store on disk (apparent size)")
log_log(right, "MiB", "memory and store size")
fig.tight_layout()
for ext in ("png", "pdf", "svg"):
    fig.savefig(f"{out}.{ext}", dpi=150)
print(f"{out}.png")
