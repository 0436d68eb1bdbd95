#!/usr/bin/python3
"""Writes samples/keras-tuple/: Keras configs whose Lambda code hides behind a value encoding.

tf-keras (Keras 2) writes tuples in configs as {"class_name": "__tuple__", "items": [...]}
(keras/saving/legacy/saved_model/json_utils.py, Encoder) and reads every legacy config through
json_utils.decode, whose object hook turns them back into tuples (inner objects first) and
{"class_name": "__ellipsis__"} into Ellipsis: the model_config of an .h5 (hdf5_format.
load_model_from_hdf5), model_from_json, and the layer metadata of a SavedModel's keras_metadata.pb.
A Lambda whose `function` is such a tuple of [base64 marshal code, None, None] is the triple
Lambda._parse_function_from_config hands to generic_utils.func_load, which unmarshals it; the
function runs when the model is rebuilt (the layer is called on the symbolic inputs).
Keras 3 writes a lambda as {"class_name": "__lambda__", "config": {"value": <func_dump>}} and
deserialize_keras_object runs python_utils.func_load(config["value"]), a code string or a list.

- lambda_tuple.h5: a legacy .h5 whose model_config Lambda function is a __tuple__ (malicious).
- lambda_tuple_model.json: the same config as a stand-alone model.json (malicious).
- lambda_ellipsis_tuple.h5: the function tuple nested in another __tuple__ next to an __ellipsis__
  argument: the load fails to unpack it, but the code is there (never clean).
- savedmodel_lambda_tuple/keras_metadata.pb: SavedModel layer metadata with the same Lambda.
- savedmodel_benign_conv/keras_metadata.pb: what tf-keras writes for a small Conv2D model
  (kernel sizes, strides, shapes as __tuple__, TensorShape, TypeSpec, InputSpec): must stay clean.
- lambda_value.keras: a Keras 3 archive whose Dense activation is a __lambda__ with a plain code
  string under "value" (malicious).

Keras and TensorFlow are not installed here: the files follow tf-keras's public json_utils
encoding and Keras 3's serialization_lib layout; HDF5 files are written with h5py, JSON with json,
and the marshal payloads with this interpreter's marshal.dumps (Python 3.11), as func_dump does.
Before writing, each hostile config is decoded as json_utils.decode does (a re-implementation of
its object hook below) and its code is unmarshalled as func_load does, never called: the payload
would only echo. Deterministic (fixed zip dates, no randomness). Writes expected.json next to the
samples. Run from anywhere with /usr/bin/python3.
"""

import codecs
import json
import marshal
import os
import types
import zipfile

import h5py
import numpy as np

from formats_b import func_dump, k3_dense, k3_model, keras_metadata  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
AREA = "keras-tuple"
OUT = os.path.join(ROOT, AREA)
WEIGHTS = os.path.join(ROOT, "keras", "clean", "model.weights.h5")
EXPECTED = {}

evil = lambda x: __import__("os").system("echo modelgate-keras-tuple-sample") or x  # noqa: E731
CODE = func_dump(evil)


def tup(*items):
    """json_utils.Encoder's spelling of a tuple."""
    return {"class_name": "__tuple__", "items": list(items)}


def decode_hook(obj):
    """The part of tf-keras json_utils._decode_helper that matters here (tuples, Ellipsis)."""
    if isinstance(obj, dict) and obj.get("class_name") == "__tuple__":
        return tuple(obj["items"])
    if isinstance(obj, dict) and obj.get("class_name") == "__ellipsis__":
        return Ellipsis
    return obj


def func_load_code(value):
    """generic_utils.func_load up to marshal.loads: the code object it would wrap (not called)."""
    code, _defaults, _closure = value
    return marshal.loads(codecs.decode(code.encode("ascii"), "base64"))


def expect(rel, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED[f"{AREA}/{rel}"] = entry


def lambda_layer(function):
    return {"class_name": "Lambda", "name": "lambda", "inbound_nodes": [[["input_1", 0, 0, {}]]], "config": {
        "name": "lambda", "trainable": True, "dtype": "float32", "function": function, "function_type": "lambda",
        "module": "__main__", "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
        "arguments": {}}}


def functional(lam):
    return {"class_name": "Functional", "keras_version": "2.15.0", "backend": "tensorflow", "config": {
        "name": "model", "layers": [
            {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
             "config": {"batch_input_shape": tup(None, 32), "dtype": "float32", "sparse": False, "ragged": False,
                        "name": "input_1"}},
            lam],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["lambda", 0, 0]]}}


def loader_reaches_code(config):
    """Decodes the config as json_utils.decode does and checks func_load would unmarshal code."""
    decoded = json.loads(json.dumps(config), object_hook=decode_hook)
    fn = decoded["config"]["layers"][1]["config"]["function"]
    assert isinstance(fn, tuple), "json_utils.decode leaves the function a tuple"
    assert isinstance(func_load_code(fn), types.CodeType)


def write_h5(rel, config):
    """A legacy tf-keras .h5 (hdf5_format.save_model_to_hdf5 layout) with an empty weights group."""
    with h5py.File(os.path.join(OUT, rel), "w", libver="earliest") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        weights = f.create_group("model_weights")
        weights.attrs["backend"] = b"tensorflow"
        weights.attrs["keras_version"] = b"2.15.0"
        weights.attrs["layer_names"] = np.array([b"input_1", b"lambda"])
        for name in ("input_1", "lambda"):
            weights.create_group(name).attrs["weight_names"] = np.array([], dtype="S1")


def conv_metadata():
    """keras_metadata.pb nodes tf-keras writes for Sequential([Conv2D(32, 3), MaxPooling2D()])."""
    shape = {"class_name": "TensorShape", "items": [None, 32, 32, 3]}
    spec = {"class_name": "TypeSpec", "type_spec": "tf.TensorSpec",
            "serialized": [{"class_name": "TensorShape", "items": [None, 32, 32, 3]}, "float32", "conv2d_input"]}
    conv_config = {
        "name": "conv2d", "trainable": True, "dtype": "float32", "batch_input_shape": tup(None, 32, 32, 3),
        "filters": 32, "kernel_size": tup(3, 3), "strides": tup(1, 1), "padding": "valid",
        "data_format": "channels_last", "dilation_rate": tup(1, 1), "groups": 1, "activation": "relu",
        "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    pool_config = {"name": "max_pooling2d", "trainable": True, "dtype": "float32", "pool_size": tup(2, 2),
                   "padding": "valid", "strides": tup(2, 2), "data_format": "channels_last"}
    input_spec = {"class_name": "InputSpec", "config": {"dtype": None, "shape": None, "ndim": None, "max_ndim": None,
                                                        "min_ndim": 4, "axes": {"-1": 3}}}
    root = {"name": "sequential", "trainable": True, "expects_training_arg": True, "dtype": "float32",
            "batch_input_shape": None, "must_restore_from_config": False, "preserve_input_structure_in_config": False,
            "autocast": False, "class_name": "Sequential", "config": {"name": "sequential", "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": tup(None, 32, 32, 3), "dtype": "float32",
                                                        "sparse": False, "ragged": False, "name": "conv2d_input"}},
                {"class_name": "Conv2D", "config": conv_config},
                {"class_name": "MaxPooling2D", "config": pool_config}]},
            "shared_object_id": 3, "input_spec": [input_spec], "build_input_shape": shape, "is_graph_network": True,
            "full_save_spec": tup([spec], {}), "save_spec": spec, "keras_version": "2.15.0", "backend": "tensorflow",
            "model_config": {"class_name": "Sequential", "config": {"name": "sequential", "layers": []}}}
    conv = {"name": "conv2d", "trainable": True, "expects_training_arg": False, "dtype": "float32",
            "batch_input_shape": tup(None, 32, 32, 3), "stateful": False, "must_restore_from_config": False,
            "preserve_input_structure_in_config": False, "autocast": True, "class_name": "Conv2D",
            "config": conv_config, "shared_object_id": 1, "input_spec": input_spec, "build_input_shape": shape}
    pool = {"name": "max_pooling2d", "trainable": True, "expects_training_arg": False, "dtype": "float32",
            "batch_input_shape": None, "stateful": False, "must_restore_from_config": False,
            "preserve_input_structure_in_config": False, "autocast": True, "class_name": "MaxPooling2D",
            "config": pool_config, "shared_object_id": 2,
            "input_spec": {"class_name": "InputSpec", "config": {"dtype": None, "shape": None, "ndim": 4,
                                                                 "max_ndim": None, "min_ndim": None, "axes": {}}}}
    return [(0, "root", "_tf_keras_sequential", root),
            (1, "root.layer_with_weights-0", "_tf_keras_layer", conv),
            (2, "root.layer-1", "_tf_keras_layer", pool)]


def zinfo(name):
    info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    return info


def write_keras(rel, config):
    with open(WEIGHTS, "rb") as f:
        weights = f.read()
    with zipfile.ZipFile(os.path.join(OUT, rel), "w") as z:
        z.writestr(zinfo("metadata.json"), json.dumps({"keras_version": "3.6.0", "date_saved": "2025-01-01@00:00:00"}))
        z.writestr(zinfo("config.json"), json.dumps(config))
        z.writestr(zinfo("model.weights.h5"), weights)


def main():
    os.makedirs(os.path.join(OUT, "savedmodel_lambda_tuple"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "savedmodel_benign_conv"), exist_ok=True)

    hostile = functional(lambda_layer(tup(CODE, None, None)))
    loader_reaches_code(hostile)
    write_h5("lambda_tuple.h5", hostile)
    expect("lambda_tuple.h5", "malicious", ["keras/lambda-layer"], ["keras/custom-object"])
    with open(os.path.join(OUT, "lambda_tuple_model.json"), "w") as f:
        json.dump(hostile, f)
    expect("lambda_tuple_model.json", "malicious", ["keras/lambda-layer"], ["keras/custom-object"])

    nested = functional(lambda_layer(tup(tup(CODE, None, None), {"class_name": "__ellipsis__"})))
    write_h5("lambda_ellipsis_tuple.h5", nested)
    expect("lambda_ellipsis_tuple.h5", "suspicious", ["keras/lambda-layer"], ["keras/custom-object"])

    lam_meta = {"name": "lambda", "trainable": True, "expects_training_arg": False, "dtype": "float32",
                "batch_input_shape": None, "stateful": False, "must_restore_from_config": False,
                "class_name": "Lambda", "config": hostile["config"]["layers"][1]["config"]}
    root = {"name": "model", "trainable": True, "expects_training_arg": True, "dtype": "float32",
            "class_name": "Functional", "config": hostile["config"]}
    with open(os.path.join(OUT, "savedmodel_lambda_tuple", "keras_metadata.pb"), "wb") as f:
        f.write(keras_metadata([(0, "root", "_tf_keras_network", root),
                                (1, "root.layer-1", "_tf_keras_layer", lam_meta)]))
    expect("savedmodel_lambda_tuple/keras_metadata.pb", "malicious", ["keras/lambda-layer"], ["keras/custom-object"])

    with open(os.path.join(OUT, "savedmodel_benign_conv", "keras_metadata.pb"), "wb") as f:
        f.write(keras_metadata(conv_metadata()))
    expect("savedmodel_benign_conv/keras_metadata.pb", "clean")

    activation = {"class_name": "__lambda__", "config": {"value": CODE}}
    assert isinstance(marshal.loads(codecs.decode(activation["config"]["value"].encode("ascii"), "base64")),
                      types.CodeType)  # python_utils.func_load(inner_config["value"]) up to marshal.loads
    dense = k3_dense("dense", 8)
    dense["config"]["activation"] = activation
    write_keras("lambda_value.keras", k3_model([dense]))
    expect("lambda_value.keras", "malicious", ["keras/lambda-layer"])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
