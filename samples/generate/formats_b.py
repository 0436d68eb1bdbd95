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


def main():
    areas = sys.argv[1:] or ["onnx"]
    if "onnx" in areas:
        onnx_samples()
    for area, entries in EXPECTED.items():
        with open(os.path.join(ROOT, area, "expected.json"), "w") as f:
            json.dump(entries, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
