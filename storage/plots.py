"""The paper's figures from a signsweep results store, read through h5py the way users read it.

    plots.py STORE DIR [--over trainer.seed]

`signsweep report STORE --plots DIR` runs this after writing the tables (DIR/<table>.md and .csv). Each
figure is drawn only where the store holds its data, as DIR/<name>.png (150 dpi) and .svg, with the
numbers it plots in DIR/<name>.csv; DIR/index.md lists tables and figures. Rows pool the axes named by
--over exactly as `signsweep report` does (storage/report.h): mean, sample standard deviation (n-1) and
the half-width of the 95% confidence interval (Student's t); error bars are that interval. Column names
are the report's, so a figure's CSV can be checked against `report --format csv` cell by cell.

Figures (name: what it shows):
  pruning        test accuracy and white-box BER after pruning + fine-tuning vs pruning rate
  quantization   test accuracy and white-box BER after weight quantization vs bits
  score-rounding remote BER vs finite-difference step h, one curve per number of decimals
  noise          test accuracy and remote BER vs input-noise sigma
  capacity       BER and test accuracy vs signature length N, one curve per scheme
  lambda-cost    test accuracy of watermarked minus plain models vs lambda
Exit status: 0, 2 for a store it cannot read (the message names it), 1 otherwise.
"""
import argparse
import csv
import json
import math
import os
import re
import sys
from collections import OrderedDict

try:
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    from scipy import stats
except ImportError as e:  # pragma: no cover - a missing Debian package
    print(f"plots.py: {e}: install python3-h5py python3-matplotlib python3-scipy (scripts/setup.sh does)", file=sys.stderr)
    sys.exit(2)

DPI = 150
ONE_PANEL = (3.5, 2.6)   # inches: one column of a two-column paper
TWO_PANELS = (7.0, 2.6)  # the full text width
API_KINDS = ("noise", "score-rounding", "score-perturbation")
plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
                     "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2, "lines.markersize": 3.5,
                     "savefig.dpi": DPI, "svg.hashsalt": "signsweep"})


# ---- reading the store ----------------------------------------------------------------------------------

class Trial:
    def __init__(self, planned, results, format_version):
        self.id = planned["id"]
        self.kind = planned["kind"]
        self.parent = planned["parent"]
        self.axes = planned["axes"]
        self.results = results
        self.series = {}
        attack = self.parent != "" and self.kind != "null-check"
        remote_after = any(re.fullmatch(r"ber_remote_h[^_]+", k) for k in results)
        if format_version == 1 and attack and remote_after:  # format 1 copied the white-box figures (report.cc)
            for k in ("ber_white_box", "p_value", "owned"):
                results.pop(k, None)

    def curve(self, name):
        """A per-epoch series of a training trial (empty when it has none)."""
        return self.series.get(name, [])

    def remote(self, suffix=""):
        """{h: BER through the prediction API} (suffix "_before": before an attack)."""
        out = {}
        for k, v in self.results.items():
            m = re.fullmatch(r"ber_remote_h(.+?)" + re.escape(suffix), k)
            if m and (suffix or not k.endswith("_before")):
                out[float(m.group(1))] = v
        return out


def read_series(trial):
    """{name: per-epoch values}: one table with a field per series, or (the first layout) a dataset each."""
    if "series" not in trial:
        return {}
    table = trial["series"]
    if isinstance(table, h5py.Dataset):
        return {name: [float(v) for v in table[name]] for name in (table.dtype.names or ())}
    return {name: [float(v) for v in table[name][()]] for name in table}


def read_store(store):
    path = os.path.join(store, "sweep.h5")
    if not os.path.exists(path):
        print(f"plots.py: {store}: no results store here (sweep.h5 missing)", file=sys.stderr)
        sys.exit(2)
    trials = []
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "signsweep-sweep":
            print(f"plots.py: {path}: not a signsweep results store", file=sys.stderr)
            sys.exit(2)
        version = int(f.attrs["format_version"])
        for planned in json.loads(f["plan"][()]):
            if planned["id"] not in f["trials"]:
                continue
            try:
                trial = f["trials"][planned["id"]]  # external link into trials/<id>.h5 (dangling while pending)
            except KeyError:
                continue
            if trial.attrs["state"] != "done":
                continue
            results = {k: float(v) for k, v in trial["results"].attrs.items()}
            trials.append(Trial(planned, results, version))
            if planned["kind"] in ("embed", "null-model"):
                trials[-1].series = read_series(trial)
    return trials


# ---- statistics (the report's, storage/statistics.h) ----------------------------------------------------

def summarize(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    n = len(values)
    if n == 0:
        return None
    mean = sum(values) / n
    if n < 2:
        return {"n": n, "mean": mean, "std": math.nan, "ci95": math.nan}
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    if std <= 1e-12 * abs(mean):  # equal runs: rounding noise in the mean is not a spread (statistics.cc)
        std = 0.0
    return {"n": n, "mean": mean, "std": std, "ci95": stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)}


def number_key(text):
    """Axis values sort as numbers when they are numbers (16 < 128), as the report's rows do."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def group(trials, over):
    """OrderedDict: tuple of axis values -> trials, and the axis names (every axis but the pooled ones)."""
    axes = sorted({a for t in trials for a in t.axes if a not in over})
    rows = {}
    for t in trials:
        rows.setdefault(tuple(t.axes.get(a, "") for a in axes), []).append(t)
    ordered = OrderedDict(sorted(rows.items(), key=lambda kv: [number_key(v) for v in kv[0]]))
    return axes, ordered


# ---- figures --------------------------------------------------------------------------------------------

def short_value(value):
    """A mapping-valued axis (a whole watermark section) is named by its scheme."""
    m = re.search(r"scheme: *([\w-]+)", value)
    return m.group(1) if value.startswith("{") and m else value


AXIS_NAMES = {"watermark.bits": "N", "watermark.carriers": "C", "watermark.lambda": "lambda", "attack.bits": "bits",
              "attack.decimals": "decimals", "watermark": "scheme"}


def curve_label(axes, key, skip):
    parts = [f"{AXIS_NAMES.get(a, a.split('.')[-1])}={short_value(v)}" for a, v in zip(axes, key) if a not in skip and v != ""]
    return ", ".join(parts) if parts else "all"


class Figure:
    """One figure: panels of curves over x, error bars = 95% CI; the CSV holds every plotted cell."""

    def __init__(self, name, caption, panels, xlabel, logx=False):
        self.name, self.caption, self.panels, self.xlabel, self.logx = name, caption, panels, xlabel, logx
        self.rows = []  # dicts in the report's column names

    def plot(self, out_dir):
        size = TWO_PANELS if len(self.panels) == 2 else ONE_PANEL
        fig, axs = plt.subplots(1, len(self.panels), figsize=size, constrained_layout=True, squeeze=False)
        for ax, (metric, ylabel, curves) in zip(axs[0], self.panels):
            xs_all, lows, highs = set(), [], []
            measured = sorted({p[0] for points in curves.values() for p in points})
            for i, (label, points) in enumerate(curves.items()):
                points = sorted(points)
                xs = [dodge(p[0], i, len(curves), measured, self.logx) for p in points]
                xs_all.update(p[0] for p in points)
                ys = [p[1]["mean"] for p in points]
                err = [0.0 if math.isnan(p[1]["ci95"]) else p[1]["ci95"] for p in points]
                ax.errorbar(xs, ys, yerr=err, marker="o", capsize=2, label=label)
                lows += [y - e for y, e in zip(ys, err)]
                highs += [y + e for y, e in zip(ys, err)]
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel(ylabel)
            if self.logx:
                ax.set_xscale("log")
            if len(xs_all) <= 12:  # ticks at the measured points
                ax.set_xticks(sorted(xs_all))
                ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            if not metric.startswith("accuracy_cost"):  # ratios: the axis stays within [0, 1] (a t interval of
                low, high = max(min(lows), 0.0), min(max(highs), 1.0)  # a few runs may reach beyond; it is clipped)
                pad = max(0.02, 0.05 * (high - low))
                bottom, top = max(low - pad, 0.0), min(high + pad, 1.0)
                margin = 0.03 * (top - bottom)  # markers on the limits stay whole
                ax.set_ylim(bottom - margin, top + margin)
            ax.grid(True, alpha=0.3)
            if len(curves) > 1:
                ax.legend(frameon=False)
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out_dir, f"{self.name}.{ext}"), metadata={"Date": None} if ext == "svg" else None)
        plt.close(fig)
        with open(os.path.join(out_dir, f"{self.name}.csv"), "w", newline="") as f:
            columns = list(OrderedDict.fromkeys(k for r in self.rows for k in r))
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
        width, height = (int(round(s * DPI)) for s in size)
        return width, height


def dodge(x, curve, curves, measured, logx):
    """Curve i of k drawn a little beside the measured x, so that overlapping error bars stay apart."""
    if curves < 2 or len(measured) < 2:
        return x
    shift = (curve - (curves - 1) / 2) * 0.012
    if logx:
        return x * (measured[-1] / measured[0]) ** shift
    return x + shift * (measured[-1] - measured[0])


def cell_columns(metric, s):
    return {f"{metric}_mean": s["mean"], f"{metric}_std": s["std"], f"{metric}_ci95": s["ci95"]}


def axis_figure(trials, over, kind_filter, x_axis, metrics, name, caption, xlabel, logx=False):
    """A figure over one axis (x_axis) of the trials kind_filter selects; one curve per other axis values.
    metrics: [(stored name, y label, value function)]."""
    chosen = [t for t in trials if kind_filter(t) and x_axis in t.axes]
    if len({t.axes[x_axis] for t in chosen}) < 2:
        return None
    axes, rows = group(chosen, over)
    fig = Figure(name, caption, [], xlabel, logx)
    panels = OrderedDict((m, OrderedDict()) for m, _, _ in metrics)
    for key, members in rows.items():
        x = float(key[axes.index(x_axis)])
        row = dict(zip(axes, key))
        row["n"] = len(members)
        label = curve_label(axes, key, {x_axis, "attack"})
        for metric, _, value in metrics:
            s = summarize([value(t) for t in members])
            if s is None:
                continue
            row.update(cell_columns(metric, s))
            panels[metric].setdefault(label, []).append((x, s))
        fig.rows.append(row)
    fig.panels = [(m, ylabel, panels[m]) for m, ylabel, _ in metrics if panels[m]]
    return fig if fig.panels else None


def score_rounding_figure(trials, over):
    chosen = [t for t in trials if t.kind == "score-rounding" and t.remote()]
    steps = sorted({h for t in chosen for h in t.remote()})
    if not chosen or len(steps) < 2:
        return None
    axes, rows = group(chosen, over)
    fig = Figure("score-rounding", "Remote BER through an API that rounds its probabilities, against the finite-"
                 "difference step h, one curve per number of decimals.", [], "finite-difference step h", logx=True)
    curves = OrderedDict()
    for key, members in rows.items():
        row = dict(zip(axes, key))
        row["n"] = len(members)
        label = curve_label(axes, key, {"attack"})
        for h in steps:
            s = summarize([t.remote().get(h) for t in members])
            if s is None:
                continue
            row.update(cell_columns(f"ber_remote_h{h:g}", s))
            curves.setdefault(label, []).append((h, s))
        fig.rows.append(row)
    fig.panels = [("ber_remote", "remote BER", curves)]
    return fig


def noise_figure(trials, over):
    chosen = [t for t in trials if t.kind == "noise" and "attack.sigma" in t.axes]
    if len({t.axes["attack.sigma"] for t in chosen}) < 2:
        return None
    steps = sorted({h for t in chosen for h in t.remote()})
    axes, rows = group(chosen, over)
    fig = Figure("noise", "Input noise: one Gaussian pattern (sigma in [0, 1] pixel space) added to every query; test "
                 "accuracy and remote BER through the noisy API.", [], "noise sigma (pixel scale)")
    accuracy, ber = OrderedDict(), OrderedDict()
    for key, members in rows.items():
        x = float(key[axes.index("attack.sigma")])
        row = dict(zip(axes, key))
        row["n"] = len(members)
        label = curve_label(axes, key, {"attack.sigma", "attack"})
        s = summarize([t.results.get("test_accuracy") for t in members])
        if s is not None:
            row.update(cell_columns("test_accuracy", s))
            accuracy.setdefault(label, []).append((x, s))
        for h in steps:
            s = summarize([t.remote().get(h) for t in members])
            if s is not None:
                row.update(cell_columns(f"ber_remote_h{h:g}", s))
                ber.setdefault(f"h={h:g}" if label == "all" else f"{label}, h={h:g}", []).append((x, s))
        fig.rows.append(row)
    ber_label = f"remote BER (h={steps[0]:g})" if len(steps) == 1 else "remote BER"
    if len(steps) == 1:  # one step: the curves are named by the other axes alone
        ber = OrderedDict((k.rsplit(", h=", 1)[0] if ", h=" in k else "all", v) for k, v in ber.items())
    fig.panels = [(m, y, c) for m, y, c in (("test_accuracy", "test accuracy (through the API)", accuracy),
                                            ("ber_remote", ber_label, ber)) if c]
    return fig


def is_plain(t):
    return "bits" not in t.results and "ber_white_box" not in t.results


def lambda_cost_figure(trials, over):
    """Test accuracy of watermarked minus plain models vs lambda; plain models: grid points without a
    watermark and null models, matched on the axes they share with the watermarked models."""
    marked = [t for t in trials if t.kind == "embed" and not is_plain(t) and "watermark.lambda" in t.axes]
    plain = [t for t in trials if t.kind in ("embed", "null-model") and is_plain(t)]
    if not plain or len({t.axes["watermark.lambda"] for t in marked}) < 2:
        return None
    axes, rows = group(marked, over)
    fig = Figure("lambda-cost", "Accuracy cost of the watermark: test accuracy of watermarked models minus the "
                 "mean of the plain models of the same recipe, against lambda (error bars: 95% CI of the "
                 "watermarked models' mean).", [], "lambda")
    curves = OrderedDict()
    shared = [a for a in axes if not a.startswith("watermark")]
    for key, members in rows.items():
        row = dict(zip(axes, key))
        want = {a: row[a] for a in shared}
        baseline = summarize([t.results.get("test_accuracy") for t in plain
                              if all(t.axes.get(a, v) == v for a, v in want.items())])
        wm = summarize([t.results.get("test_accuracy") for t in members])
        if baseline is None or wm is None:
            continue
        row["n"] = len(members)
        row.update(cell_columns("test_accuracy", wm))
        row.update({"plain_n": baseline["n"], "plain_test_accuracy_mean": baseline["mean"],
                    "accuracy_cost": wm["mean"] - baseline["mean"]})
        cost = dict(wm, mean=wm["mean"] - baseline["mean"])
        curves.setdefault(curve_label(axes, key, {"watermark.lambda"}), []).append(
            (float(row["watermark.lambda"]), cost))
        fig.rows.append(row)
    fig.panels = [("accuracy_cost", "accuracy cost (watermarked - plain)", curves)]
    fig.logx = all(x > 0 for points in curves.values() for x, _ in points)
    return fig if curves else None


def training_figure(trials, over):
    """Test accuracy (and the signature's bit accuracy) at each epoch end, one curve per recipe: the accuracy
    cost of a watermark is the gap to the plain models' curve. Drawn for at most 6 curves of 2+ epochs."""
    chosen = [t for t in trials if t.kind in ("embed", "null-model") and len(t.curve("test_accuracy")) >= 2]
    axes, rows = group(chosen, over)
    if not chosen or len(rows) > 6:
        return None
    fig = Figure("training", "Training: test accuracy and the white-box bit accuracy of the signature (watermarked "
                 "models) at each epoch end, one curve per recipe; error bars: 95% CI over the pooled runs.", [], "epoch")
    panels = OrderedDict((("test_accuracy", OrderedDict()), ("bit_accuracy", OrderedDict())))
    for key, members in rows.items():
        label = curve_label(axes, key, set())
        if all(t.kind == "null-model" for t in members):  # the null-model stage's plain models
            label = "plain (null models)" if label == "all" else f"{label}, plain (null models)"
        for epoch in range(max(len(t.curve("test_accuracy")) for t in members)):
            row = dict(zip(axes, key))
            row.update({"epoch": epoch + 1, "n": len(members)})
            for metric, plain_too in (("test_accuracy", True), ("bit_accuracy", False)):
                values = [t.curve(metric)[epoch] for t in members
                          if epoch < len(t.curve(metric)) and (plain_too or not is_plain(t))]
                stat = summarize(values)
                if stat is not None:
                    row.update(cell_columns(metric, stat))
                    panels[metric].setdefault(label, []).append((epoch + 1, stat))
            fig.rows.append(row)
    fig.panels = [(m, ylabel, panels[m]) for m, ylabel in (("test_accuracy", "test accuracy"),
                                                           ("bit_accuracy", "bit accuracy (white-box)")) if panels[m]]
    return fig if fig.panels else None


def all_figures(trials, over):
    ber = ("ber_white_box", "white-box BER", lambda t: t.results.get("ber_white_box"))
    acc = ("test_accuracy", "test accuracy", lambda t: t.results.get("test_accuracy"))
    figures = [
        axis_figure(trials, over, lambda t: t.kind in ("prune", "prune-layerwise"), "attack.rate", [acc, ber], "pruning",
                    "Magnitude pruning followed by masked fine-tuning on attacker data: test accuracy and white-box "
                    "BER of the owner's signature against the fraction of kernel weights pruned.",
                    "pruning rate (fraction of kernel weights)"),
        axis_figure(trials, over, lambda t: t.kind == "quantize", "attack.bits", [acc, ber], "quantization",
                    "Weight quantization (every array, BatchNorm statistics included): test accuracy and white-box "
                    "BER against the bits per weight.", "bits per weight"),
        score_rounding_figure(trials, over),
        noise_figure(trials, over),
        axis_figure(trials, over, lambda t: t.kind == "embed" and not is_plain(t), "watermark.bits", [ber, acc],
                    "capacity", "Capacity: white-box BER and test accuracy of the watermarked models against the "
                    "signature length N, one curve per scheme.", "signature length N (bits)", logx=True),
        lambda_cost_figure(trials, over),
        training_figure(trials, over),
    ]
    return [f for f in figures if f is not None]


def write_index(out_dir, drawn, store, over):
    pooled = ", ".join(over) if over else "nothing"
    lines = [f"# Report of `{store}`", "",
             f"Rows and points pool {pooled} (`signsweep report --over`): mean ± 95% confidence interval (Student's t, "
             "n-1 degrees of freedom); the error bars in the figures are that interval.", "", "## Tables", ""]
    for table in ("embed", "attacks", "null"):
        if os.path.exists(os.path.join(out_dir, f"{table}.md")):
            lines.append(f"- {table}: [{table}.md]({table}.md), [{table}.csv]({table}.csv)")
    lines += ["", "## Figures", ""]
    for fig, (w, h) in drawn:
        lines += [f"### {fig.name}", "", f"![{fig.name}]({fig.name}.png)", "",
                  f"{fig.caption} PNG {w}x{h} px ({DPI} dpi), [SVG]({fig.name}.svg), numbers: [{fig.name}.csv]({fig.name}.csv).", ""]
    if not drawn:
        lines.append("No figure: the store holds no attack or capacity series with two or more points.")
    with open(os.path.join(out_dir, "index.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("out_dir")
    parser.add_argument("--over", default="trainer.seed", help="axes pooled into each point, comma-separated")
    args = parser.parse_args()
    over = [a for a in args.over.split(",") if a]
    os.makedirs(args.out_dir, exist_ok=True)
    trials = read_store(args.store)
    drawn = [(fig, fig.plot(args.out_dir)) for fig in all_figures(trials, over)]
    write_index(args.out_dir, drawn, args.store, over)
    for fig, (w, h) in drawn:
        print(f"figure {fig.name}: {fig.name}.png ({w}x{h}), {fig.name}.svg, {fig.name}.csv")


if __name__ == "__main__":
    main()
