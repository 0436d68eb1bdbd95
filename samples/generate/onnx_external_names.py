#!/usr/bin/python3
"""Writes samples/onnx-external-names/: ONNX models whose external data file has a name the model
chose (`location`), not one of the names ONNX tools write by default, and whose raw tensor bytes
happen to open with a pickle opcode. Before, such a file was `format/unknown` (suspicious) although
the model beside it references it as tensor data; a real pickle under such a name must still be
read as a pickle.

Every model and data file is written by onnx itself (`onnx.save_model(...,
save_as_external_data=True, location=...)`) and loads with `onnx.load`; the tensor values are
chosen so that the first byte of the data file is a pickle opcode (little-endian float32):

- bin-opcode/: location "model.bin", first byte 0x80 (PROTO with no valid protocol after it).
- no-extension/: location "weights", first byte 0x63 ("c", GLOBAL).
- subdir/: location "params/weights.raw.bin" in a folder below the model, first byte 0x28 ("(", MARK).
- bin-real-pickle/: location "model.bin", then model.bin is overwritten by a protocol 2 pickle that
  calls os.system (padded to the tensor's length, so onnx.load still loads it): pickle.load or
  torch.load of model.bin runs it. It must stay malicious.
- no-extension-real-pickle/: location "weights", overwritten by a protocol 0 pickle calling os.system.
- pkl-real-pickle/: location "weights.pkl" (a name pickle.load reads), overwritten the same way.
- orphan/: a model with inline weights and a stray "orphan.bin" opening with 0x80 0x00 that no model
  references: still unknown content.

Nothing is executed: the pickles are written opcode by opcode. Run from the repository root with
/usr/bin/python3.
"""
import json
import os
import shutil
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join("samples", "onnx-external-names")
N = 64
COMMAND = b"echo modelgate-onnx-external-names"
expected = {}


def expect(rel, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"onnx-external-names/{rel}"] = entry


def weights(first_byte):
    """N float32 values whose little-endian bytes open with first_byte."""
    raw = bytearray(np.linspace(0.5, 1.5, N, dtype=np.float32).tobytes())
    raw[0] = first_byte
    return np.frombuffer(bytes(raw), dtype=np.float32).copy()


def model(w):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [N])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [N])
    graph = helper.make_graph([helper.make_node("Mul", ["X", "W"], ["Y"])], "scale", [x], [y],
                              [numpy_helper.from_array(w, "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="modelgate-samples")


def save(rel, location, first_byte):
    folder = os.path.join(OUT, rel)
    os.makedirs(os.path.join(folder, os.path.dirname(location)), exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    onnx.save_model(model(weights(first_byte)), path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    loaded = onnx.load(path)  # resolves and reads the external data
    assert loaded.graph.initializer[0].raw_data[0] == first_byte
    data = os.path.join(folder, location)
    with open(data, "rb") as f:
        assert f.read(1)[0] == first_byte
    return data


def system_pickle(protocol):
    """os.system(COMMAND) as pickle.dumps would write a __reduce__ to it (written, never loaded)."""
    if protocol == 0:
        return b"cos\nsystem\n(V" + COMMAND + b"\ntR."
    return (b"\x80\x02cposix\nsystem\nq\x00X" + struct.pack("<I", len(COMMAND)) + COMMAND
            + b"q\x01\x85q\x02Rq\x03.")


def overwrite_with_pickle(data, protocol):
    payload = system_pickle(protocol)
    size = os.path.getsize(data)
    assert len(payload) <= size
    with open(data, "wb") as f:
        f.write(payload + b"\x00" * (size - len(payload)))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    save("bin-opcode", "model.bin", 0x80)
    expect("bin-opcode", "clean", absent=["format/unknown", "pickle/malformed"])
    save("no-extension", "weights", 0x63)
    expect("no-extension", "clean", absent=["format/unknown"])
    save("subdir", "params/weights.raw.bin", 0x28)
    expect("subdir", "clean", absent=["format/unknown"])
    for rel, location, protocol in [("bin-real-pickle", "model.bin", 2), ("no-extension-real-pickle", "weights", 0),
                                    ("pkl-real-pickle", "weights.pkl", 2)]:
        data = save(rel, location, 0x80)
        overwrite_with_pickle(data, protocol)
        onnx.load(os.path.join(OUT, rel, "model.onnx"))  # still a loadable model
        expect(rel, "malicious", ["pickle/dangerous-global"])
    folder = os.path.join(OUT, "orphan")
    os.makedirs(folder)
    onnx.save_model(model(weights(0x3f)), os.path.join(folder, "model.onnx"))
    with open(os.path.join(folder, "orphan.bin"), "wb") as f:
        f.write(b"\x80\x00" + weights(0x80).tobytes()[2:])
    expect("orphan", "suspicious", ["format/unknown"])
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
