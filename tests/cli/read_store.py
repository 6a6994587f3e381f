"""Reads a signsweep results store the way a user does with h5py: through the index's external links,
the per-epoch series table as a structured array, scalars as attributes. Prints one line per check;
exits 1 on the first mismatch. Usage: read_store.py <store dir>"""
import json
import sys

import h5py

store = sys.argv[1]
with h5py.File(f"{store}/sweep.h5", "r") as f:
    assert f.attrs["format"] == "signsweep-sweep", f.attrs["format"]
    plan = json.loads(f["plan"][()])
    embeds = [t for t in plan if t["kind"] == "embed"]
    attacks = [t for t in plan if t["kind"] != "embed"]
    for t in embeds:
        trial = f["trials"][t["id"]]  # external link into trials/<id>.h5
        assert trial.attrs["state"] == "done", (t["id"], trial.attrs["state"])
        series = trial["series"]
        assert series.dtype.names and "loss" in series.dtype.names, series.dtype
        assert series.chunks == (256,) and series.compression == "gzip" and series.maxshape == (None,)
        loss = series["loss"]
        assert len(loss) >= 1 and all(x == x for x in loss), loss  # one finite loss per epoch
        assert 0.0 <= trial["results"].attrs["test_accuracy"] <= 1.0
        assert trial["config"].asstr()[()].startswith(("dataset", "watermark", "trainer", "model"))
        assert trial["checkpoint"].attrs["format"] == "signsweep-checkpoint"  # external link to the model
    for t in attacks:
        trial = f["trials"][t["id"]]
        assert trial["parent"].attrs["id"] == t["parent"]  # attack -> parent trial link
    print(f"h5py read {len(embeds)} embed trials ({len(loss)} epochs each) and {len(attacks)} attacks")
