#!/usr/bin/python3
"""Writes samples/keras-functions/: Keras models whose configs name Keras or TensorFlow functions and
classes that do more than compute, which once scanned `clean` because their module sat under the
keras/tensorflow roots:

- tfsm-layer.keras, tfsm-src-module.keras, tfsm-layer.h5: a TFSMLayer (keras.layers / the
  keras.src.export.tfsm_layer module with registered_name / a legacy .h5 class name) that loads the
  SavedModel at an attacker's path or URL, even in safe mode (CVE-2026-1462).
- tfsm-lambda-function.keras: a Lambda whose function is {"module": "keras.layers", "class_name":
  "function", "config": "TFSMLayer"}, called on a path given in its inbound node.
- set-global-attribute.keras: a Lambda calling keras.src.backend.common.global_state
  .set_global_attribute("safe_mode_saving", False) (CVE-2025-9906, first step).
- tf-io-write-file.keras, tf-gfile-rmtree.keras, gen-io-ops-writefile.keras, gfile-class.keras,
  lambda-fn-module.h5: tensorflow.io.write_file, tensorflow.io.gfile.rmtree, the
  gen_io_ops.WriteFile and platform.gfile.GFile classes (CVE-2025-1550 class).
- func-load.keras: keras.src.utils.python_utils.func_load (unmarshals code, no safe-mode check).
- file-utils-argument.keras: a benign keras.ops function whose `arguments` hold
  keras.src.utils.file_utils.rmtree.
- keras2-lambda-function-name.h5: a Keras 2 Lambda with function_type "function" naming write_file
  in module tensorflow.io.
- tfoplambda-raw-ops.h5: a TFOpLambda calling raw_ops.Save (writes tensors to a file).
- unlisted-keras-function.keras, unlisted-tf-class.keras: a function and a class under the
  keras/tensorflow roots outside the namespaces known to compute on tensors (medium).
- benign-functions.keras: functions from activations, losses, metrics, ops, tensorflow math_ops and
  applications preprocess_input, as Keras serializes them (must stay clean).

Keras and TensorFlow are not installed here: the configs follow Keras's public serialization format
({"module", "class_name", "config", "registered_name"}, class_name "function" for functions, legacy
.h5 `model_config` attributes) and are written with json, zipfile and h5py. Nothing is executed.
Run from the repository root with /usr/bin/python3.
"""
import io
import json
import os
import shutil
import zipfile

import h5py
import numpy as np

OUT = os.path.join("samples", "keras-functions")
expected = {}


def k3(module, cls, config, registered=None, **extra):
    obj = {"module": module, "class_name": cls, "config": config, "registered_name": registered}
    obj.update(extra)
    return obj


def fn(module, name):
    """A function as Keras 3 serializes it (serialize_with_public_fn / a module-level function)."""
    return k3(module, "function", name, name)


def model(layers, loss="mean_squared_error"):
    inp = k3("keras.layers", "InputLayer", {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"})
    return k3("keras", "Sequential", {"name": "sequential", "trainable": True, "dtype": "float32",
                                      "layers": [inp] + layers},
              build_config={"input_shape": [None, 4]},
              compile_config={"optimizer": k3("keras.optimizers", "Adam", {"name": "adam", "learning_rate": 0.001}),
                              "loss": loss, "metrics": None, "loss_weights": None})


def lam(name, function, arguments=None, inputs=None):
    layer = k3("keras.layers", "Lambda", {"name": name, "trainable": True, "dtype": "float32", "function": function,
                                          "arguments": arguments or {}},
               build_config={"input_shape": [None, 4]}, name=name)
    if inputs is not None:
        layer["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": inputs}}]
    return layer


def weights():
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("layers")
        f.create_group("optimizer/vars")
    return buf.getvalue()


def keras(rel, config, verdict, rules=(), absent=()):
    with zipfile.ZipFile(os.path.join(OUT, rel), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0", "date_saved": "2025-02-01@12:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights())
    expect(rel, verdict, rules, absent)


def h5(rel, config, verdict, rules=(), absent=()):
    with h5py.File(os.path.join(OUT, rel), "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense"])
        g.create_dataset("dense/dense/kernel:0", data=np.zeros((4, 2), dtype="float32"))
    expect(rel, verdict, rules, absent)


def expect(rel, verdict, rules, absent):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"keras-functions/{rel}"] = entry


def k2_model(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                "name": "input"}}] + layers}}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tfsm = {"name": "tfsm", "filepath": "/tmp/attacker_savedmodel", "call_endpoint": "serve"}
    keras("tfsm-layer.keras", model([k3("keras.layers", "TFSMLayer", tfsm)]), "malicious",
          ["keras/external-savedmodel"])
    keras("tfsm-src-module.keras",
          model([k3("keras.src.export.tfsm_layer", "TFSMLayer", {**tfsm, "filepath": "gs://bucket/attacker"},
                    "TFSMLayer")]), "malicious", ["keras/external-savedmodel"])
    keras("tfsm-lambda-function.keras",
          model([lam("tfsm", fn("keras.layers", "TFSMLayer"), {"call_endpoint": "serve"},
                     "/tmp/attacker_savedmodel")]), "malicious", ["keras/external-savedmodel"])
    h5("tfsm-layer.h5", k2_model([{"class_name": "TFSMLayer", "config": tfsm}]), "malicious",
       ["keras/external-savedmodel"])
    keras("set-global-attribute.keras",
          model([lam("unsafe", fn("keras.src.backend.common.global_state", "set_global_attribute"),
                     {"value": False}, "safe_mode_saving")]), "malicious", ["keras/safe-mode-bypass"])
    keras("tf-io-write-file.keras",
          model([lam("w", fn("tensorflow.io", "write_file"), {"contents": "x"}, "/tmp/modelgate-sample")]),
          "malicious", ["keras/dangerous-function"])
    keras("tf-gfile-rmtree.keras",
          model([lam("rm", fn("tensorflow.io.gfile", "rmtree"), {}, "/tmp/modelgate-sample")]),
          "malicious", ["keras/dangerous-function"])
    keras("gen-io-ops-writefile.keras",
          model([k3("tensorflow.python.ops.gen_io_ops", "WriteFile",
                    {"filename": "/tmp/modelgate-sample", "contents": "x"})]),
          "malicious", ["keras/dangerous-function"])
    keras("gfile-class.keras",
          model([k3("tensorflow.python.platform.gfile", "GFile", {"name": "/tmp/modelgate-sample", "mode": "w"})]),
          "malicious", ["keras/dangerous-function"])
    h5("lambda-fn-module.h5",
       k2_model([{"class_name": "Lambda", "config": {"name": "w", "function": fn("tensorflow.io", "write_file"),
                                                     "arguments": {"contents": "x"}}}]),
       "malicious", ["keras/dangerous-function"])
    keras("func-load.keras",
          model([lam("fl", fn("keras.src.utils.python_utils", "func_load"), {}, "base64-marshal-code")]),
          "malicious", ["keras/dangerous-function"])
    keras("file-utils-argument.keras",
          model([lam("add", fn("keras.ops", "add"), {"y": fn("keras.src.utils.file_utils", "rmtree")})]),
          "malicious", ["keras/dangerous-function"])
    h5("keras2-lambda-function-name.h5",
       k2_model([{"class_name": "Lambda", "config": {
           "name": "w", "function": "write_file", "function_type": "function", "module": "tensorflow.io",
           "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
           "arguments": {"contents": "x"}}}]),
       "malicious", ["keras/dangerous-function", "keras/lambda-layer"])
    h5("tfoplambda-raw-ops.h5",
       k2_model([{"class_name": "TFOpLambda", "config": {"name": "tf.raw_ops.Save", "trainable": True,
                                                         "dtype": "float32", "function": "raw_ops.Save"}}]),
       "malicious", ["keras/tfoplambda"])
    keras("unlisted-keras-function.keras",
          model([k3("keras.layers", "Activation", {"name": "a", "activation": fn("keras.backend", "clear_session")})]),
          "suspicious", ["keras/unlisted-object"])
    keras("unlisted-tf-class.keras",
          model([k3("tensorflow.data", "TFRecordDataset", {"filenames": ["/tmp/records"]})]),
          "suspicious", ["keras/unlisted-object"])
    keras("benign-functions.keras", model([
        k3("keras.layers", "Dense", {"name": "d", "units": 2, "activation": fn("keras.activations", "gelu")}),
        lam("pre", fn("keras.applications.mobilenet_v2", "preprocess_input")),
        lam("mean", fn("tensorflow.python.ops.math_ops", "reduce_mean"), {"axis": -1}),
        lam("relu6", fn("keras.src.backend.tensorflow.nn", "relu6")),
        lam("sq", fn("keras.ops.numpy", "square")),
    ], loss=fn("keras.losses", "mean_squared_error")), "clean",
        absent=["keras/unlisted-object", "keras/dangerous-function", "keras/custom-object"])
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
