#!/usr/bin/python3
"""Writes samples/graph-bypass/: graph formats whose loaders read fields in any order, or pick the
kernel from somewhere other than the name modelgate once judged by, plus real pickled XGBoost models.

How each file is made (say so in reviews):
- xgboost/*.pkl, *.joblib: real models trained and saved by Debian's python3-xgboost (pickle, joblib).
  They must stay clean (the `xgboost` pickle profile); xgboost/xgb_lookalike.pkl is a hand-written
  pickle naming a non-existent xgboost class (must stay judged).
- paddle/*: Paddle ProgramDesc protobufs written field by field here (PaddlePaddle is not packaged in
  Debian), with the field numbers of Paddle's framework.proto. Protobuf parsers accept fields in any
  order, so the same program with its version first, or parent_idx before idx, is what Paddle loads.
- mxnet/*: MXNet symbol JSON written with json.dumps (MXNet is not packaged in Debian); dmlc's JSON
  reader takes the graph's keys in any order.
- tflite/*: TFLite flatbuffers written byte by byte with struct (python3-flatbuffers is not installed
  here), schema.fbs field numbers; the Flex custom options are FlexBuffers written by hand
  ([op name, serialized tensorflow.NodeDef], as tensorflow/lite/delegates/flex/kernel.cc reads them).

Payloads only name operators (py_func, _Native, WriteFile); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import io
import json
import os
import pickle
import shutil
import struct
import warnings

OUT = os.path.join("samples", "graph-bypass")
expected = {}


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def expect(path, verdict, rules=(), absent=(), evidence=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    expected[f"graph-bypass/{path}"] = entry


# ---------------------------------------------------------------------------------------------
# protobuf (Paddle framework.proto: ProgramDesc {1 blocks, 4 version}; BlockDesc {1 idx, 2 parent_idx,
# 3 vars, 4 ops}; OpDesc {1 inputs, 2 outputs, 3 type, 4 attrs}; Attr {1 name, 2 type, 3 i, 5 s};
# VarDesc {1 name, 2 type}; Version {1 version})


def varint(n):
    if n < 0:
        n += 1 << 64
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def vf(num, value):
    return varint(num << 3) + varint(value)


def lf(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def op(kind, attrs=b""):
    return lf(1, lf(1, "X") + lf(2, "x")) + lf(2, lf(1, "Out") + lf(2, "out")) + lf(3, kind) + attrs


def attr_int(name, i):
    return lf(4, lf(1, name) + vf(2, 0) + vf(3, i))


VAR = lf(3, lf(1, "x") + lf(2, vf(1, 7)))
VERSION = lf(4, vf(1, 2006000))


def paddle():
    py_func = op("py_func", attr_int("forward_callable_id", 0))
    relu = op("relu")
    std_block = vf(1, 0) + vf(2, -1) + VAR + lf(4, relu) + lf(4, py_func)
    reordered_block = lf(4, py_func) + VAR + vf(2, -1) + vf(1, 0)  # ops, vars, parent_idx, idx
    sub_first = vf(1, 0) + vf(2, 0) + lf(4, py_func)  # block 0 whose parent_idx is not -1
    # version first (Paddle's default name for legacy programs, no extension)
    put("paddle/version_first/__model__", VERSION + lf(1, std_block))
    expect("paddle/version_first/__model__", "malicious", ["paddle/py-func"])
    # parent_idx before idx and ops before vars, under a name that claims nothing
    put("paddle/reordered.model", lf(1, reordered_block) + VERSION)
    expect("paddle/reordered.model", "malicious", ["paddle/py-func"])
    put("paddle/reordered.pdmodel", VERSION + lf(1, reordered_block))
    expect("paddle/reordered.pdmodel", "malicious", ["paddle/py-func"], ["format/claim-unmet"])
    put("paddle/sub_parent.bin", lf(1, sub_first) + VERSION)
    expect("paddle/sub_parent.bin", "malicious", ["paddle/py-func"])
    # an unknown top-level field (proto2 keeps it as unknown) before the blocks
    put("paddle/unknown_field.pdmodel", lf(9, b"\x00" * 40) + lf(1, std_block) + VERSION)
    expect("paddle/unknown_field.pdmodel", "malicious", ["paddle/py-func"])
    # benign: the same programs with relu only, in both orders
    clean_block = vf(2, -1) + vf(1, 0) + VAR + lf(4, relu)
    put("paddle/benign_reordered.pdmodel", VERSION + lf(1, clean_block))
    expect("paddle/benign_reordered.pdmodel", "clean", absent=["paddle/malformed", "format/claim-unmet"])
    put("paddle/benign_dir/__model__", lf(1, vf(1, 0) + vf(2, -1) + VAR + lf(4, relu)) + VERSION)
    expect("paddle/benign_dir/__model__", "clean", absent=["paddle/malformed"])
    # __model__ that is no program at all: Paddle fails to parse it, so it is invalid, never clean
    put("paddle/not_a_program/__model__", b"this is not a ProgramDesc\n")
    expect("paddle/not_a_program/__model__", "invalid")


# ---------------------------------------------------------------------------------------------
# MXNet symbol JSON (nnvm graph: nodes, arg_nodes, node_row_ptr, heads, attrs)


def mxnet():
    nodes = [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "_Native", "name": "n", "attrs": {"info": "140737488355328"}, "inputs": [[0, 0, 0]]},
    ]
    attrs = {"mxnet_version": ["int", 10901]}
    graph = {"arg_nodes": [0], "nodes": nodes, "node_row_ptr": [0, 1, 2], "heads": [[1, 0, 0]], "attrs": attrs}
    put("mxnet/reordered-symbol.json", json.dumps(graph).encode())
    expect("mxnet/reordered-symbol.json", "malicious", ["mxnet/native-operator"])
    # attrs first, padded past the sniffer's head: only a whole-document reading sees the nodes
    padded = {
        "attrs": {"mxnet_version": ["int", 10901], "pad": ["str", "A" * 20000]},
        "heads": [[1, 0, 0]],
        "nodes": nodes,
        "arg_nodes": [0],
    }
    put("mxnet/attrs_first-symbol.json", json.dumps(padded, indent=2).encode())
    expect("mxnet/attrs_first-symbol.json", "malicious", ["mxnet/native-operator"])
    benign = {
        "heads": [[1, 0, 0]],
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {"op": "Activation", "name": "relu0", "attrs": {"act_type": "relu"}, "inputs": [[0, 0, 0]]},
        ],
        "arg_nodes": [0],
        "node_row_ptr": [0, 1, 2],
        "attrs": attrs,
    }
    put("mxnet/benign_reordered-symbol.json", json.dumps(benign).encode())
    expect("mxnet/benign_reordered-symbol.json", "clean", absent=["mxnet/malformed"])
    # networkx node-link data has "nodes" but no "heads": plain JSON, clean
    put("mxnet/node_link.json", json.dumps({"directed": False, "nodes": [{"id": 1}], "links": []}).encode())
    expect("mxnet/node_link.json", "clean")


# ---------------------------------------------------------------------------------------------
# FlatBuffers, written front to back: an object's references point forward to objects placed after it


class Table:
    def __init__(self, *fields):
        self.fields = fields  # (kind, value) or None per slot; kinds: i8 u8 i32 u32 u64 ref


class Vec:
    def __init__(self, kind, items):
        self.kind, self.items = kind, items  # kind: i32, u8 (bytes) or ref


class Str:
    def __init__(self, s):
        self.data = s.encode() if isinstance(s, str) else s


SIZES = {"i8": 1, "u8": 1, "i32": 4, "u32": 4, "u64": 8, "ref": 4}
FMT = {"i8": "<b", "u8": "<B", "i32": "<i", "u32": "<I", "u64": "<Q"}


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def align(self, n, extra=0):
        while (len(self.buf) + extra) % n:
            self.buf += b"\0"

    def place(self, obj):
        if isinstance(obj, Str):
            self.align(4)
            at = len(self.buf)
            self.buf += struct.pack("<I", len(obj.data)) + obj.data + b"\0"
            return at
        if isinstance(obj, Vec):
            size = 4 if obj.kind in ("i32", "ref") else 1
            self.align(max(size, 4) if obj.kind != "u8" else 16, 4)
            at = len(self.buf)
            self.buf += struct.pack("<I", len(obj.items))
            refs = []
            for item in obj.items:
                if obj.kind == "ref":
                    refs.append((len(self.buf), item))
                    self.buf += b"\0\0\0\0"
                elif obj.kind == "u8":
                    self.buf += bytes([item])
                else:
                    self.buf += struct.pack(FMT[obj.kind], item)
            for pos, child in refs:
                struct.pack_into("<I", self.buf, pos, self.place(child) - pos)
            return at
        # a table: vtable, then the table (soffset back to the vtable), fields aligned to their size
        fields = obj.fields
        layout, offset = [], 4
        for f in fields:
            if f is None:
                layout.append(0)
                continue
            size = SIZES[f[0]]
            while offset % size:
                offset += 1
            layout.append(offset)
            offset += size
        table_size = offset
        while table_size % 4:
            table_size += 1
        vtable = struct.pack("<HH", 4 + 2 * len(fields), table_size) + b"".join(struct.pack("<H", o) for o in layout)
        self.align(8, len(vtable))  # table start 8-aligned
        vt = len(self.buf)
        self.buf += vtable
        at = len(self.buf)
        body = bytearray(table_size)
        struct.pack_into("<i", body, 0, at - vt)
        refs = []
        for f, o in zip(fields, layout):
            if f is None:
                continue
            if f[0] == "ref":
                refs.append((at + o, f[1]))
            else:
                struct.pack_into(FMT[f[0]], body, o, f[1])
        self.buf += body
        for pos, child in refs:
            struct.pack_into("<I", self.buf, pos, self.place(child) - pos)
        return at


def flatbuffer(root, identifier=b"TFL3"):
    w = Writer()
    w.buf += b"\0\0\0\0" + identifier
    struct.pack_into("<I", w.buf, 0, w.place(root))
    w.align(16)
    return bytes(w.buf)


def flex_options(name, node_def, width=1):
    """A FlexBuffer vector [name, node_def] (strings), elements and sizes `width` bytes wide."""
    code = {1: 0, 2: 1, 4: 2, 8: 3}[width]
    buf = bytearray()

    def string(data):
        while (len(buf) + width) % width:
            buf.append(0)
        buf.extend(len(data).to_bytes(width, "little"))
        at = len(buf)
        buf.extend(data + b"\0")
        return at

    s0, s1 = string(name.encode()), string(node_def)
    while (len(buf) + width) % width:
        buf.append(0)
    buf.extend((2).to_bytes(width, "little"))
    vec = len(buf)
    for i, s in enumerate((s0, s1)):
        buf.extend((vec + i * width - s).to_bytes(width, "little"))
    buf.extend(bytes([5 << 2 | code, 5 << 2 | code]))  # STRING, STRING
    root = len(buf)
    buf.extend((root - vec).to_bytes(width, "little"))
    buf.extend(bytes([10 << 2 | code, width]))  # VECTOR, root width
    return bytes(buf)


def node_def(op_name, name="node", first=False):
    """tensorflow.NodeDef: name 1, op 2, input 3, device 4 (op first when `first`)."""
    if first:
        return lf(2, op_name) + lf(1, name) + lf(3, "x")
    return lf(1, name) + lf(2, op_name) + lf(3, "x")


CUSTOM = 32


def tflite_model(ops, large=None):
    """A model whose operator i is CUSTOM `custom_code` with the given custom options bytes; with
    `large`, operator 0 also names large custom options (fields 9, 10) holding those bytes, appended
    after the flatbuffer (what the interpreter hands the kernel when the offset is set)."""
    at = 0
    if large is not None:
        at = len(tflite_model_at(ops, (1 << 40, len(large))))  # same layout, the real offset is known next
    model = tflite_model_at(ops, None if large is None else (at, len(large)))
    return model if large is None else model + large


def tflite_model_at(ops, large):
    codes = [Table(("i8", CUSTOM), ("ref", Str(code)), ("i32", 1), ("i32", CUSTOM)) for code, _ in ops]
    tensors = [Table(("ref", Vec("i32", [1, 4])), ("i8", 0), ("u32", 0), ("ref", Str(f"t{i}"))) for i in range(2)]

    def operator(i, opts):
        fields = [("u32", i), ("ref", Vec("i32", [0])), ("ref", Vec("i32", [1])), None, None,
                  ("ref", Vec("u8", list(opts))) if opts is not None else None]
        if i == 0 and large is not None:
            fields += [None, None, None, ("u64", large[0]), ("u64", large[1])]
        return Table(*fields)

    operators = [operator(i, opts) for i, (_, opts) in enumerate(ops)]
    subgraph = Table(
        ("ref", Vec("ref", tensors)),
        ("ref", Vec("i32", [0])),
        ("ref", Vec("i32", [1])),
        ("ref", Vec("ref", operators)),
        ("ref", Str("main")),
    )
    model = Table(
        ("u32", 3),
        ("ref", Vec("ref", codes)),
        ("ref", Vec("ref", [subgraph])),
        ("ref", Str("modelgate graph-bypass sample")),
        ("ref", Vec("ref", [Table()])),
    )
    return flatbuffer(model)


def tflite():
    write_file = flex_options("WriteFile", node_def("WriteFile"))
    put("tflite/flex_addv2_runs_writefile.tflite", tflite_model([("FlexAddV2", write_file)]))
    expect("tflite/flex_addv2_runs_writefile.tflite", "malicious", ["tflite/flex-io-op"],
           evidence={"customCode": "FlexAddV2"})
    # element 0 benign, the NodeDef's op (field order swapped) a Python callback
    put("tflite/flex_nodedef_pyfunc.tflite",
        tflite_model([("FlexAddV2", flex_options("AddV2", node_def("EagerPyFunc", first=True), width=2))]))
    expect("tflite/flex_nodedef_pyfunc.tflite", "malicious", ["tflite/flex-python-op"])
    # unreadable custom options on a Flex op: judged as an unknown TensorFlow op (medium)
    put("tflite/flex_unreadable_options.tflite", tflite_model([("FlexAddV2", b"\x01\x02\x03\x04\x05")]))
    expect("tflite/flex_unreadable_options.tflite", "suspicious", ["tflite/flex-op"],
           ["tflite/flex-io-op", "tflite/flex-python-op"], evidence={"unreadableOptions": 1})
    # the custom_options vector names AddV2, the large custom options (which the interpreter uses) WriteFile
    put("tflite/flex_large_options.tflite",
        tflite_model([("FlexAddV2", flex_options("AddV2", node_def("AddV2")))],
                     large=flex_options("WriteFile", node_def("WriteFile"), width=8)))
    expect("tflite/flex_large_options.tflite", "malicious", ["tflite/flex-io-op"], ["tflite/malformed"])
    # benign control: a Flex op whose options name the same kernel as its custom_code
    put("tflite/flex_addv2_consistent.tflite",
        tflite_model([("FlexAddV2", flex_options("AddV2", node_def("AddV2"), width=4))]))
    expect("tflite/flex_addv2_consistent.tflite", "suspicious", ["tflite/flex-op"],
           ["tflite/flex-io-op", "tflite/flex-python-op", "tflite/malformed", "tflite/structure-anomaly"],
           evidence={"kernels": "AddV2"})


# ---------------------------------------------------------------------------------------------
# XGBoost pickles (real python3-xgboost)


def xgboost_pickles():
    import joblib
    import numpy as np
    import xgboost as xgb

    warnings.filterwarnings("ignore")
    rng = np.random.RandomState(0)
    X = rng.rand(40, 4)
    y = (X[:, 0] > 0.5).astype(int)
    yr = X[:, 1] * 3
    models = {
        "xgb_classifier": xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y),
        "xgb_regressor": xgb.XGBRegressor(n_estimators=3, max_depth=2).fit(X, yr),
        "xgb_rf_classifier": xgb.XGBRFClassifier(n_estimators=3, max_depth=2).fit(X, y),
        "xgb_rf_regressor": xgb.XGBRFRegressor(n_estimators=3, max_depth=2).fit(X, yr),
        "xgb_ranker": xgb.XGBRanker(n_estimators=3, max_depth=2).fit(X, y, qid=np.repeat(np.arange(4), 10)),
        "xgb_booster": xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y), 3),
    }
    for name, model in models.items():
        put(f"xgboost/{name}.pkl", pickle.dumps(model, protocol=4))
        expect(f"xgboost/{name}.pkl", "clean", absent=["pickle/unknown-global"])
    for name in ("xgb_classifier", "xgb_booster"):
        buf = io.BytesIO()
        joblib.dump(models[name], buf)
        put(f"xgboost/{name}.joblib", buf.getvalue())
        expect(f"xgboost/{name}.joblib", "clean", absent=["pickle/unknown-global"])
    # an xgboost-looking global the profile does not list stays judged
    put("xgboost/xgb_lookalike.pkl", b"\x80\x04\x8c\x0cxgboost.core\x8c\x0bLoadLibrary\x93)R.")
    expect("xgboost/xgb_lookalike.pkl", "suspicious", ["pickle/unknown-global"])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    paddle()
    mxnet()
    tflite()
    xgboost_pickles()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
