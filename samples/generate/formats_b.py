#!/usr/bin/python3
"""Samples for the ONNX, Keras and TensorFlow SavedModel analyzers.

Run with /usr/bin/python3 (Debian's python3-onnx, python3-torch, python3-h5py, python3-numpy).
ONNX models come from torch.onnx.export and the onnx helper API; HDF5 files from h5py. Keras and
TensorFlow are not installed, so .keras archives, keras_metadata.pb and saved_model.pb files are
written to the published layouts (Keras v3 archive members and config schema, TensorFlow's
protobuf field numbers); Lambda layers carry real Python 3.11 marshal bytecode, exactly as
keras.src.utils.python_utils.func_dump produces it. Hostile payloads are harmless (echo, id).
Outputs: samples/onnx/, samples/keras/, samples/savedmodel/, each with expected.json.
"""

import base64
import codecs
import io
import json
import marshal
import os
import shutil
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXPECTED = {}


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


def reset(area):
    path = os.path.join(ROOT, area)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


# --------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------


def onnx_samples():
    import onnx
    import torch
    from onnx import TensorProto, helper, numpy_helper

    reset("onnx")
    torch.manual_seed(0)

    def save(model, rel):
        with open(out("onnx", rel), "wb") as f:
            f.write(model.SerializeToString())

    # -- clean, real exports ------------------------------------------------------------------
    class Mlp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(16, 8)
            self.b = torch.nn.Linear(8, 4)

        def forward(self, x):
            return torch.softmax(self.b(torch.relu(self.a(x))), dim=-1)

    torch.onnx.export(Mlp(), torch.randn(1, 16), out("onnx", "clean/mlp_torch.onnx"), opset_version=13,
                      input_names=["x"], output_names=["y"])
    expect("onnx", "clean/mlp_torch.onnx", "clean",
           absent=["onnx/nonstandard-domain", "onnx/unknown-op", "onnx/python-op", "onnx/malformed"])

    class Branchy(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x * 2
            return x - 1

    torch.onnx.export(torch.jit.script(Branchy()), torch.randn(2, 3), out("onnx", "clean/if_scripted_torch.onnx"),
                      opset_version=13)
    expect("onnx", "clean/if_scripted_torch.onnx", "clean", absent=["onnx/unknown-op"])

    # torch.onnx's ONNX_ATEN export: an org.pytorch.aten::ATen node naming aten::linear (native
    # torch code chosen by name, no Python): low, not a Python op.
    torch.onnx.export(torch.nn.Linear(4, 2), torch.randn(1, 4), out("onnx", "aten_linear_torch.onnx"),
                      operator_export_type=torch.onnx.OperatorExportTypes.ONNX_ATEN)
    expect("onnx", "aten_linear_torch.onnx", "suspicious", rules=["onnx/aten-op"], absent=["onnx/python-op"])

    # Loop + If subgraphs, a model-local function and a training_info graph, all standard ops.
    def tiny_graph(name, op="Identity"):
        return helper.make_graph([helper.make_node(op, ["x_in"], ["x_out"])], name,
                                 [helper.make_tensor_value_info("x_in", TensorProto.FLOAT, [1])],
                                 [helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [1])])

    def loop_body(inner_op="Identity", inner_domain=""):
        nodes = [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                 helper.make_node(inner_op, ["v_in"], ["v_out"], domain=inner_domain)]
        return helper.make_graph(nodes, "loop_body",
                                 [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
                                  helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                                  helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
                                 [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                                  helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])])

    def control_flow_model(inner_op="Identity", inner_domain="", opsets=()):
        then_g = helper.make_graph(
            [helper.make_node("Loop", ["trip", "cond", "v"], ["v_final"], body=loop_body(inner_op, inner_domain))],
            "then_branch", [], [helper.make_tensor_value_info("v_final", TensorProto.FLOAT, [1])])
        else_g = helper.make_graph([helper.make_node("Neg", ["v"], ["v_neg"])], "else_branch", [],
                                   [helper.make_tensor_value_info("v_neg", TensorProto.FLOAT, [1])])
        graph = helper.make_graph(
            [helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)], "control_flow",
            [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
             helper.make_tensor_value_info("v", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
            initializer=[numpy_helper.from_array(np.array(3, dtype=np.int64), "trip"),
                         numpy_helper.from_array(np.array(True), "cond")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), *opsets],
                                  producer_name="modelgate-samples")
        return model

    clean_cf = control_flow_model()
    onnx.checker.check_model(clean_cf)
    save(clean_cf, "clean/if_loop_subgraphs.onnx")
    expect("onnx", "clean/if_loop_subgraphs.onnx", "clean")

    # Weights in an external file written by onnx itself: a clean directory.
    os.makedirs(out("onnx", "clean/external_data/x"), exist_ok=True)
    os.rmdir(out("onnx", "clean/external_data/x"))
    ext_model = onnx.load(out("onnx", "clean/mlp_torch.onnx"))
    onnx.save_model(ext_model, out("onnx", "clean/external_data/model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
    expect("onnx", "clean/external_data", "clean",
           absent=["onnx/external-data-missing", "onnx/external-data-traversal", "onnx/external-data-out-of-bounds"])

    # com.microsoft contrib op: a known runtime vendor domain, reported at info only.
    ms = helper.make_model(
        helper.make_graph([helper.make_node("FusedMatMul", ["a", "b"], ["c"], domain="com.microsoft", alpha=1.0)],
                          "vendor", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 2]),
                                     helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 2])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 2])]),
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    save(ms, "clean/com_microsoft_fusedmatmul.onnx")
    expect("onnx", "clean/com_microsoft_fusedmatmul.onnx", "clean", rules=["onnx/nonstandard-domain"])

    # -- external data attacks --------------------------------------------------------------
    def external_model(location, where="initializer", extra=(), marked=True, name="w"):
        t = helper.make_tensor(name, TensorProto.FLOAT, [4], [0.0] * 4)
        t.ClearField("float_data")
        if marked:
            t.data_location = TensorProto.EXTERNAL
        if location is not None:
            e = t.external_data.add()
            e.key, e.value = "location", location
        for k, v in extra:
            e = t.external_data.add()
            e.key, e.value = k, v
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])]
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])]
        if where == "initializer":
            g = helper.make_graph([helper.make_node("Add", ["x", name], ["y"])], "g", inputs, outputs, initializer=[t])
        elif where == "constant":
            g = helper.make_graph([helper.make_node("Constant", [], [name], value=t),
                                   helper.make_node("Add", ["x", name], ["y"])], "g", inputs, outputs)
        elif where == "sparse":
            idx = numpy_helper.from_array(np.array([0], dtype=np.int64), name + "_idx")
            values = t
            values.dims[:] = [1]
            sp = helper.make_sparse_tensor(values, idx, [4])
            g = helper.make_graph([helper.make_node("Add", ["x", name], ["y"])], "g", inputs, outputs)
            g.sparse_initializer.append(sp)
        else:
            raise ValueError(where)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    save(external_model("../../../../../../etc/passwd"), "traversal_dotdot.onnx")
    expect("onnx", "traversal_dotdot.onnx", "malicious", rules=["onnx/external-data-traversal"],
           evidence={"location": "../../../../../../etc/passwd"})
    save(external_model("/etc/passwd"), "traversal_absolute.onnx")
    expect("onnx", "traversal_absolute.onnx", "malicious", rules=["onnx/external-data-traversal"])
    save(external_model("weights\\..\\..\\..\\windows\\win.ini"), "traversal_backslash.onnx")
    expect("onnx", "traversal_backslash.onnx", "malicious", rules=["onnx/external-data-traversal"])
    save(external_model("../../../../etc/shadow", where="constant"), "traversal_constant_node.onnx")
    expect("onnx", "traversal_constant_node.onnx", "malicious", rules=["onnx/external-data-traversal"])
    save(external_model("/root/.ssh/id_rsa", where="sparse"), "traversal_sparse_initializer.onnx")
    expect("onnx", "traversal_sparse_initializer.onnx", "malicious", rules=["onnx/external-data-traversal"])
    save(external_model("weights_not_shipped.bin"), "external_missing.onnx")
    expect("onnx", "external_missing.onnx", "suspicious", rules=["onnx/external-data-missing"])
    save(external_model(None), "external_no_location.onnx")
    expect("onnx", "external_no_location.onnx", "invalid", rules=["onnx/external-data-invalid"])

    # A local-looking name that is a symbolic link to a file outside the model directory.
    save(external_model("weights.bin"), "symlink_escape/model.onnx")
    os.symlink("/etc/passwd", out("onnx", "symlink_escape/weights.bin"))
    expect("onnx", "symlink_escape", "malicious", rules=["onnx/external-data-symlink", "file/symlink"])

    # offset/length past the end of the (real, 16-byte) data file.
    save(external_model("weights.bin", extra=[("offset", "4096"), ("length", "16")]), "out_of_bounds/model.onnx")
    with open(out("onnx", "out_of_bounds/weights.bin"), "wb") as f:
        f.write(np.zeros(4, dtype=np.float32).tobytes())
    expect("onnx", "out_of_bounds", "suspicious", rules=["onnx/external-data-out-of-bounds"])

    # -- custom and Python operators --------------------------------------------------------
    def single_op_model(op, domain, opset_version=1):
        g = helper.make_graph([helper.make_node(op, ["x"], ["y"], domain=domain)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        opsets = [helper.make_opsetid("", 13)]
        if domain:
            opsets.append(helper.make_opsetid(domain, opset_version))
        return helper.make_model(g, opset_imports=opsets)

    save(single_op_model("PyOp", "ai.onnx.contrib"), "pyop_contrib.onnx")
    expect("onnx", "pyop_contrib.onnx", "malicious", rules=["onnx/python-op"], evidence={"opType": "PyOp"})
    save(single_op_model("ReverseShell", "com.evil.ops"), "custom_domain.onnx")
    expect("onnx", "custom_domain.onnx", "suspicious", rules=["onnx/nonstandard-domain"],
           evidence={"domain": "com.evil.ops"})
    save(single_op_model("DefinitelyNotAnOnnxOp", ""), "unknown_op.onnx")
    expect("onnx", "unknown_op.onnx", "suspicious", rules=["onnx/unknown-op"])

    # PythonOp hidden two subgraphs deep (If → Loop body).
    save(control_flow_model("PythonOp", "prim", [helper.make_opsetid("prim", 1)]), "python_op_in_subgraph.onnx")
    expect("onnx", "python_op_in_subgraph.onnx", "malicious", rules=["onnx/python-op"],
           evidence={"opType": "PythonOp", "domain": "prim"})

    # A model-local function whose body calls a custom-domain op.
    fn = helper.make_function("local.fns", "Wrapper", ["a"], ["b"],
                              [helper.make_node("Exfiltrate", ["a"], ["b"], domain="com.evil.ops")],
                              [helper.make_opsetid("", 13), helper.make_opsetid("com.evil.ops", 1)])
    fmodel = helper.make_model(
        helper.make_graph([helper.make_node("Wrapper", ["x"], ["y"], domain="local.fns")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]),
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("local.fns", 1)], functions=[fn])
    save(fmodel, "custom_op_in_function.onnx")
    expect("onnx", "custom_op_in_function.onnx", "suspicious", rules=["onnx/nonstandard-domain"],
           evidence={"opType": "Exfiltrate"})

    # A custom op in a training_info algorithm graph.
    tmodel = helper.make_model(tiny_graph("main"), opset_imports=[helper.make_opsetid("", 13)])
    ti = tmodel.training_info.add()
    ti.algorithm.CopyFrom(tiny_graph("algorithm"))
    ti.algorithm.node[0].op_type = "PyOp"
    ti.algorithm.node[0].domain = "ai.onnx.contrib"
    save(tmodel, "python_op_in_training_info.onnx")
    expect("onnx", "python_op_in_training_info.onnx", "malicious", rules=["onnx/python-op"])

    # -- malformed and budget cases -----------------------------------------------------------
    data = open(out("onnx", "clean/mlp_torch.onnx"), "rb").read()
    with open(out("onnx", "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    expect("onnx", "truncated.onnx", "invalid", rules=["onnx/malformed"])

    g = tiny_graph("leaf")
    for i in range(40):
        g = helper.make_graph([helper.make_node("If", ["c"], ["x_out"], then_branch=g, else_branch=tiny_graph("e"))],
                              f"level{i}", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [1])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "nested_40_deep.onnx")
    expect("onnx", "nested_40_deep.onnx", "invalid", rules=["scan/budget-exceeded"])

# --------------------------------------------------------------------------------------------
# Keras
# --------------------------------------------------------------------------------------------


def func_dump(fn):
    """What keras.src.utils.python_utils.func_dump stores: base64 (76-column lines) of marshal."""
    return codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")


def k3(module, cls, config, registered=None, **extra):
    obj = {"module": module, "class_name": cls, "config": config, "registered_name": registered}
    obj.update(extra)
    return obj


DTYPE = k3("keras", "DTypePolicy", {"name": "float32"})


def k3_dense(name, units, activation="relu"):
    return k3("keras.layers", "Dense", {
        "name": name, "trainable": True, "dtype": DTYPE, "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": k3("keras.initializers", "GlorotUniform", {"seed": None}),
        "bias_initializer": k3("keras.initializers", "Zeros", {}),
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    }, build_config={"input_shape": [None, 4]})


def k3_model(layers):
    return k3("keras", "Sequential", {
        "name": "sequential", "trainable": True, "dtype": DTYPE,
        "layers": [k3("keras.layers", "InputLayer",
                      {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"})] + layers,
        "build_input_shape": [None, 4]},
        build_config={"input_shape": [None, 4]},
        compile_config={"optimizer": k3("keras.optimizers", "Adam", {"name": "adam", "learning_rate": 0.001}),
                        "loss": "mean_squared_error", "metrics": None, "loss_weights": None})


def weights_h5():
    import h5py
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for name, shape in [("dense", (4, 8)), ("dense_1", (8, 2))]:
            g = f.create_group(f"layers/{name}/vars")
            g.create_dataset("0", data=np.random.default_rng(0).standard_normal(shape).astype("float32"))
            g.create_dataset("1", data=np.zeros(shape[1], dtype="float32"))
        f.create_group("optimizer/vars")
    return buf.getvalue()


def write_keras(rel, config, extra_members=()):
    """A Keras v3 archive: metadata.json, config.json, model.weights.h5 (+ hostile extras)."""
    path = out("keras", rel)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2024-10-03@12:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights_h5())
        for name, data in extra_members:
            z.writestr(name, data)


def k2_dense(name, units):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": "relu", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def k2_model(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "dense_input"}}] + layers}}


def k2_lambda(fn, name="lambda"):
    return {"class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": "float32", "function": [func_dump(fn), None, None],
        "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
        "output_shape_module": None, "arguments": {}}}


def write_h5(rel, model_config, training_config=None, as_bytes=True, libver="earliest"):
    """A legacy tf.keras HDF5 model, as keras.src.legacy.saving.legacy_h5_format writes it."""
    import h5py
    with h5py.File(out("keras", rel), "w", libver=libver) as f:
        text = json.dumps(model_config)
        f.attrs["model_config"] = text.encode("utf8") if as_bytes else text
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
        for name, shape in [("dense", (4, 8)), ("dense_1", (8, 2))]:
            lg = g.create_group(f"{name}/{name}")
            lg.create_dataset("kernel:0", data=np.zeros(shape, dtype="float32"))
            lg.create_dataset("bias:0", data=np.zeros(shape[1], dtype="float32"))


def expect_keras_zip(rel, verdict, rules=(), evidence=None):
    """A .keras archive: checked through the whole engine (zip container, then the Keras analyzers)."""
    expect("keras", rel, verdict, rules=rules, evidence=evidence)


def keras_samples():
    import torch
    reset("keras")

    # -- clean ---------------------------------------------------------------------------------
    write_keras("clean/sequential.keras", k3_model([k3_dense("dense", 8), k3_dense("dense_1", 2, "linear")]))
    expect_keras_zip("clean/sequential.keras", "clean")
    write_h5("clean/sequential_legacy.h5", k2_model([k2_dense("dense", 8), k2_dense("dense_1", 2)]),
             {"loss": "mse", "metrics": None, "optimizer_config": {"class_name": "Adam",
                                                                   "config": {"name": "Adam", "learning_rate": 0.001}}})
    expect("keras", "clean/sequential_legacy.h5", "clean", absent=["keras/custom-object", "keras/malformed"])
    write_h5("clean/sequential_legacy_vlen_v3.h5", k2_model([k2_dense("dense", 8)]), as_bytes=False, libver="latest")
    expect("keras", "clean/sequential_legacy_vlen_v3.h5", "clean")
    with open(out("keras", "clean/model.weights.h5"), "wb") as f:
        f.write(weights_h5())
    expect("keras", "clean/model.weights.h5", "clean")

    # -- Lambda layers with real Python 3.11 bytecode ------------------------------------------
    evil = lambda x: __import__("os").system("id") or x  # noqa: E731
    double = lambda x: x * 2  # noqa: E731
    write_h5("lambda_os_system.h5", k2_model([k2_dense("dense", 8), k2_lambda(evil)]))
    expect("keras", "lambda_os_system.h5", "malicious", rules=["keras/lambda-layer"],
           evidence={"dangerous": "__import__,os,system", "pythonVersion": "3.11/3.12"})
    write_h5("lambda_benign.h5", k2_model([k2_lambda(double)]))
    expect("keras", "lambda_benign.h5", "malicious", rules=["keras/lambda-layer"], evidence={"dangerous": ""})
    lam3 = k3("keras.layers", "Lambda", {"name": "lambda", "trainable": True, "dtype": DTYPE, "arguments": {},
                                         "function": {"class_name": "__lambda__", "config": {
                                             "code": func_dump(evil), "defaults": None, "closure": None}}})
    write_keras("lambda_os_system.keras", k3_model([k3_dense("dense", 8), lam3]))
    expect_keras_zip("lambda_os_system.keras", "malicious", ["keras/lambda-layer"])

    # -- deserialization gadgets in config.json (Keras 3) -----------------------------------------
    exec_act = k3_dense("dense", 8)
    exec_act["config"]["activation"] = k3("builtins", "function", "exec", "exec")
    write_keras("foreign_module_exec.keras", k3_model([exec_act]))
    expect_keras_zip("foreign_module_exec.keras", "malicious", ["keras/foreign-module"])
    gf = k3_dense("dense", 8)
    gf["config"]["kernel_initializer"] = k3("keras.utils", "function", "get_file", "get_file")
    write_keras("get_file.keras", k3_model([gf]))
    expect_keras_zip("get_file.keras", "malicious", ["keras/get-file"])
    unsafe = k3_dense("dense", 8)
    unsafe["config"]["bias_initializer"] = k3("keras.config", "function", "enable_unsafe_deserialization",
                                              "enable_unsafe_deserialization")
    write_keras("safe_mode_bypass.keras", k3_model([unsafe, lam3]))
    expect_keras_zip("safe_mode_bypass.keras", "malicious", ["keras/safe-mode-bypass", "keras/lambda-layer"])
    vocab = k3("keras.layers", "StringLookup", {"name": "lookup", "vocabulary": "/etc/passwd", "num_oov_indices": 1,
                                                 "mask_token": None, "oov_token": "[UNK]"})
    write_keras("vocabulary_file.keras", k3_model([vocab]))
    expect_keras_zip("vocabulary_file.keras", "malicious", ["keras/vocabulary-file"])
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), buf)
    tmw = k3("keras.layers", "TorchModuleWrapper", {"name": "torch_module_wrapper", "trainable": True,
                                                     "module": base64.b64encode(buf.getvalue()).decode("ascii")})
    write_keras("torch_module_wrapper.keras", k3_model([tmw]))
    expect_keras_zip("torch_module_wrapper.keras", "malicious", ["keras/torch-module-wrapper"])
    write_keras("python_member.keras", k3_model([k3_dense("dense", 8)]),
                extra_members=[("assets/run_me.py", "import os\nos.system('echo pwned')\n")])
    expect_keras_zip("python_member.keras", "malicious", ["keras/unexpected-member"])

    # -- legacy h5 gadgets -----------------------------------------------------------------------
    tfop = {"class_name": "TFOpLambda", "config": {"name": "tf.io.write_file", "trainable": True, "dtype": "float32",
                                                    "function": "io.write_file"}}
    write_h5("tfoplambda_write_file.h5", k2_model([k2_dense("dense", 8), tfop]))
    expect("keras", "tfoplambda_write_file.h5", "malicious", rules=["keras/tfoplambda"],
           evidence={"function": "io.write_file"})
    tfop_ok = {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "trainable": True, "dtype": "float32",
                                                       "function": "math.add"}}
    write_h5("tfoplambda_math.h5", k2_model([k2_dense("dense", 8), tfop_ok]))
    expect("keras", "tfoplambda_math.h5", "suspicious", rules=["keras/tfoplambda"])
    custom = {"class_name": "MyAttentionBlock", "config": {"name": "block", "units": 4}}
    write_h5("custom_layer.h5", k2_model([custom]))
    expect("keras", "custom_layer.h5", "suspicious", rules=["keras/custom-object"])
    write_h5("training_config_module.h5", k2_model([k2_dense("dense", 8)]),
             {"loss": {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"}})
    expect("keras", "training_config_module.h5", "malicious", rules=["keras/foreign-module"])
    import h5py
    with h5py.File(out("keras", "model_config_not_json.h5"), "w") as f:
        f.attrs["model_config"] = b'{"class_name": "Sequential", "config": {'
    expect("keras", "model_config_not_json.h5", "invalid", rules=["keras/malformed"])
    data = open(out("keras", "clean/sequential_legacy.h5"), "rb").read()
    with open(out("keras", "truncated.h5"), "wb") as f:
        f.write(data[:600])
    expect("keras", "truncated.h5", "invalid", rules=["keras/malformed"])
    with h5py.File(out("keras", "dense_attributes.h5"), "w", libver="latest") as f:
        for i in range(12):
            f.attrs[f"attr_{i}"] = np.arange(3)
        f.attrs["model_config"] = json.dumps(k2_model([k2_lambda(evil)]))
    expect("keras", "dense_attributes.h5", "invalid", rules=["format/unsupported"])


# --------------------------------------------------------------------------------------------
# TensorFlow SavedModel (protobuf written by hand to TensorFlow's field numbers)
# --------------------------------------------------------------------------------------------


def pb_varint(n):
    n &= (1 << 64) - 1
    b = bytearray()
    while True:
        c = n & 0x7F
        n >>= 7
        if n:
            b.append(c | 0x80)
        else:
            b.append(c)
            return bytes(b)


def pb_key(field, wire):
    return pb_varint((field << 3) | wire)


def pb_len(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return pb_key(field, 2) + pb_varint(len(payload)) + payload


def pb_int(field, value):
    return pb_key(field, 0) + pb_varint(value)


def tf_attr(key, value):
    """A map<string, AttrValue> entry; value is the encoded AttrValue."""
    return pb_len(1, key) + pb_len(2, value)


def attr_s(s):
    return pb_len(2, s)


def attr_type(t):
    return pb_int(6, t)


def attr_func(name):
    return pb_len(10, pb_len(1, name))


def attr_tensor(dtype, content):
    # TensorProto: dtype=1, tensor_shape=2 (dim=2 {size=1}), tensor_content=4
    shape = pb_len(2, pb_int(1, len(content) // 4))
    return pb_len(8, pb_int(1, dtype) + pb_len(2, shape) + pb_len(4, content))


def node(name, op, inputs=(), attrs=()):
    body = pb_len(1, name) + pb_len(2, op)
    for i in inputs:
        body += pb_len(3, i)
    for k, v in attrs:
        body += pb_len(5, tf_attr(k, v))
    return body


def function(name, nodes):
    body = pb_len(1, pb_len(1, name))  # signature: OpDef.name
    for n in nodes:
        body += pb_len(3, n)
    return body


def saved_model(nodes, functions=(), assets=(), saver=True, tags=("serve",)):
    graph = b"".join(pb_len(1, n) for n in nodes)
    if functions:
        graph += pb_len(2, b"".join(pb_len(1, f) for f in functions))
    graph += pb_len(4, pb_int(1, 1087) + pb_int(2, 0))  # versions
    meta_info = pb_len(1, "") + b"".join(pb_len(4, t) for t in tags) + pb_len(5, "2.15.0") + pb_len(6, "v2.15.0")
    meta = pb_len(1, meta_info) + pb_len(2, graph)
    if saver:
        meta += pb_len(3, pb_len(1, "save/Const:0") + pb_len(2, "save/Identity:0") + pb_len(3, "save/restore_all"))
    for fname in assets:
        meta += pb_len(6, pb_len(1, pb_len(1, "asset_path_initializer:0")) + pb_len(2, fname))
    return pb_int(1, 1) + pb_len(2, meta)


DT_FLOAT, DT_STRING = 1, 7


def clean_graph_nodes():
    return [
        node("x", "Placeholder", attrs=[("dtype", attr_type(DT_FLOAT))]),
        node("w", "Const", attrs=[("dtype", attr_type(DT_FLOAT)),
                                  ("value", attr_tensor(DT_FLOAT, np.ones(64, dtype="<f4").tobytes()))]),
        node("mm", "MatMul", ["x", "w"], [("T", attr_type(DT_FLOAT))]),
        node("b", "VarHandleOp", attrs=[("dtype", attr_type(DT_FLOAT)), ("shared_name", attr_s("b"))]),
        node("b/read", "ReadVariableOp", ["b"], [("dtype", attr_type(DT_FLOAT))]),
        node("y", "AddV2", ["mm", "b/read"], [("T", attr_type(DT_FLOAT))]),
        node("call", "StatefulPartitionedCall", ["y"], [("f", attr_func("__inference_call_42"))]),
        node("save/Const", "Const", attrs=[("dtype", attr_type(DT_STRING))]),
        node("save/SaveV2", "SaveV2", ["save/Const"]),
        node("save/RestoreV2", "RestoreV2", ["save/Const"]),
        node("save/restore_all", "NoOp"),
    ]


def clean_functions():
    return [
        function("__inference_call_42", [node("relu", "Relu", ["x"]), node("out", "Identity", ["relu"])]),
        function("__inference__traced_save_77", [node("sharded", "ShardedFilename"),
                                                 node("save", "SaveV2", ["sharded"]),
                                                 node("merge", "MergeV2Checkpoints", ["sharded"])]),
        function("__inference__traced_restore_88", [node("restore", "RestoreV2")]),
    ]


def keras_metadata(objects):
    body = b""
    for node_id, path, ident, meta in objects:
        body += pb_len(1, pb_int(2, node_id) + pb_len(3, path) + pb_len(4, ident) + pb_len(5, json.dumps(meta))
                       + pb_len(6, pb_int(1, 2) + pb_int(2, 1)))
    return body


def savedmodel_samples():
    reset("savedmodel")

    def write(rel, data):
        with open(out("savedmodel", rel), "wb") as f:
            f.write(data)

    write("clean/saved_model.pb", saved_model(clean_graph_nodes(), clean_functions(), assets=["vocab.txt"]))
    dense_meta = {"name": "dense", "trainable": True, "expects_training_arg": False, "dtype": "float32",
                  "batch_input_shape": None, "stateful": False, "must_restore_from_config": False,
                  "class_name": "Dense", "config": k2_dense("dense", 8)["config"]}
    seq_meta = {"name": "sequential", "class_name": "Sequential", "config": k2_model([k2_dense("dense", 8)])["config"]}
    write("clean/keras_metadata.pb", keras_metadata([(0, "root", "_tf_keras_sequential", seq_meta),
                                                     (1, "root.layer_with_weights-0", "_tf_keras_layer", dense_meta)]))
    os.makedirs(out("savedmodel", "clean/assets/x"), exist_ok=True)
    os.rmdir(out("savedmodel", "clean/assets/x"))
    write("clean/assets/vocab.txt", b"the\nof\nand\n")
    expect("savedmodel", "clean", "clean", absent=["savedmodel/unknown-op", "savedmodel/checkpoint-op"])

    write("py_func/saved_model.pb", saved_model(clean_graph_nodes() + [
        node("py", "PyFunc", ["x"], [("token", attr_s("pyfunc_0")), ("Tin", attr_type(DT_FLOAT))])]))
    expect("savedmodel", "py_func/saved_model.pb", "malicious", rules=["savedmodel/py-func"],
           evidence={"op": "PyFunc"})
    write("eager_py_func_in_function/saved_model.pb", saved_model(
        clean_graph_nodes(), clean_functions() + [function("__inference_evil_7", [
            node("p", "EagerPyFunc", attrs=[("token", attr_s("pyfunc_1"))])])]))
    expect("savedmodel", "eager_py_func_in_function/saved_model.pb", "malicious", rules=["savedmodel/py-func"],
           evidence={"function": "__inference_evil_7"})
    write("read_write_file/saved_model.pb", saved_model(clean_graph_nodes(), clean_functions() + [
        function("__inference_serve_9", [node("path", "Const"), node("secret", "ReadFile", ["path"]),
                                          node("drop", "WriteFile", ["path", "secret"])])]))
    expect("savedmodel", "read_write_file/saved_model.pb", "malicious", rules=["savedmodel/file-io-op"],
           evidence={"op": "ReadFile"})
    write("print_to_file/saved_model.pb", saved_model(clean_graph_nodes() + [
        node("log", "PrintV2", ["x"], [("output_stream", attr_s("file:///tmp/modelgate-sample.log"))])]))
    expect("savedmodel", "print_to_file/saved_model.pb", "malicious", rules=["savedmodel/file-io-op"])
    write("restore_outside_saver/saved_model.pb", saved_model(clean_graph_nodes() + [
        node("grab/RestoreV2", "RestoreV2", ["x"])]))
    expect("savedmodel", "restore_outside_saver/saved_model.pb", "suspicious", rules=["savedmodel/checkpoint-op"])
    write("custom_op/saved_model.pb", saved_model(clean_graph_nodes() + [node("k", "ZeroOutCustomKernel", ["x"])]))
    expect("savedmodel", "custom_op/saved_model.pb", "suspicious", rules=["savedmodel/unknown-op"],
           evidence={"op": "ZeroOutCustomKernel"})
    write("asset_traversal/saved_model.pb", saved_model(clean_graph_nodes(), assets=["../../../../etc/passwd"]))
    expect("savedmodel", "asset_traversal/saved_model.pb", "malicious", rules=["savedmodel/asset-path-traversal"])
    evil = lambda x: __import__("os").system("id") or x  # noqa: E731
    lam_meta = {"name": "lambda", "trainable": True, "expects_training_arg": False, "dtype": "float32",
                "class_name": "Lambda", "config": k2_lambda(evil)["config"]}
    write("keras_lambda/keras_metadata.pb", keras_metadata([(0, "root", "_tf_keras_sequential", seq_meta),
                                                            (1, "root.layer-1", "_tf_keras_layer", lam_meta)]))
    expect("savedmodel", "keras_lambda/keras_metadata.pb", "malicious", rules=["keras/lambda-layer"])
    data = saved_model(clean_graph_nodes(), clean_functions())
    write("truncated/saved_model.pb", data[: len(data) - 40])
    expect("savedmodel", "truncated/saved_model.pb", "invalid", rules=["savedmodel/malformed"])


def main():
    areas = sys.argv[1:] or ["onnx", "keras", "savedmodel"]
    if "onnx" in areas:
        onnx_samples()
    if "keras" in areas:
        keras_samples()
    if "savedmodel" in areas:
        savedmodel_samples()
    for area, entries in EXPECTED.items():
        with open(os.path.join(ROOT, area, "expected.json"), "w") as f:
            json.dump(entries, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
