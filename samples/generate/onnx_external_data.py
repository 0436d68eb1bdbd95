#!/usr/bin/python3
"""ONNX external data files: the tensor files a model references through `external_data`.

Run with /usr/bin/python3 (Debian's python3-onnx) after formats_b.py (it writes
samples/onnx/clean/mlp_torch.onnx, a real torch.onnx export this reuses, and expected.json,
which this merges its entries into).

Every model and data file is written by onnx itself (`onnx.save_model(...,
save_as_external_data=True)`); the hostile ones then have one reference edited on the loaded
proto (`onnx.load(..., load_external_data=False)`, the `external_data` entries rewritten) and
the model saved again without touching its data file:

- per_tensor/: `all_tensors_to_one_file=False`, one file per tensor named after it (`a.weight`).
- uuid_name/: one file named like onnx's default (`str(uuid.uuid1())`); a fixed UUID is passed
  as `location` so that the output is reproducible.
- subdir/: `location="weights/model.bin"`, the data in a folder below the model.
- past_end/: one tensor's `length` made to run past the end of `model.onnx.data`.
- traversal/: one tensor's `location` made `../../etc/passwd` (CVE-2022-25882 style).
- unreferenced/: a model with its weights inline and a stray `stray.data` nobody references.

Outputs: samples/onnx/external/.
"""

import json
import os
import shutil
import sys

import numpy as np
import onnx

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
AREA = os.path.join(ROOT, "onnx")
BASE = os.path.join(AREA, "clean", "mlp_torch.onnx")
EXPECTED = {}


def expect(rel, verdict, rules=(), absent=(), evidence=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    EXPECTED[f"onnx/{rel}"] = entry


def fresh(rel):
    path = os.path.join(AREA, rel)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save_external(rel, **kwargs):
    path = fresh(rel)
    location = kwargs.get("location")
    if location and "/" in location:  # onnx writes into the folder but does not create it
        os.makedirs(os.path.join(path, os.path.dirname(location)))
    model = onnx.load(BASE)
    onnx.save_model(model, os.path.join(path, "model.onnx"), save_as_external_data=True, size_threshold=0, **kwargs)
    return path


def edit_reference(path, tensor, **changes):
    """Rewrites one tensor's external_data entries and saves the model alone (its data file untouched)."""
    model_path = os.path.join(path, "model.onnx")
    model = onnx.load(model_path, load_external_data=False)
    for t in model.graph.initializer:
        if t.name != tensor:
            continue
        entries = {e.key: e.value for e in t.external_data}
        entries.update({k: str(v) for k, v in changes.items()})
        del t.external_data[:]
        for key, value in entries.items():
            e = t.external_data.add()
            e.key, e.value = key, value
    with open(model_path, "wb") as f:
        f.write(model.SerializeToString())


CLEAN_ABSENT = ["format/unknown", "onnx/external-data-missing", "onnx/external-data-traversal",
                "onnx/external-data-out-of-bounds"]


def main():
    # formats_b.py's onnx-written directory: its data file is now tensor data, not unknown content.
    expect("clean/external_data", "clean", absent=CLEAN_ABSENT)

    save_external("external/per_tensor", all_tensors_to_one_file=False)
    expect("external/per_tensor", "clean", absent=CLEAN_ABSENT)

    save_external("external/uuid_name", all_tensors_to_one_file=True, location="6f1c9a2e-1d2b-11ef-8a3c-0242ac120002")
    expect("external/uuid_name", "clean", absent=CLEAN_ABSENT)

    save_external("external/subdir", all_tensors_to_one_file=True, location="weights/model.bin")
    expect("external/subdir", "clean", absent=CLEAN_ABSENT)

    path = save_external("external/past_end", all_tensors_to_one_file=True, location="model.onnx.data")
    size = os.path.getsize(os.path.join(path, "model.onnx.data"))
    model = onnx.load(os.path.join(path, "model.onnx"), load_external_data=False)
    last = {e.key: e.value for e in model.graph.initializer[-1].external_data}
    edit_reference(path, model.graph.initializer[-1].name, length=size - int(last["offset"]) + 64)
    expect("external/past_end", "suspicious", rules=["onnx/external-data-out-of-bounds"], absent=["format/unknown"])

    path = save_external("external/traversal", all_tensors_to_one_file=True, location="model.onnx.data")
    edit_reference(path, "a.bias", location="../../etc/passwd", offset=0, length=32)
    expect("external/traversal", "malicious", rules=["onnx/external-data-traversal"],
           evidence={"location": "../../etc/passwd"})

    path = fresh("external/unreferenced")
    shutil.copy(BASE, os.path.join(path, "model.onnx"))
    np.linspace(-1, 1, 64, dtype=np.float32).tofile(os.path.join(path, "stray.data"))
    expect("external/unreferenced", "suspicious", rules=["format/unknown"])

    expected = os.path.join(AREA, "expected.json")
    with open(expected) as f:
        merged = json.load(f)
    merged.update(EXPECTED)
    with open(expected, "w") as f:
        json.dump(merged, f, indent=2, sort_keys=True)
        f.write("\n")
    print("onnx external data", len(EXPECTED), "samples", file=sys.stderr)


if __name__ == "__main__":
    main()
