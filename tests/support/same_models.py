"""Exits 0 when two signsweep checkpoints hold bit-identical models (every dataset under /model: parameters
and buffers), 1 naming the first that differs. Usage: same_models.py A.h5 B.h5"""
import sys

import h5py

with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    names = []
    a["model"].visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    for name in names:
        x, y = a["model"][name][()], b["model"][name][()]
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            print(f"differ: /model/{name}")
            sys.exit(1)
    print(f"bit-identical: {len(names)} tensors")
