"""The paper's figures from the tables of `signsweep report`, never from the store itself.

    plots.py DIR [--store STORE] [--over trainer.seed]

`signsweep report STORE --plots DIR` writes every table as DIR/<table>.csv and .md (report/report.h), then
runs this on DIR: every figure is drawn from those CSVs, so the numbers it plots are the table's by
construction (one statistics implementation, in C++). Each figure is drawn only where the tables hold its
data, as DIR/<name>.png (150 dpi), .svg and .pdf (for LaTeX), with the rows it plots in DIR/<name>.csv;
DIR/index.md lists tables and figures. Error bars are the table's 95% intervals (<figure>_lo, _hi), which stay
inside [0, 1] for ratios; a point of one run has none. Curves differ in marker and line style as well as
colour (readable in grayscale); one legend per figure.

Figures (name: table: what it shows):
  pruning        attacks   test accuracy and white-box BER after pruning + fine-tuning vs pruning rate
  quantization   attacks   test accuracy and white-box BER after weight quantization vs bits
  score-rounding attacks   remote BER vs finite-difference step h, one curve per number of decimals
  noise          attacks   test accuracy and remote BER vs input-noise sigma
  capacity       embed     BER and test accuracy vs signature length N, one curve per scheme
  lambda-cost    cost      test accuracy of watermarked minus plain models (paired by seed) vs lambda
  training       training  test accuracy and bit accuracy at each epoch end
--store names the store in index.md; --over names the pooled axes there (the CSVs were made with them).
Exit status: 0, 2 for a folder without the report's tables (the message names it), 1 otherwise.
"""
import argparse
import csv
import os
import re
import sys
from collections import OrderedDict

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError as e:  # pragma: no cover - a missing Debian package
    print(f"plots.py: {e}: install python3-matplotlib (scripts/setup.sh does)", file=sys.stderr)
    sys.exit(2)

DPI = 150
ONE_PANEL = (3.5, 2.6)   # inches: one column of a two-column paper
TWO_PANELS = (7.0, 2.6)  # the full text width
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", ":", "-.")
STABLE_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}  # the same figure gives the same file
plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
                     "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2, "lines.markersize": 3.5,
                     "savefig.dpi": DPI, "svg.hashsalt": "signsweep", "pdf.fonttype": 42})


# ---- the report's tables -------------------------------------------------------------------------------

def read_table(out_dir, name):
    """The rows of DIR/<name>.csv as dicts of strings ([] when the report wrote no such table)."""
    path = os.path.join(out_dir, f"{name}.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def axes_of(rows):
    """The grouping axes of a table: its columns before `n`."""
    if not rows:
        return []
    columns = list(rows[0])
    return columns[:columns.index("n")] if "n" in columns else []


def number(row, key):
    value = row.get(key, "")
    return None if value in ("", None) else float(value)


def point(row, x, metric):
    """(x, mean, lo, hi) of one table cell, or None where the cell is empty; lo/hi are None for one run."""
    mean = number(row, f"{metric}_mean")
    if mean is None:
        return None
    return (x, mean, number(row, f"{metric}_lo"), number(row, f"{metric}_hi"))


# ---- figures --------------------------------------------------------------------------------------------

def short_value(value):
    """A mapping-valued axis (a whole watermark section) is named by its scheme."""
    m = re.search(r"scheme: *([\w-]+)", value)
    return m.group(1) if value.startswith("{") and m else value


AXIS_NAMES = {"attack.variant": "variant", "watermark.bits": "N", "watermark.carriers": "C", "watermark.lambda": "lambda", "attack.bits": "bits",
              "attack.decimals": "decimals", "watermark": "scheme"}


def curve_label(axes, row, skip):
    parts = [f"{AXIS_NAMES.get(a, a.split('.')[-1])}={short_value(row[a])}" for a in axes
             if a not in skip and row.get(a, "") != ""]
    return ", ".join(parts) if parts else "all"


def dodge(x, curve, curves, measured, logx):
    """Curve i of k drawn a little beside the measured x, so that overlapping error bars stay apart."""
    if curves < 2 or len(measured) < 2:
        return x
    shift = (curve - (curves - 1) / 2) * 0.012
    if logx:
        return x * (measured[-1] / measured[0]) ** shift
    return x + shift * (measured[-1] - measured[0])


class Figure:
    """Panels of curves over x; error bars are the table's intervals; the CSV holds the rows it plots."""

    def __init__(self, name, caption, xlabel, logx=False):
        self.name, self.caption, self.xlabel, self.logx = name, caption, xlabel, logx
        self.panels = []  # (metric, y label, ratio, OrderedDict label -> [points])
        self.rows = []

    def add_panel(self, metric, ylabel, curves, ratio=True):
        if any(curves.values()):
            self.panels.append((metric, ylabel, ratio, curves))

    def plot(self, out_dir):
        size = ONE_PANEL if len(self.panels) == 1 else TWO_PANELS if len(self.panels) == 2 else \
            (ONE_PANEL[0] * len(self.panels), ONE_PANEL[1])
        fig, axs = plt.subplots(1, len(self.panels), figsize=size, constrained_layout=True, squeeze=False)
        labels = list(OrderedDict.fromkeys(label for _, _, _, curves in self.panels for label in curves))
        handles = {}
        for ax, (metric, ylabel, ratio, curves) in zip(axs[0], self.panels):
            measured = sorted({p[0] for points in curves.values() for p in points})
            lows, highs = [], []
            for label, points in curves.items():
                i = labels.index(label)
                points = sorted(points)
                xs = [dodge(p[0], i, len(labels), measured, self.logx) for p in points]
                ys = [p[1] for p in points]
                below = [0.0 if p[2] is None else max(p[1] - p[2], 0.0) for p in points]
                above = [0.0 if p[3] is None else max(p[3] - p[1], 0.0) for p in points]
                handles[label] = ax.errorbar(xs, ys, yerr=[below, above], capsize=2, label=label,
                                             marker=MARKERS[i % len(MARKERS)], linestyle=LINESTYLES[i % len(LINESTYLES)])
                lows += [y - b for y, b in zip(ys, below)]
                highs += [y + a for y, a in zip(ys, above)]
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel(ylabel)
            if self.logx:
                ax.set_xscale("log")
            if len(measured) <= 12:  # ticks at the measured points
                ax.set_xticks(measured)
                ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            if ratio:  # ratios: the axis stays within [0, 1]
                low, high = max(min(lows), 0.0), min(max(highs), 1.0)
                pad = max(0.02, 0.05 * (high - low))
                bottom, top = max(low - pad, 0.0), min(high + pad, 1.0)
                margin = 0.03 * (top - bottom)  # markers on the limits stay whole
                ax.set_ylim(bottom - margin, top + margin)
            ax.grid(True, alpha=0.3)
        if len(labels) > 1:  # one legend for the figure, in its first panel
            axs[0][0].legend([handles[label] for label in labels if label in handles],
                             [label for label in labels if label in handles], frameon=False)
        for ext in ("png", "svg", "pdf"):
            fig.savefig(os.path.join(out_dir, f"{self.name}.{ext}"), metadata=STABLE_METADATA.get(ext))
        plt.close(fig)
        with open(os.path.join(out_dir, f"{self.name}.csv"), "w", newline="") as f:
            columns = list(OrderedDict.fromkeys(k for r in self.rows for k in r))
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            for r in self.rows:
                w.writerow(r)
        width, height = (int(round(s * DPI)) for s in size)
        return width, height


def headline_ber(rows):
    """The reference's BER (mean over repeats) where the tables have it; the projection's for older stores."""
    if any(r.get("mean_repeat_ber_mean", "") != "" for r in rows):
        return ("mean_repeat_ber", "BER (reference: mean of R repeats)", True)
    return ("ber_white_box", "white-box BER (projection)", True)


def axis_figure(rows, keep, x_axis, metrics, name, caption, xlabel, logx=False, skip=("attack",)):
    """A figure over one axis (x_axis) of the table rows `keep` selects; one curve per other axis values.
    metrics: [(column stem, y label, is a ratio)]."""
    axes = axes_of(rows)
    chosen = [r for r in rows if keep(r) and r.get(x_axis, "") != ""]
    if len({r[x_axis] for r in chosen}) < 2:
        return None
    fig = Figure(name, caption, xlabel, logx)
    constant = {a for a in axes if len({r.get(a, "") for r in chosen}) == 1}  # the same on every curve: no label
    for metric, ylabel, ratio in metrics:
        curves = OrderedDict()
        for r in chosen:
            p = point(r, float(r[x_axis]), metric)
            if p is not None:
                curves.setdefault(curve_label(axes, r, {x_axis, *skip, *constant}), []).append(p)
        fig.add_panel(metric, ylabel, curves, ratio)
    fig.rows = chosen
    return fig if fig.panels else None


def remote_steps(rows):
    """The finite-difference steps h that the table has remote-BER columns for, ascending."""
    steps = set()
    for r in rows[:1]:
        for k in r:
            m = re.fullmatch(r"ber_remote_h(.+)_mean", k)
            if m:
                steps.add(float(m.group(1)))
    return sorted(steps)


def score_rounding_figure(attacks):
    axes = axes_of(attacks)
    chosen = [r for r in attacks if r.get("attack") == "score-rounding"]
    steps = remote_steps(chosen)
    if not chosen or len(steps) < 2:
        return None
    fig = Figure("score-rounding", "Remote BER through an API that rounds its probabilities, against the finite-"
                 "difference step h, one curve per number of decimals.", "finite-difference step h", logx=True)
    curves = OrderedDict()
    for r in chosen:
        for h in steps:
            p = point(r, h, f"ber_remote_h{h:g}")
            if p is not None:
                curves.setdefault(curve_label(axes, r, {"attack"}), []).append(p)
    fig.add_panel("ber_remote", "remote BER", curves)
    fig.rows = chosen
    return fig if fig.panels else None


def noise_figure(attacks):
    axes = axes_of(attacks)
    chosen = [r for r in attacks if r.get("attack") == "noise" and r.get("attack.sigma", "") != ""]
    if len({r["attack.sigma"] for r in chosen}) < 2:
        return None
    steps = remote_steps(chosen)
    fig = Figure("noise", "Input noise: one Gaussian pattern (sigma in [0, 1] pixel space) added to every query; test "
                 "accuracy and remote BER through the noisy API.", "noise sigma (pixel scale)")
    accuracy, ber = OrderedDict(), OrderedDict()
    for r in chosen:
        x = float(r["attack.sigma"])
        label = curve_label(axes, r, {"attack.sigma", "attack"})
        p = point(r, x, "test_accuracy")
        if p is not None:
            accuracy.setdefault(label, []).append(p)
        for h in steps:
            p = point(r, x, f"ber_remote_h{h:g}")
            if p is not None:
                name = label if len(steps) == 1 else (f"h={h:g}" if label == "all" else f"{label}, h={h:g}")
                ber.setdefault(name, []).append(p)
    fig.add_panel("test_accuracy", "test accuracy (through the API)", accuracy)
    fig.add_panel("ber_remote", f"remote BER (h={steps[0]:g})" if len(steps) == 1 else "remote BER", ber)
    fig.rows = chosen
    return fig if fig.panels else None


def training_figure(training):
    """At most 6 curves of 2 epochs or more; the null-model stage's plain models are named as such."""
    axes = [a for a in axes_of(training) if a != "epoch"]
    groups = OrderedDict()
    for r in training:
        groups.setdefault(tuple(r.get(a, "") for a in axes), []).append(r)
    groups = OrderedDict((k, v) for k, v in groups.items() if len(v) >= 2)
    if not groups or len(groups) > 6:
        return None
    fig = Figure("training", "Training: test accuracy and the white-box bit accuracy of the signature (watermarked "
                 "models) at each epoch end, one curve per recipe.", "epoch")
    panels = OrderedDict((("test_accuracy", OrderedDict()), ("bit_accuracy", OrderedDict())))
    for key, rows in groups.items():
        label = curve_label(axes, rows[0], {"stage"})
        if rows[0].get("stage") == "null-model":
            label = "plain (null models)" if label == "all" else f"{label}, plain (null models)"
        for r in rows:
            for metric, curves in panels.items():
                p = point(r, float(r["epoch"]), metric)
                if p is not None:
                    curves.setdefault(label, []).append(p)
        fig.rows += rows
    fig.add_panel("test_accuracy", "test accuracy", panels["test_accuracy"])
    fig.add_panel("bit_accuracy", "bit accuracy (white-box)", panels["bit_accuracy"])
    return fig if fig.panels else None


def with_lambda_axis(row):
    """A cost row whose grid gave the watermark as a whole mapping ({scheme: gradsigns, ..., lambda: 0.3}, so
    that a plain model of each seed sits in the same axis) with that axis replaced by its lambda."""
    if row.get("watermark.lambda", "") != "" or "watermark" not in row:
        return row
    found = re.search(r"lambda: *([0-9.eE+-]+)", row["watermark"])
    return {("watermark.lambda" if k == "watermark" else k): (found.group(1) if found else "") if k == "watermark" else v
            for k, v in row.items()}


def all_figures(out_dir):
    attacks, embed = read_table(out_dir, "attacks"), read_table(out_dir, "embed")
    cost, training = read_table(out_dir, "cost"), read_table(out_dir, "training")
    acc = ("test_accuracy", "test accuracy", True)
    ber = headline_ber(attacks + embed)
    pruned = ("accuracy_after_pruning", "test accuracy before fine-tuning", True)
    lambdas = [r for r in (with_lambda_axis(r) for r in cost) if r.get("watermark.lambda", "") != ""]
    figures = [
        axis_figure(attacks, lambda r: r.get("attack") in ("prune", "prune-layerwise"), "attack.rate", [acc, ber, pruned],
                    "pruning", "Magnitude pruning followed by masked fine-tuning on attacker data: test accuracy and "
                    "BER of the owner's signature after it, against the fraction of kernel weights pruned (rate 0 "
                    "is the fine-tuning alone, the baseline); right: the accuracy right after pruning, before "
                    "fine-tuning.",
                    "pruning rate (fraction of kernel weights)"),
        axis_figure(attacks, lambda r: r.get("attack") == "quantize", "attack.bits", [acc, ber], "quantization",
                    "Quantization: test accuracy and BER against the bits per weight, one curve per variant "
                    "(reference: each layer on one step, BatchNorm statistics included; weights: conv and dense "
                    "kernels only).",
                    "bits per weight"),
        score_rounding_figure(attacks),
        noise_figure(attacks),
        axis_figure(embed, lambda r: r.get("ber_white_box_mean", "") != "", "watermark.bits", [ber, acc], "capacity",
                    "Capacity: white-box BER and test accuracy of the watermarked models against the signature "
                    "length N, one curve per scheme.", "signature length N (bits)", logx=True, skip=()),
        axis_figure(lambdas, lambda r: True, "watermark.lambda",
                    [("accuracy_cost", "accuracy cost (watermarked - plain)", False)], "lambda-cost",
                    "Accuracy cost of the watermark: test accuracy of each watermarked model minus that of the plain "
                    "model of the same recipe and seed, against lambda.", "lambda",
                    logx=all(float(r["watermark.lambda"]) > 0 for r in lambdas), skip=()),
        training_figure(training),
    ]
    return [f for f in figures if f is not None]


def write_index(out_dir, drawn, store, over):
    pooled = ", ".join(over) if over else "nothing"
    lines = [f"# Report of `{store}`", "",
             f"Rows and points pool {pooled} (`signsweep report --over`). Every figure is drawn from the table "
             "named beside it, with its 95% intervals as error bars (each table's header names its methods; a point "
             "of one run has none).", "", "## Tables", ""]
    for table in ("embed", "attacks", "null", "training", "cost"):
        if os.path.exists(os.path.join(out_dir, f"{table}.md")):
            lines.append(f"- {table}: [{table}.md]({table}.md), [{table}.csv]({table}.csv)")
    lines += ["", "## Figures", ""]
    for fig, (w, h) in drawn:
        lines += [f"### {fig.name}", "", f"![{fig.name}]({fig.name}.png)", "",
                  f"{fig.caption} PNG {w}x{h} px ({DPI} dpi), [SVG]({fig.name}.svg), [PDF]({fig.name}.pdf), "
                  f"numbers: [{fig.name}.csv]({fig.name}.csv).", ""]
    if not drawn:
        lines.append("No figure: the tables hold no attack, capacity, cost or training series with two or more points.")
    with open(os.path.join(out_dir, "index.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--store", default="", help="the store the tables were made from (named in index.md)")
    parser.add_argument("--over", default="trainer.seed", help="axes pooled into each point, comma-separated")
    args = parser.parse_args()
    over = [a for a in args.over.split(",") if a]
    if not any(os.path.exists(os.path.join(args.out_dir, f"{t}.csv")) for t in ("embed", "attacks", "null")):
        print(f"plots.py: {args.out_dir}: no report tables here (signsweep report STORE --plots DIR writes them)",
              file=sys.stderr)
        sys.exit(2)
    drawn = [(fig, fig.plot(args.out_dir)) for fig in all_figures(args.out_dir)]
    write_index(args.out_dir, drawn, args.store or args.out_dir, over)
    for fig, (w, h) in drawn:
        print(f"figure {fig.name}: {fig.name}.png ({w}x{h}), {fig.name}.svg, {fig.name}.pdf, {fig.name}.csv")


if __name__ == "__main__":
    main()
