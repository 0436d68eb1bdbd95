#!/usr/bin/python3
"""Samples for the TorchServe (.mar), skops (.skops) and PaddlePaddle (.pdmodel) analyzers.

Run with /usr/bin/python3 (Debian's python3-torch, python3-numpy, python3-sklearn).

- TorchServe: torch-model-archiver is not packaged in Debian. Archives are written with zipfile in
  the layout its documentation describes (the serialized model, the handler and extra files at
  the root, `MAR-INF/MANIFEST.json` with `runtime`, `model.{modelName, serializedFile, handler,
  modelVersion}` and `archiverVersion`); the serialized model is a real `torch.jit.save`d module.
- skops: not packaged in Debian. Archives are written with zipfile exactly as skops' format
  documentation describes: a `schema.json` tree of nodes (`__class__`, `__module__`, `__loader__`,
  `__id__`, `content`, `file`, `protocol` 2, `_skops_version`) and one `<id>.npy` member per
  array, saved with `np.save(allow_pickle=False)`. The benign sample is the state of a real fitted
  sklearn LogisticRegression.
- Paddle: not packaged in Debian. Programs are ProgramDesc protobufs written by the small protobuf
  writer below from the field numbers of Paddle's framework.proto.

Hostile payloads are harmless (echo, id). Outputs: samples/torchserve/, samples/skops/,
samples/paddle/, each with expected.json.
"""

import io
import json
import os
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXPECTED = {}
# Fixed timestamps keep the archives byte-identical between runs.
DATE = (2024, 1, 1, 0, 0, 0)


def out(area, rel):
    path = os.path.join(ROOT, area, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def expect(area, rel, verdict, rules=(), absent=(), evidence=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    EXPECTED.setdefault(area, {})[f"{area}/{rel}"] = entry


def write_zip(path, members, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


# --- TorchServe ------------------------------------------------------------------------------


def torchscript_model():
    import torch

    torch.manual_seed(0)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            return torch.softmax(self.fc(x), dim=-1)

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Tiny().eval()), buf)
    return buf.getvalue()


def manifest(handler, serialized="model.pt", extra=None):
    model = {"modelName": "tiny", "serializedFile": serialized, "handler": handler, "modelVersion": "1.0"}
    model.update(extra or {})
    return json.dumps(
        {"createdOn": "01/01/2024 00:00:00", "runtime": "python", "model": model, "archiverVersion": "0.9.0"},
        indent=2,
    ).encode()


HANDLER = b'''"""Custom TorchServe handler (sample: runs a harmless command when the model loads)."""
import os

from ts.torch_handler.base_handler import BaseHandler


class TinyHandler(BaseHandler):
    def initialize(self, context):
        os.system("echo modelgate-sample; id")
        super().initialize(context)
'''


def torchserve():
    area = "torchserve"
    model = torchscript_model()
    labels = json.dumps({"0": "cat", "1": "dog"}).encode()

    write_zip(
        out(area, "benign/tiny_classifier.mar"),
        [("model.pt", model), ("index_to_name.json", labels), ("MAR-INF/MANIFEST.json", manifest("image_classifier"))],
    )
    expect(area, "benign/tiny_classifier.mar", "clean", rules=["torchserve/builtin-handler"])

    write_zip(
        out(area, "malicious/custom_handler.mar"),
        [("model.pt", model), ("handler.py", HANDLER), ("MAR-INF/MANIFEST.json", manifest("handler.py"))],
    )
    expect(
        area,
        "malicious/custom_handler.mar",
        "malicious",
        rules=["torchserve/custom-handler", "repo/risky-code"],
        evidence={"handler": "handler.py"},
    )

    # A member named like a built-in handler wins over it: TorchServe imports the archive's first.
    write_zip(
        out(area, "malicious/shadowed_builtin.mar"),
        [
            ("model.pt", model),
            ("image_classifier.py", HANDLER),
            ("MAR-INF/MANIFEST.json", manifest("image_classifier")),
        ],
    )
    expect(area, "malicious/shadowed_builtin.mar", "malicious", rules=["torchserve/custom-handler"])

    write_zip(
        out(area, "suspicious/requirements.mar"),
        [
            ("model.pt", model),
            ("requirements.txt", b"numpy\nsome-unvetted-package==1.0\n"),
            ("MAR-INF/MANIFEST.json", manifest("image_classifier", extra={"requirementsFile": "requirements.txt"})),
        ],
    )
    expect(area, "suspicious/requirements.mar", "suspicious", rules=["torchserve/requirements"])

    write_zip(
        out(area, "suspicious/environment_handler.mar"),
        [("model.pt", model), ("MAR-INF/MANIFEST.json", manifest("some_installed_module:handle"))],
    )
    expect(area, "suspicious/environment_handler.mar", "suspicious", rules=["torchserve/unknown-handler"])

    write_zip(out(area, "invalid/no_manifest.mar"), [("model.pt", model), ("index_to_name.json", labels)])
    expect(area, "invalid/no_manifest.mar", "invalid", rules=["torchserve/malformed"])

    write_zip(
        out(area, "invalid/bad_manifest.mar"),
        [("model.pt", model), ("MAR-INF/MANIFEST.json", b'{"model": {"handler": "image_classifier",}')],
    )
    expect(area, "invalid/bad_manifest.mar", "invalid", rules=["torchserve/malformed"])


# --- skops -----------------------------------------------------------------------------------


class SkopsWriter:
    """Builds a skops schema as skops.io.dump lays it out (protocol 2)."""

    def __init__(self):
        self.files = []
        self.next_id = 0

    def _id(self):
        self.next_id += 1
        return self.next_id

    def node(self, module, cls, loader, **rest):
        state = {"__class__": cls, "__module__": module, "__loader__": loader}
        state.update(rest)
        state["__id__"] = self._id()
        return state

    def json(self, value):
        return self.node("builtins", "str", "JsonNode", content=json.dumps(value), is_json=True)

    def type_(self, t):
        return self.node(t.__module__, t.__name__, "TypeNode")

    def array(self, arr):
        node = self.node("numpy", "ndarray", "NdArrayNode")
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        name = f"{node['__id__']}.npy"
        self.files.append((name, buf.getvalue()))
        node.update(type="numpy", file=name)
        return node

    def state(self, value):
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, dict):
            return self.dict(value)
        if isinstance(value, np.generic):
            return self.json(value.item())
        return self.json(value)

    def dict(self, d):
        content = {k: self.state(v) for k, v in d.items()}
        key_types = self.node(
            "builtins", "list", "ListNode", content=[self.type_(type(k)) for k in d]
        )
        return self.node("builtins", "dict", "DictNode", content=content, key_types=key_types)

    def obj(self, o):
        t = type(o)
        return self.node(t.__module__, t.__name__, "ObjectNode", content=self.dict(o.__getstate__()))

    def dump(self, path, root, extra_files=()):
        root = dict(root)
        root["protocol"] = 2
        root["_skops_version"] = "0.10.0"
        members = [("schema.json", json.dumps(root, indent=2).encode())] + self.files + list(extra_files)
        write_zip(path, members)


def fitted_logreg():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return LogisticRegression().fit(x, y)


def skops():
    area = "skops"
    est = fitted_logreg()

    w = SkopsWriter()
    w.dump(out(area, "benign/logistic_regression.skops"), w.obj(est))
    expect(area, "benign/logistic_regression.skops", "clean", absent=["skops/untrusted-type"])

    # A FunctionNode for os.system stored as an estimator attribute (a "callback"): skops imports
    # it and hands the function to the model, which calls it.
    w = SkopsWriter()
    root = w.obj(est)
    root["content"]["content"]["callback"] = w.node("os", "system", "FunctionNode")
    root["content"]["key_types"]["content"].append(w.type_(str))
    w.dump(out(area, "malicious/function_os_system.skops"), root)
    expect(
        area,
        "malicious/function_os_system.skops",
        "malicious",
        rules=["skops/dangerous-type"],
        evidence={"callee": "os.system"},
    )

    # DictNode calls each key type on its key: a TypeNode for builtins.eval evaluates the key.
    w = SkopsWriter()
    payload = {"__import__('os').system('echo modelgate-sample')": 1}
    d = w.dict(payload)
    d["key_types"]["content"] = [w.node("builtins", "eval", "TypeNode")]
    root = w.obj(est)
    root["content"]["content"]["extra"] = d
    root["content"]["key_types"]["content"].append(w.type_(str))
    w.dump(out(area, "malicious/builtins_eval_key_type.skops"), root)
    expect(
        area,
        "malicious/builtins_eval_key_type.skops",
        "malicious",
        rules=["skops/dangerous-type"],
        evidence={"callee": "builtins.eval"},
    )

    # A class outside skops' trusted set.
    w = SkopsWriter()
    root = w.node("mypackage.models", "CustomEstimator", "ObjectNode", content=w.dict({"alpha": 0.5}))
    w.dump(out(area, "suspicious/untrusted_class.skops"), root)
    expect(area, "suspicious/untrusted_class.skops", "suspicious", rules=["skops/untrusted-type"])

    # A loader skops does not register.
    w = SkopsWriter()
    root = w.obj(est)
    root["content"]["content"]["hook"] = w.node("sklearn.base", "BaseEstimator", "EvalNode", content="id")
    root["content"]["key_types"]["content"].append(w.type_(str))
    w.dump(out(area, "malicious/unknown_loader.skops"), root)
    expect(area, "malicious/unknown_loader.skops", "malicious", rules=["skops/unknown-loader"])

    # An array whose .npy member is missing.
    w = SkopsWriter()
    root = w.obj(est)
    w.files = [f for f in w.files if f[0] != root["content"]["content"]["coef_"]["file"]]
    w.dump(out(area, "invalid/missing_array.skops"), root)
    expect(area, "invalid/missing_array.skops", "invalid", rules=["skops/missing-file"])


# --- Paddle ----------------------------------------------------------------------------------


def varint(n):
    if n < 0:
        n += 1 << 64
    b = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            b.append(byte | 0x80)
        else:
            b.append(byte)
            return bytes(b)


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        if isinstance(payload, str):
            payload = payload.encode()
        return key + varint(len(payload)) + payload
    if wire == 5:
        return key + struct.pack("<f", payload)
    raise ValueError(wire)


# framework.proto: AttrType INT 0, FLOAT 1, STRING 2, INTS 3, BOOLEAN 6, LONG 9.
def attr(name, kind, value):
    m = field(1, 2, name)
    if kind == "int":
        m += field(2, 0, 0) + field(3, 0, value)
    elif kind == "float":
        m += field(2, 0, 1) + field(4, 5, value)
    elif kind == "string":
        m += field(2, 0, 2) + field(5, 2, value)
    elif kind == "ints":
        m += field(2, 0, 3) + b"".join(field(6, 0, v) for v in value)
    elif kind == "bool":
        m += field(2, 0, 6) + field(10, 0, 1 if value else 0)
    elif kind == "long":
        m += field(2, 0, 9) + field(13, 0, value)
    return m


def op_var(parameter, arguments):
    return field(1, 2, parameter) + b"".join(field(2, 2, a) for a in arguments)


def op(type_, inputs=(), outputs=(), attrs=()):
    # OpDesc: inputs 1, outputs 2, type 3, attrs 4 (serialized in field order, as protobuf does).
    m = b"".join(field(1, 2, op_var(p, a)) for p, a in inputs)
    m += b"".join(field(2, 2, op_var(p, a)) for p, a in outputs)
    m += field(3, 2, type_)
    m += b"".join(field(4, 2, attr(*a)) for a in attrs)
    return m


# VarType.Type: FP32 5, LOD_TENSOR 7, FEED_MINIBATCH 9, FETCH_LIST 10.
def var(name, persistable=False, dims=None, kind=7):
    vt = field(1, 0, kind)
    if kind == 7:
        tensor = field(1, 0, 5) + b"".join(field(2, 0, d) for d in (dims or []))
        vt += field(3, 2, field(1, 2, tensor) + field(2, 0, 0))
    m = field(1, 2, name) + field(2, 2, vt)
    if persistable:
        m += field(3, 0, 1)
    return m


def block(idx, parent, vars_, ops):
    m = field(1, 0, idx) + field(2, 0, parent)
    m += b"".join(field(3, 2, v) for v in vars_)
    m += b"".join(field(4, 2, o) for o in ops)
    return m


def program(ops, extra_vars=()):
    vars_ = [
        var("feed", kind=9),
        var("fetch", kind=10),
        var("x", dims=[-1, 4]),
        var("linear_0.w_0", persistable=True, dims=[4, 2]),
        var("linear_0.b_0", persistable=True, dims=[2]),
        var("t0", dims=[-1, 2]),
        var("t1", dims=[-1, 2]),
        var("t2", dims=[-1, 2]),
        var("out", dims=[-1, 2]),
        *extra_vars,
    ]
    blocks = field(1, 2, block(0, -1, vars_, ops))
    version = field(4, 2, field(1, 0, 2006000))
    return blocks + version


def linear_ops():
    return [
        op("feed", [("X", ["feed"])], [("Out", ["x"])], [("col", "int", 0)]),
        op(
            "matmul_v2",
            [("X", ["x"]), ("Y", ["linear_0.w_0"])],
            [("Out", ["t0"])],
            [("trans_x", "bool", False), ("trans_y", "bool", False)],
        ),
        op("elementwise_add", [("X", ["t0"]), ("Y", ["linear_0.b_0"])], [("Out", ["t1"])], [("axis", "int", -1)]),
        op("relu", [("X", ["t1"])], [("Out", ["t2"])]),
        op("scale", [("X", ["t2"])], [("Out", ["out"])], [("scale", "float", 1.0), ("bias", "float", 0.0)]),
        op("fetch", [("X", ["out"])], [("Out", ["fetch"])], [("col", "int", 0)]),
    ]


def paddle():
    area = "paddle"

    def save(rel, data):
        with open(out(area, rel), "wb") as f:
            f.write(data)

    save("benign/linear.pdmodel", program(linear_ops()))
    expect(area, "benign/linear.pdmodel", "clean")

    ops = linear_ops()
    ops.insert(
        4,
        op(
            "py_func",
            [("X", ["t2"])],
            [("Out", ["t2"])],
            [("forward_callable_id", "int", 0), ("backward_callable_id", "int", -1)],
        ),
    )
    save("malicious/py_func.pdmodel", program(ops))
    expect(area, "malicious/py_func.pdmodel", "malicious", rules=["paddle/py-func"])

    ops = linear_ops()
    ops.insert(
        5,
        op("save", [("X", ["out"])], [], [("file_path", "string", "/tmp/modelgate-sample/out"), ("overwrite", "bool", True)]),
    )
    save("suspicious/save_op.pdmodel", program(ops))
    expect(area, "suspicious/save_op.pdmodel", "suspicious", rules=["paddle/io-op"], evidence={"opType": "save"})

    ops = linear_ops()
    ops.insert(4, op("my_custom_relu", [("X", ["t2"])], [("Out", ["t2"])]))
    save("suspicious/custom_op.pdmodel", program(ops))
    expect(area, "suspicious/custom_op.pdmodel", "suspicious", rules=["paddle/unknown-op"])

    data = program(linear_ops())
    save("invalid/truncated.pdmodel", data[: len(data) * 2 // 3])
    expect(area, "invalid/truncated.pdmodel", "invalid")

    # An operator without its required type.
    ops = linear_ops()
    ops.insert(4, field(1, 2, op_var("X", ["t2"])))
    save("invalid/op_without_type.pdmodel", program(ops))
    expect(area, "invalid/op_without_type.pdmodel", "invalid", rules=["paddle/malformed"])


def main():
    torchserve()
    skops()
    paddle()
    for area, entries in EXPECTED.items():
        with open(out(area, "expected.json"), "w") as f:
            json.dump(entries, f, indent=2, sort_keys=True)
            f.write("\n")
        print(area, len(entries), "samples", file=sys.stderr)


if __name__ == "__main__":
    main()
