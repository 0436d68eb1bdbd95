"""Samples of data-only model formats: Flax msgpack, XGBoost, LightGBM, CatBoost, MXNet and
TensorFlow checkpoints. Run from the repository root with /usr/bin/python3 (Debian's
python3-numpy, python3-msgpack, python3-xgboost).

- XGBoost files are written by xgboost itself (save_model to .json, .ubj and the legacy binary).
- Flax is not in Debian: its layout is built with msgpack + numpy as flax.serialization documents
  it (ndarray = ext type 1 holding msgpack (shape, dtype name, C-order bytes); numpy scalar = ext 3;
  complex = ext 2 holding (real, imag)). msgpack-numpy maps (nd/type/kind/shape/data) likewise.
- LightGBM, CatBoost and MXNet are not in Debian: their files are written byte by byte as their
  documented formats say (LightGBM's text model, CatBoost's "CBM1" + flatbuffer envelope, MXNet's
  NDArray list 0x112 and symbol JSON). TensorFlow is not in Debian: the checkpoint index is a
  LevelDB-format table built here per the LevelDB table spec holding TensorFlow's BundleHeaderProto
  and BundleEntryProto messages.
Malicious samples carry harmless payloads (echo).
"""
import io
import json
import os
import pickle
import struct

import msgpack
import numpy as np

ROOT = "samples"


def out(area, name, data):
    path = os.path.join(ROOT, area, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "w" if isinstance(data, str) else "wb"
    with open(path, mode) as f:
        f.write(data)


def expected(area, entries):
    with open(os.path.join(ROOT, area, "expected.json"), "w") as f:
        json.dump({f"{area}/{k}": v for k, v in entries.items()}, f, indent=2)
        f.write("\n")


class Echo:
    """Harmless payload: os.system('echo ...') when unpickled."""

    def __reduce__(self):
        return (os.system, ("echo modelgate-sample",))


# ---------------------------------------------------------------------------------------------
# Flax msgpack (flax.serialization layout)


def nd_bytes(arr, dtype_name=None):
    arr = np.asarray(arr)
    return msgpack.packb((arr.shape, dtype_name or arr.dtype.name, arr.tobytes("C")), use_bin_type=True)


def flax_pack(obj):
    def ext(x):
        if isinstance(x, np.ndarray):
            return msgpack.ExtType(1, nd_bytes(x))
        if isinstance(x, np.generic):
            return msgpack.ExtType(3, nd_bytes(np.asarray(x)))
        if isinstance(x, complex):
            return msgpack.ExtType(2, msgpack.packb((x.real, x.imag)))
        raise TypeError(type(x))

    return msgpack.packb(obj, default=ext, strict_types=True)


def msgpack_samples():
    rng = np.random.default_rng(0)
    params = {
        "params": {
            "Dense_0": {
                "kernel": rng.normal(size=(4, 8)).astype(np.float32),
                "bias": np.zeros((8,), np.float32),
            },
            "Dense_1": {
                "kernel": rng.normal(size=(8, 2)).astype(np.float16),
                "bias": np.zeros((2,), np.float16),
            },
            "Embed_0": {"embedding": rng.integers(0, 100, size=(5, 3)).astype(np.int32)},
        },
        "step": np.int64(12),
        "scale": complex(1.0, -0.5),
    }
    out("msgpack", "flax_model.msgpack", flax_pack(params))
    # bfloat16 layout: 2 bytes an element, dtype name as JAX writes it.
    bf16 = msgpack.ExtType(1, msgpack.packb(((2, 2), "bfloat16", bytes(8)), use_bin_type=True))
    out("msgpack", "bf16.msgpack", msgpack.packb({"params": {"w": bf16}}))

    payload = pickle.dumps(Echo(), protocol=2)
    obj = msgpack.ExtType(1, msgpack.packb(((1,), "object", payload), use_bin_type=True))
    out("msgpack", "malicious/object_dtype.msgpack", msgpack.packb({"params": {"w": obj}}))
    # msgpack-numpy's layout of an object array: the data is pickle.dumps output.
    mn = {b"nd": True, b"type": "|O", b"kind": b"O", b"shape": (1,), b"data": payload}
    out("msgpack", "malicious/msgpack_numpy_object.msgpack", msgpack.packb({"weights": mn}, use_bin_type=True))
    out("msgpack", "malicious/unknown_ext.msgpack", msgpack.packb({"params": {"w": msgpack.ExtType(42, b"?" * 8)}}))

    good = flax_pack(params)
    out("msgpack", "hostile/truncated.msgpack", good[: len(good) // 2])
    # map32 claiming 2^32-1 entries, then a bin32 claiming 4 GiB.
    out("msgpack", "hostile/huge_map.msgpack", b"\xdf\xff\xff\xff\xff\xa1a\xc0")
    out("msgpack", "hostile/huge_bin.msgpack", b"\x81\xa1w\xc6\xff\xff\xff\xf0" + bytes(16))
    mismatch = msgpack.ExtType(1, msgpack.packb(((1000, 1000), "float32", bytes(16)), use_bin_type=True))
    out("msgpack", "hostile/size_mismatch.msgpack", msgpack.packb({"params": {"w": mismatch}}))
    out("msgpack", "hostile/trailing.msgpack", good + pickle.dumps(Echo(), protocol=2))

    expected(
        "msgpack",
        {
            "flax_model.msgpack": {"verdict": "clean"},
            "bf16.msgpack": {"verdict": "clean"},
            "malicious/object_dtype.msgpack": {"verdict": "malicious", "rules": ["msgpack/object-array"]},
            "malicious/msgpack_numpy_object.msgpack": {
                "verdict": "malicious",
                "rules": ["msgpack/object-array", "pickle/dangerous-global"],
            },
            "malicious/unknown_ext.msgpack": {"verdict": "suspicious", "rules": ["msgpack/unknown-extension"]},
            "hostile/truncated.msgpack": {"verdict": "invalid"},
            "hostile/huge_map.msgpack": {"verdict": "invalid", "rules": ["msgpack/length-out-of-bounds"]},
            "hostile/huge_bin.msgpack": {"verdict": "invalid", "rules": ["msgpack/length-out-of-bounds"]},
            "hostile/size_mismatch.msgpack": {"verdict": "invalid", "rules": ["msgpack/tensor-size-mismatch"]},
            "hostile/trailing.msgpack": {
                "verdict": "malicious",
                "rules": ["msgpack/trailing-data", "pickle/dangerous-global"],
            },
        },
    )


# ---------------------------------------------------------------------------------------------
# XGBoost (written by xgboost itself)


def xgboost_samples():
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    params = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1, "seed": 0}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=3)
    d = "samples/xgboost"
    os.makedirs(d, exist_ok=True)
    booster.save_model(f"{d}/model.json")
    booster.save_model(f"{d}/model.ubj")
    booster.save_model(f"{d}/model.bin")  # legacy binary ("binf" magic) in xgboost 1.x
    y3 = (x[:, 0] > 0.5).astype(int) + (x[:, 1] > 0).astype(int)
    dart = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "booster": "dart", "max_depth": 2, "nthread": 1, "seed": 0},
        xgb.DMatrix(x, label=y3),
        num_boost_round=2,
    )
    dart.save_model(f"{d}/dart.ubj")
    # Booster.save_config(): parameters only (load_config reads them, load_model refuses them)
    out("xgboost", "dart_config.json", dart.save_config())
    linear = xgb.train({"booster": "gblinear", "nthread": 1}, xgb.DMatrix(x, label=x[:, 0]), num_boost_round=2)
    linear.save_model(f"{d}/linear.json")

    legacy = open(f"{d}/model.bin", "rb").read()
    assert legacy[:4] == b"binf"
    # XGBoost also loads the legacy layout without its magic (the header peek only skips "binf").
    out("xgboost", "headerless.model", legacy[4:])
    out("xgboost", "hostile/trailing_pickle.bin", legacy + pickle.dumps(Echo(), protocol=2))
    out("xgboost", "hostile/truncated.bin", legacy[: len(legacy) - 200])
    ubj = open(f"{d}/model.ubj", "rb").read()
    out("xgboost", "hostile/truncated.ubj", ubj[: len(ubj) // 2])
    doc = json.load(open(f"{d}/model.json"))
    doc["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"][0] = 1000
    out("xgboost", "hostile/child_out_of_range.json", json.dumps(doc, separators=(",", ":")))
    doc = json.load(open(f"{d}/model.json"))
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][1]
    tree["left_children"][0] = 0  # the root is its own child: prediction never reaches a leaf
    out("xgboost", "hostile/cycle.json", json.dumps(doc, separators=(",", ":")))

    expected(
        "xgboost",
        {
            "model.json": {"verdict": "clean"},
            "model.ubj": {"verdict": "clean"},
            "model.bin": {"verdict": "clean"},
            "headerless.model": {"verdict": "clean"},
            "dart.ubj": {"verdict": "clean"},
            "dart_config.json": {"verdict": "clean", "absentRules": ["xgboost/malformed"]},
            "linear.json": {"verdict": "clean"},
            "hostile/trailing_pickle.bin": {
                "verdict": "malicious",
                "rules": ["xgboost/trailing-data", "pickle/dangerous-global"],
            },
            "hostile/truncated.bin": {"verdict": "invalid", "rules": ["xgboost/malformed"]},
            "hostile/truncated.ubj": {"verdict": "invalid", "rules": ["xgboost/malformed"]},
            "hostile/child_out_of_range.json": {"verdict": "invalid", "rules": ["xgboost/invalid-tree"]},
            "hostile/cycle.json": {"verdict": "invalid", "rules": ["xgboost/invalid-tree"]},
        },
    )


# ---------------------------------------------------------------------------------------------
# MXNet (not in Debian: NDArray list and symbol JSON as MXNet's ndarray.cc / nnvm graph JSON lay them out)

ND_V2, ND_V3 = 0xF993FAC9, 0xF993FACA
MX_FLAGS = {np.dtype("float32"): 0, np.dtype("float64"): 1, np.dtype("float16"): 2, np.dtype("int64"): 6}


def mx_shape(shape):
    return struct.pack("<i", len(shape)) + b"".join(struct.pack("<q", d) for d in shape)


def mx_array(arr, magic=ND_V2):
    arr = np.ascontiguousarray(arr)
    return (
        struct.pack("<Ii", magic, 0)
        + mx_shape(arr.shape)
        + struct.pack("<ii", 1, 0)  # context: cpu(0)
        + struct.pack("<i", MX_FLAGS[arr.dtype])
        + arr.tobytes()
    )


def mx_row_sparse(shape, rows, values):
    # storage type 1 (row_sparse): storage shape, shape, context, type flag, aux (int64 row ids), data, aux data
    values = np.ascontiguousarray(values, np.float32)
    idx = np.asarray(rows, np.int64)
    return (
        struct.pack("<Ii", ND_V2, 1)
        + mx_shape(values.shape)
        + mx_shape(shape)
        + struct.pack("<ii", 1, 0)
        + struct.pack("<i", 0)
        + struct.pack("<i", 6)
        + mx_shape(idx.shape)
        + values.tobytes()
        + idx.tobytes()
    )


def mx_list(arrays, names):
    body = struct.pack("<QQQ", 0x112, 0, len(arrays)) + b"".join(arrays)
    body += struct.pack("<Q", len(names))
    for n in names:
        body += struct.pack("<Q", len(n)) + n.encode()
    return body


def mx_symbol(nodes, heads):
    return json.dumps(
        {
            "nodes": nodes,
            "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"],
            "node_row_ptr": list(range(len(nodes) + 1)),
            "heads": heads,
            "attrs": {"mxnet_version": ["int", 10901]},
        },
        indent=2,
    )


def mxnet_samples():
    rng = np.random.default_rng(1)
    arrays = [
        mx_array(rng.normal(size=(8, 4)).astype(np.float32)),
        mx_array(np.zeros((8,), np.float32)),
        mx_array(np.ones((8,), np.float16), ND_V3),
        mx_row_sparse((10, 3), [2, 7], rng.normal(size=(2, 3))),
    ]
    names = ["arg:fc1_weight", "arg:fc1_bias", "aux:bn_moving_var", "arg:embed_weight"]
    good = mx_list(arrays, names)
    out("mxnet", "model-0000.params", good)
    out("mxnet", "hostile/huge_count.params", struct.pack("<QQQ", 0x112, 0, 1 << 40) + bytes(64))
    out("mxnet", "hostile/truncated.params", good[:100])
    out("mxnet", "hostile/names_mismatch.params", mx_list(arrays[:2], names[:1]))
    out("mxnet", "hostile/trailing_pickle.params", good + pickle.dumps(Echo(), protocol=2))

    def var(name):
        return {"op": "null", "name": name, "inputs": []}

    mlp = [
        var("data"),
        var("fc1_weight"),
        var("fc1_bias"),
        {"op": "FullyConnected", "name": "fc1", "attrs": {"num_hidden": "8"}, "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
        {"op": "Activation", "name": "relu1", "attrs": {"act_type": "relu"}, "inputs": [[3, 0, 0]]},
        var("softmax_label"),
        {"op": "SoftmaxOutput", "name": "softmax", "inputs": [[4, 0, 0], [5, 0, 0]]},
    ]
    out("mxnet", "model-symbol.json", mx_symbol(mlp, [[6, 0, 0]]))
    custom = mlp[:5] + [
        {"op": "Custom", "name": "myloss", "attrs": {"op_type": "my_softmax"}, "inputs": [[4, 0, 0]]},
    ]
    out("mxnet", "custom-symbol.json", mx_symbol(custom, [[5, 0, 0]]))
    native = mlp[:5] + [
        {"op": "_Native", "name": "native0", "attrs": {"info": "140737488355328", "need_top_grad": "True"}, "inputs": [[4, 0, 0]]},
    ]
    out("mxnet", "malicious/native-symbol.json", mx_symbol(native, [[5, 0, 0]]))
    broken = [dict(n) for n in mlp]
    broken[3] = dict(broken[3], inputs=[[0, 0, 0], [9, 0, 0]])
    out("mxnet", "hostile/forward-input-symbol.json", mx_symbol(broken, [[6, 0, 0]]))

    expected(
        "mxnet",
        {
            "model-0000.params": {"verdict": "clean"},
            "model-symbol.json": {"verdict": "clean"},
            "custom-symbol.json": {"verdict": "suspicious", "rules": ["mxnet/custom-operator"]},
            "malicious/native-symbol.json": {"verdict": "malicious", "rules": ["mxnet/native-operator"]},
            "hostile/forward-input-symbol.json": {"verdict": "invalid", "rules": ["mxnet/malformed"]},
            "hostile/huge_count.params": {"verdict": "invalid"},
            "hostile/truncated.params": {"verdict": "invalid", "rules": ["mxnet/malformed"]},
            "hostile/names_mismatch.params": {"verdict": "invalid", "rules": ["mxnet/malformed"]},
            "hostile/trailing_pickle.params": {
                "verdict": "malicious",
                "rules": ["mxnet/trailing-data", "pickle/dangerous-global"],
            },
        },
    )


# ---------------------------------------------------------------------------------------------
# LightGBM (not in Debian: the text model as LightGBM's GBDT::SaveModelToString writes it)


def lgb_tree(i, split_feature, threshold, left, right, leaf_value):
    n = len(leaf_value)
    j = lambda xs: " ".join(str(x) for x in xs)  # noqa: E731
    return (
        f"Tree={i}\nnum_leaves={n}\nnum_cat=0\nsplit_feature={j(split_feature)}\n"
        f"split_gain={j([1.5] * (n - 1))}\nthreshold={j(threshold)}\ndecision_type={j([2] * (n - 1))}\n"
        f"left_child={j(left)}\nright_child={j(right)}\nleaf_value={j(leaf_value)}\n"
        f"leaf_weight={j([10] * n)}\nleaf_count={j([10] * n)}\ninternal_value={j([0] * (n - 1))}\n"
        f"internal_weight={j([20] * (n - 1))}\ninternal_count={j([20] * (n - 1))}\nis_linear=0\nshrinkage=0.1\n\n\n"
    )


def lgb_model(trees):
    header = (
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=3\n"
        "objective=binary sigmoid:1\nfeature_names=f0 f1 f2 f3\n"
        "feature_infos=[-2.5:2.4] [-2.1:2.6] [-3:2.2] [-2.4:2.3]\n"
        f"tree_sizes={' '.join(str(len(t)) for t in trees)}\n\n"
    )
    tail = (
        "end of trees\n\nfeature_importances:\nf0=2\nf1=1\n\nparameters:\n[boosting: gbdt]\n"
        "[objective: binary]\n[num_iterations: 2]\n[learning_rate: 0.1]\n[num_leaves: 3]\n\n"
        "end of parameters\n\npandas_categorical:null\n"
    )
    return header + "".join(trees) + tail


def lightgbm_samples():
    t0 = lgb_tree(0, [0, 1], [0.05, -0.3], [1, -1], [-2, -3], [-0.2, 0.1, 0.3])
    t1 = lgb_tree(1, [1], [0.12], [-1], [-2], [-0.05, 0.07])
    out("lightgbm", "model.txt", lgb_model([t0, t1]))
    bad = lgb_tree(1, [1], [0.12], [-1], [-9], [-0.05, 0.07])  # leaf 8 of 2
    out("lightgbm", "hostile/child_out_of_range.txt", lgb_model([t0, bad]))
    loop = lgb_tree(0, [0, 1], [0.05, -0.3], [1, 1], [-2, -3], [-0.2, 0.1, 0.3])  # node 1 reached twice
    out("lightgbm", "hostile/shared_child.txt", lgb_model([loop]))
    out("lightgbm", "hostile/no_end.txt", lgb_model([t0]).split("end of trees")[0])
    expected(
        "lightgbm",
        {
            "model.txt": {"verdict": "clean"},
            "hostile/child_out_of_range.txt": {"verdict": "invalid", "rules": ["lightgbm/invalid-tree"]},
            "hostile/shared_child.txt": {"verdict": "invalid", "rules": ["lightgbm/invalid-tree"]},
            "hostile/no_end.txt": {"verdict": "invalid", "rules": ["lightgbm/malformed"]},
        },
    )


# ---------------------------------------------------------------------------------------------
# CatBoost (not in Debian: "CBM1", uint32 core size, TModelCore flatbuffer built with python3-flatbuffers)


def cbm_core(version=b"FlabuffersModel_v1", sizes=(2, 2), splits=(0, 1, 2, 0), leaves=None, starts=None, dim=1):
    """TModelCore (FormatVersion=0, ModelTrees=1, InfoMap=2) with a TModelTrees table laid out as
    CatBoost's model.fbs declares it: ApproxDimension=0, TreeSplits=1, TreeSizes=2,
    TreeStartOffsets=3, CatFeatures=4, FloatFeatures=5, LeafValues=8, LeafWeights=9.
    Features as features.fbs: TFloatFeature{HasNans=0, Index=1, FlatIndex=2, Borders=3, FeatureId=4},
    TCatFeature{Index=0, FlatIndex=1, FeatureId=2, UsedInModel=3}."""
    import flatbuffers

    b = flatbuffers.Builder(1024)

    def ints(values):
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependInt32(v)
        return b.EndVector()

    def doubles(values):
        b.StartVector(8, len(values), 8)
        for v in reversed(values):
            b.PrependFloat64(v)
        return b.EndVector()

    def offsets(items):
        b.StartVector(4, len(items), 4)
        for o in reversed(items):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    pairs = [(b"catboost_version_info", b"Version: 1.2 (sample)"), (b"model_guid", b"0123456789abcdef")]
    entries = []
    for k, v in pairs:
        ko, vo = b.CreateString(k), b.CreateString(v)
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, ko, 0)
        b.PrependUOffsetTRelativeSlot(1, vo, 0)
        entries.append(b.EndObject())
    info = offsets(entries)

    floats = []
    for index, borders in enumerate([[0.5, 1.5], [2.5]]):
        bo = b.StartVector(4, len(borders), 4)
        for x in reversed(borders):
            b.PrependFloat32(x)
        bo = b.EndVector()
        fid = b.CreateString(f"f{index}")
        b.StartObject(6)
        b.PrependInt32Slot(1, index, -1)
        b.PrependInt32Slot(2, index, -1)
        b.PrependUOffsetTRelativeSlot(3, bo, 0)
        b.PrependUOffsetTRelativeSlot(4, fid, 0)
        floats.append(b.EndObject())
    cid = b.CreateString("colour")
    b.StartObject(4)
    b.PrependInt32Slot(0, 0, -1)
    b.PrependInt32Slot(1, 2, -1)
    b.PrependUOffsetTRelativeSlot(2, cid, 0)
    cats = [b.EndObject()]

    n_leaves = sum(2**s for s in sizes)
    if leaves is None:
        leaves = [0.01 * i for i in range(n_leaves * dim)]
    if starts is None:
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
    v_splits, v_sizes, v_starts = ints(list(splits)), ints(list(sizes)), ints(list(starts))
    v_cats, v_floats = offsets(cats), offsets(floats)
    v_leaves, v_weights = doubles(leaves), doubles([1.0] * n_leaves if n_leaves < 4096 else [])
    b.StartObject(14)
    b.PrependInt32Slot(0, dim, 0)
    b.PrependUOffsetTRelativeSlot(1, v_splits, 0)
    b.PrependUOffsetTRelativeSlot(2, v_sizes, 0)
    b.PrependUOffsetTRelativeSlot(3, v_starts, 0)
    b.PrependUOffsetTRelativeSlot(4, v_cats, 0)
    b.PrependUOffsetTRelativeSlot(5, v_floats, 0)
    b.PrependUOffsetTRelativeSlot(8, v_leaves, 0)
    b.PrependUOffsetTRelativeSlot(9, v_weights, 0)
    trees = b.EndObject()
    ver = b.CreateString(version)
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(0, ver, 0)
    b.PrependUOffsetTRelativeSlot(1, trees, 0)
    b.PrependUOffsetTRelativeSlot(2, info, 0)
    root = b.EndObject()
    b.Finish(root)
    return bytes(b.Output())


def cbm(core):
    return b"CBM1" + struct.pack("<I", len(core)) + core


def catboost_samples():
    core = cbm_core()
    out("catboost", "model.cbm", cbm(core))
    out("catboost", "hostile/core_too_large.cbm", b"CBM1" + struct.pack("<I", 1 << 30) + core)
    broken = bytearray(core)
    broken[0:4] = struct.pack("<I", len(core) + 100)  # root table outside the core
    out("catboost", "hostile/root_outside.cbm", b"CBM1" + struct.pack("<I", len(core)) + bytes(broken))
    # tree sizes that do not add up to the splits (a loader indexes TreeSplits past its end)
    out("catboost", "hostile/tree_sizes_mismatch.cbm", cbm(cbm_core(sizes=(2, 3), leaves=[0.0] * 12)))
    # fewer leaf values than 2^depth per tree (a loader reads leaf values past the vector)
    out("catboost", "hostile/leaf_values_short.cbm", cbm(cbm_core(leaves=[0.0] * 7)))
    # an oblivious tree deeper than CatBoost allows (2^40 leaves)
    out("catboost", "hostile/too_deep.cbm", cbm(cbm_core(sizes=(40,), splits=tuple(range(40)), leaves=[0.0])))
    bad = {"verdict": "invalid", "rules": ["catboost/malformed"]}
    expected(
        "catboost",
        {
            "model.cbm": {"verdict": "clean"},
            "hostile/core_too_large.cbm": bad,
            "hostile/root_outside.cbm": bad,
            "hostile/tree_sizes_mismatch.cbm": bad,
            "hostile/leaf_values_short.cbm": bad,
            "hostile/too_deep.cbm": bad,
        },
    )


# ---------------------------------------------------------------------------------------------
# TensorFlow checkpoint (not in Debian: a LevelDB-format table of BundleHeaderProto/BundleEntryProto)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def uvarint(n):
    outb = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        outb.append(b | (0x80 if n else 0))
        if not n:
            return bytes(outb)


def pb_varint(field, v):
    return uvarint(field << 3) + uvarint(v)


def pb_bytes(field, data):
    return uvarint(field << 3 | 2) + uvarint(len(data)) + data


def pb_fixed32(field, v):
    return uvarint(field << 3 | 5) + struct.pack("<I", v)


def sst_block(entries):
    body = bytearray()
    prev = b""
    for key, value in entries:
        shared = 0
        while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
            shared += 1
        body += uvarint(shared) + uvarint(len(key) - shared) + uvarint(len(value)) + key[shared:] + value
        prev = key
    body += struct.pack("<II", 0, 1)
    return bytes(body)


def sst_table(entries, shard_override=None):
    out_b = bytearray()

    def put(block):
        handle = (len(out_b), len(block))
        out_b.extend(block + b"\x00" + struct.pack("<I", masked(crc32c(block + b"\x00"))))
        return handle

    data = put(sst_block(entries))
    meta = put(sst_block([]))
    index = put(sst_block([(entries[-1][0], uvarint(data[0]) + uvarint(data[1]))]))
    footer = uvarint(meta[0]) + uvarint(meta[1]) + uvarint(index[0]) + uvarint(index[1])
    footer += bytes(40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    return bytes(out_b + footer)


def tf_entry(shape, offset, data, shard=0):
    dims = b"".join(pb_bytes(2, pb_varint(1, d)) for d in shape)
    return (
        pb_varint(1, 1)  # DT_FLOAT
        + pb_bytes(2, dims)
        + (pb_varint(3, shard) if shard else b"")
        + (pb_varint(4, offset) if offset else b"")
        + pb_varint(5, len(data))
        + pb_fixed32(6, masked(crc32c(data)))
    )


def tfcheckpoint_samples():
    rng = np.random.default_rng(2)
    bias = np.zeros((4,), np.float32).tobytes()
    kernel = rng.normal(size=(2, 4)).astype(np.float32).tobytes()
    header = pb_varint(1, 1) + pb_bytes(3, pb_varint(1, 1))  # num_shards=1, version{producer=1}
    entries = [
        (b"", header),
        (b"dense/bias/.ATTRIBUTES/VARIABLE_VALUE", tf_entry((4,), 0, bias)),
        (b"dense/kernel/.ATTRIBUTES/VARIABLE_VALUE", tf_entry((2, 4), len(bias), kernel)),
    ]
    out("tfcheckpoint", "ckpt/model.ckpt.index", sst_table(entries))
    out("tfcheckpoint", "ckpt/model.ckpt.data-00000-of-00001", bias + kernel)
    out("tfcheckpoint", "ckpt/checkpoint", 'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')
    bad_shard = entries[:2] + [(entries[2][0], tf_entry((2, 4), len(bias), kernel, shard=5))]
    out("tfcheckpoint", "hostile/bad_shard.index", sst_table(bad_shard))
    table = bytearray(sst_table(entries))
    # index handle pointing far past the end of the file
    footer = uvarint(0) + uvarint(8) + uvarint(1 << 40) + uvarint(64)
    table[-48:] = footer + bytes(40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    out("tfcheckpoint", "hostile/handle_out_of_range.index", bytes(table))
    # the kernel's range runs 8 bytes past the end of its (truncated) data shard
    out("tfcheckpoint", "hostile/out_of_bounds/model.ckpt.index", sst_table(entries))
    out("tfcheckpoint", "hostile/out_of_bounds/model.ckpt.data-00000-of-00001", bias + kernel[:-8])
    # two shards; the second (holding the kernel) is not shipped
    two = [
        (b"", pb_varint(1, 2) + pb_bytes(3, pb_varint(1, 1))),
        entries[1],
        (entries[2][0], tf_entry((2, 4), 0, kernel, shard=1)),
    ]
    out("tfcheckpoint", "hostile/missing_shard/model.ckpt.index", sst_table(two))
    out("tfcheckpoint", "hostile/missing_shard/model.ckpt.data-00000-of-00002", bias)
    expected(
        "tfcheckpoint",
        {
            "ckpt": {"verdict": "clean", "absentRules": ["format/unknown"]},
            "hostile/out_of_bounds": {"verdict": "invalid", "rules": ["tf-checkpoint/out-of-bounds"]},
            "hostile/missing_shard": {"verdict": "suspicious", "rules": ["tf-checkpoint/missing-shard"]},
            "ckpt/model.ckpt.index": {"verdict": "clean"},
            "hostile/bad_shard.index": {"verdict": "invalid", "rules": ["tf-checkpoint/malformed"]},
            "hostile/handle_out_of_range.index": {"verdict": "invalid", "rules": ["tf-checkpoint/malformed"]},
        },
    )


if __name__ == "__main__":
    msgpack_samples()
    xgboost_samples()
    mxnet_samples()
    lightgbm_samples()
    catboost_samples()
    tfcheckpoint_samples()
