#!/usr/bin/python3
"""Where a C++ training step's time goes: sums a LibTorch op trace written by
`bench_train_step --profile PREFIX` (chrome trace format) into self time per op, over all steps profiled.

  /usr/bin/python3 bench/profile_trace.py TRACE.json [--rows 15]

Self time = an op's duration less the ops nested in it on the same thread; shares are of the sum of top-level
ops' time. Also prints the share of convolution kernels and of BatchNorm (LibTorch's and the fused one).
"""
import collections
import json
import sys


def self_times(events):
    per_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            per_thread[e.get("tid")].append(e)
    totals, top = collections.Counter(), 0.0
    for evs in per_thread.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, event, child time]
        for e in evs:
            start, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][0] <= start:
                end, ev, child = stack.pop()
                totals[ev["name"]] += float(ev["dur"]) - child
            if stack:
                stack[-1][2] += dur
            else:
                top += dur
            stack.append([start + dur, e, 0.0])
        for end, ev, child in stack:
            totals[ev["name"]] += float(ev["dur"]) - child
    return totals, top


def main():
    path = sys.argv[1]
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 15
    data = json.load(open(path))
    events = data["traceEvents"] if isinstance(data, dict) else data
    totals, top = self_times(events)
    print(f"{path}: {top / 1e3:.1f} ms in top-level ops")
    for name, t in totals.most_common(rows):
        print(f"  {100 * t / top:5.1f}%  {t / 1e3:9.1f} ms  {name}")
    def share(pred):
        return 100 * sum(t for n, t in totals.items() if pred(n.lower())) / top
    print(f"  convolution kernels: {share(lambda n: 'conv' in n):.1f}%;"
          f" BatchNorm (LibTorch's and fused): {share(lambda n: 'batch_norm' in n or 'batchnorm' in n):.1f}%")


if __name__ == "__main__":
    main()
