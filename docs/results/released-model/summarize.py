#!/usr/bin/env python3
"""Prints the README's tables from attacks/attacks.csv (the report's CSV, next to this file): per attack row,
the accuracy and the reference BER after, their change against the watermarked model and against the baseline
(pruning rate 0, overwriting lambda 0: same budget, nothing removed), and the verdicts. Usage:
python3 docs/results/released-model/summarize.py"""
import csv
import os

rows = list(csv.DictReader(open(os.path.join(os.path.dirname(__file__), "attacks", "attacks.csv"))))


def f(row, key, digits=3, signed=False):
    v = row.get(key, "")
    if v == "":
        return "-"
    return f"{float(v):+.{digits}f}" if signed else f"{float(v):.{digits}f}"


def name(r):
    parts = [r["attack"]]
    for axis in ("attack.variant", "attack.bits", "attack.rate", "attack.lambda", "attack.lr", "attack.sigma", "attack.decimals"):
        if r.get(axis, ""):
            parts.append(f"{axis.split('.')[-1]}={r[axis]}")
    return " ".join(parts)


def verdict(r):
    if r.get("usable_rate", "") == "":
        return "-"
    usable = float(r["usable_rate"]) == 1.0
    owned = r.get("owned_rate", "")
    if owned == "":
        return "usable" if usable else "wrecked"
    if not usable:
        return "wrecked (owned)" if float(owned) == 1.0 else "wrecked (not owned)"
    return "owned" if float(owned) == 1.0 else "**removed**"


api = ("noise", "score-rounding", "score-perturbation")
print("| attack | acc after | acc change | BER after (ref.) | BER change | vs baseline: acc, BER | attacker's own BER | verdict |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["attack"] in api:
        continue
    base = "-" if r.get("accuracy_change_vs_baseline_mean", "") == "" else \
        f"{f(r, 'accuracy_change_vs_baseline_mean', signed=True)}, {f(r, 'ber_change_vs_baseline_mean', signed=True)}"
    print(f"| {name(r)} | {f(r, 'test_accuracy_mean')} | {f(r, 'accuracy_change_mean', signed=True)} | "
          f"{f(r, 'mean_repeat_ber_mean')} | {f(r, 'ber_change_mean', signed=True)} | {base} | "
          f"{f(r, 'attacker_mean_repeat_ber_mean')} | {verdict(r)} |")
steps = sorted({k[len("ber_remote_h"):-len("_mean")] for k in rows[0] if k.startswith("ber_remote_h") and k.endswith("_mean")},
               key=float, reverse=True)
print()
print("| attack on the API | acc through the API | " + " | ".join(f"remote BER h={h}" for h in steps) + " | usable |")
print("|---|---|" + "---|" * len(steps) + "---|")
for r in rows:
    if r["attack"] not in api:
        continue
    print(f"| {name(r)} | {f(r, 'test_accuracy_mean')} | " + " | ".join(f(r, f"ber_remote_h{h}_mean") for h in steps)
          + f" | {verdict(r)} |")
