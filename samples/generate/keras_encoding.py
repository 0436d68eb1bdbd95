#!/usr/bin/python3
"""Writes samples/bypass/keras-encoding/: .keras archives whose config.json is not plain UTF-8.

Keras 3 reads a .keras archive's config.json as bytes and hands them to json.loads, and Python's
json does not assume UTF-8: it detects UTF-8, UTF-8 with a byte-order mark, UTF-16 and UTF-32
(either byte order, with or without a mark) from a mark or from the zero bytes among the first
four, then decodes with the surrogatepass handler. A Lambda layer or a module import in a UTF-16
or UTF-32 config is therefore built by Keras; a scanner that reads the config as UTF-8 sees no JSON.
Bytes that do not decode in the detected codec make the load raise (never U+FFFD).

- lambda_<codec>.keras: a Lambda layer (real Python 3.11 marshal bytecode, as
  keras.src.utils.python_utils.func_dump stores it) in every codec json.loads detects.
- module_<codec>.keras: an activation that names builtins.exec.
- lambda_surrogate_utf-8.keras: UTF-8 holding an encoded lone surrogate (ED A0 80) in a layer
  name, which surrogatepass accepts: it loads, so the Lambda counts.
- benign_utf-16-le.keras: a harmless config in UTF-16-LE (no Keras finding).
- bad_*.keras: configs json.loads raises on (an invalid UTF-8 byte, a UTF-16 config with an odd
  trailing byte, a UTF-32 unit past U+10FFFF): never clean.

Keras is not installed, so the archives are written with zipfile in the layout Keras 3 saves:
metadata.json, config.json, model.weights.h5 (the weights are samples/keras/clean/model.weights.h5,
which formats_b.py writes with h5py). Every config is checked here with json.loads: those meant to
load decode to the intended config, the bad ones raise UnicodeDecodeError. No payload is executed
(it would only echo). Deterministic: fixed zip dates, no randomness. Also writes expected.json
next to the samples (read by test/formats/keras/keras-encoding.test.ts, not by test/samples.test.ts).
Run from anywhere with /usr/bin/python3.
"""

import codecs
import json
import os
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "bypass", "keras-encoding")
WEIGHTS = os.path.join(ROOT, "keras", "clean", "model.weights.h5")
EXPECTED = {}


# The Keras 3 config builders of formats_b.py (its generation runs only as a script).
from formats_b import DTYPE, func_dump, k3  # noqa: E402
from formats_b import k3_dense as dense  # noqa: E402


def model(layers):
    return k3("keras", "Sequential", {
        "name": "sequential", "trainable": True, "dtype": DTYPE,
        "layers": [k3("keras.layers", "InputLayer",
                      {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"})] + layers,
        "build_input_shape": [None, 4]},
        build_config={"input_shape": [None, 4]})


evil = lambda x: __import__("os").system("echo modelgate-bypass-sample") or x  # noqa: E731
LAMBDA = k3("keras.layers", "Lambda", {"name": "lambda", "trainable": True, "dtype": DTYPE, "arguments": {},
                                       "function": {"class_name": "__lambda__", "config": {
                                           "code": func_dump(evil), "defaults": None, "closure": None}}})
EXEC = dense("dense", 8)
EXEC["config"]["activation"] = k3("builtins", "function", "exec", "exec")

LAMBDA_MODEL = model([dense("dense", 8), LAMBDA])
MODULE_MODEL = model([EXEC])
BENIGN_MODEL = model([dense("dense", 8), dense("dense_1", 2, "linear")])


def encode(text, codec):
    """The bytes of `text` in one of the codecs json.loads detects; `-bom-` ones carry a mark."""
    if codec == "utf-8-sig":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    if codec.startswith("utf-16-bom-") or codec.startswith("utf-32-bom-"):
        width, order = codec[4:6], codec[-2:]
        marks = {("16", "le"): codecs.BOM_UTF16_LE, ("16", "be"): codecs.BOM_UTF16_BE,
                 ("32", "le"): codecs.BOM_UTF32_LE, ("32", "be"): codecs.BOM_UTF32_BE}
        return marks[(width, order)] + text.encode(f"utf-{width}-{order}")
    return text.encode(codec)


def zinfo(name):
    info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    return info


def write(rel, config_bytes, verdict, rules=(), absent=()):
    with open(WEIGHTS, "rb") as f:
        weights = f.read()
    with zipfile.ZipFile(os.path.join(OUT, rel), "w") as z:
        z.writestr(zinfo("metadata.json"), json.dumps({"keras_version": "3.6.0", "date_saved": "2025-01-01@00:00:00"}))
        z.writestr(zinfo("config.json"), config_bytes)
        z.writestr(zinfo("model.weights.h5"), weights)
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED[rel] = entry


def loads_as(config_bytes, config):
    assert json.loads(config_bytes) == config, "json.loads does not read the intended config"


def raises(config_bytes):
    try:
        json.loads(config_bytes)
    except UnicodeDecodeError:
        return
    raise AssertionError("json.loads was expected to raise on these bytes")


CODECS = ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be",
          "utf-16-bom-le", "utf-16-bom-be", "utf-32-bom-le", "utf-32-bom-be"]


def main():
    os.makedirs(OUT, exist_ok=True)
    for codec in CODECS:
        data = encode(json.dumps(LAMBDA_MODEL, indent=2), codec)
        loads_as(data, LAMBDA_MODEL)
        write(f"lambda_{codec}.keras", data, "malicious", ["keras/lambda-layer"], ["keras/malformed"])
    for codec in ["utf-16-be", "utf-32-le"]:
        data = encode(json.dumps(MODULE_MODEL), codec)
        loads_as(data, MODULE_MODEL)
        write(f"module_{codec}.keras", data, "malicious", ["keras/foreign-module"], ["keras/malformed"])

    # An encoded lone surrogate: invalid UTF-8 to a strict decoder, accepted by surrogatepass.
    text = json.dumps(LAMBDA_MODEL).replace('"name": "lambda"', '"name": "lambda_SURR"')
    data = text.encode("utf-8").replace(b"SURR", b"\xed\xa0\x80")
    parsed = json.loads(data)
    assert parsed["config"]["layers"][2]["config"]["name"] == "lambda_\ud800"
    write("lambda_surrogate_utf-8.keras", data, "malicious", ["keras/lambda-layer"], ["keras/malformed"])

    data = encode(json.dumps(BENIGN_MODEL), "utf-16-le")
    loads_as(data, BENIGN_MODEL)
    # Not clean yet for another reason: the repository JSON analyzer reads BOM-less UTF-16 as UTF-8
    # (repo/invalid-json). The Keras analyzer must find nothing in it.
    write("benign_utf-16-le.keras", data, "invalid", [],
          ["keras/malformed", "keras/lambda-layer", "keras/foreign-module", "format/unknown"])

    # Undecodable configs: json.loads raises, so they must not come out clean.
    benign = json.dumps(BENIGN_MODEL)
    data = benign.replace('"name": "dense"', '"name": "denseBAD"').encode("utf-8").replace(b"BAD", b"\xff")
    raises(data)
    write("bad_utf-8_invalid_byte.keras", data, "invalid", ["keras/malformed"])
    data = benign.encode("utf-16-le") + b" "
    raises(data)
    write("bad_utf-16-le_odd_length.keras", data, "invalid", ["keras/malformed"])
    data = benign.replace('"name": "dense"', '"name": "denseBAD"').encode("utf-32-le")
    data = data.replace("BAD".encode("utf-32-le"), (0x110000).to_bytes(4, "little"))
    raises(data)
    write("bad_utf-32-le_out_of_range.keras", data, "invalid", ["keras/malformed"])
    data = json.dumps(LAMBDA_MODEL).encode("utf-16-be") + b"\x00"
    raises(data)
    write("bad_lambda_utf-16-be_odd_length.keras", data, "malicious", ["keras/malformed", "keras/lambda-layer"])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
