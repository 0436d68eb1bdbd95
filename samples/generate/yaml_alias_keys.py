#!/usr/bin/python3
"""Writes samples/yaml-alias-keys/: YAML files whose mapping keys are written as aliases of anchored
scalars (`*t : os.system`). PyYAML's safe_load (MLflow, huggingface_hub), ruamel's safe loader (DVC)
and OmegaConf.load (Hydra) compose such a key to the scalar its anchor names, so the key is
`_target_`, `loader_module` or `cmd` to them. The hostile files are written by hand (no dumper
emits an alias key); each is checked here to load with PyYAML (and OmegaConf for the Hydra one) to
the key it spells. The benign counterparts are written by the real tools: PyYAML's dumper (which
writes anchors and aliases for shared values) and OmegaConf.save.

- hydra-alias-target/config.yaml: `keys: {t: &t _target_}` then `model: {*t : os.system, _args_:
  [...]}`: Hydra's instantiate calls os.system (malicious, yaml/hydra-target).
- mlflow-alias-loader/MLmodel: `python_function` whose `loader_module` and `code` keys are aliases:
  mlflow.pyfunc.load_model imports the shipped module (malicious, mlflow/custom-loader).
- unreadable-key/config.yaml: a key that is an alias of a list: PyYAML refuses the document
  (unhashable key); never read as if the pair were absent (invalid, yaml/malformed).
- benign-pyyaml/config.yaml: yaml.safe_dump of a config sharing one dict in two places (PyYAML
  writes `&id001` / `*id001`): clean.
- benign-omegaconf/config.yaml: OmegaConf.save of a Hydra-style config with interpolations: clean.
- benign-mlflow/MLmodel: an MLmodel as MLflow writes it (yaml.safe_dump), sklearn flavour: clean.

Run from the repository root with /usr/bin/python3.
"""
import json
import os

import yaml
from omegaconf import OmegaConf

OUT = os.path.join("samples", "yaml-alias-keys")
expected = {}


def put(name, text, verdict, rules=(), absent=(), evidence=None):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    want = {"verdict": verdict}
    if rules:
        want["rules"] = list(rules)
    if absent:
        want["absentRules"] = list(absent)
    if evidence:
        want["evidence"] = evidence
    expected[f"yaml-alias-keys/{name}"] = want
    return path


HYDRA = 'keys:\n  t: &t _target_\nmodel:\n  *t : os.system\n  _args_: ["echo modelgate-sample"]\n'
path = put("hydra-alias-target/config.yaml", HYDRA, "malicious", rules=["yaml/hydra-target"],
           evidence={"callee": "os.system"})
assert yaml.safe_load(HYDRA)["model"]["_target_"] == "os.system"
assert OmegaConf.load(path).model._target_ == "os.system"

MLMODEL = """artifact_path: model
metadata:
  a: &lm loader_module
  b: &cd code
flavors:
  python_function:
    *cd : code
    data: data
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    *lm : evil_loader
    python_version: 3.11.2
mlflow_version: 2.12.1
model_size_bytes: 8
model_uuid: 5c0c1d1ab3f94d3c9b0e2f7c2d3a4b5c
utc_time_created: '2024-05-01 10:00:00.000000'
"""
put("mlflow-alias-loader/MLmodel", MLMODEL, "malicious", rules=["mlflow/custom-loader"],
    evidence={"loaderModule": "evil_loader"})
assert yaml.safe_load(MLMODEL)["flavors"]["python_function"]["loader_module"] == "evil_loader"

UNREADABLE = "names: &n [a, b]\nmodel:\n  *n : os.system\n"
put("unreadable-key/config.yaml", UNREADABLE, "invalid", rules=["yaml/malformed"])
try:
    yaml.safe_load(UNREADABLE)
    raise AssertionError("PyYAML read an unhashable key")
except yaml.constructor.ConstructorError:
    pass

shared = {"lr": 0.001, "betas": [0.9, 0.999]}
put("benign-pyyaml/config.yaml", yaml.safe_dump({"optimizer": shared, "finetune": {"optimizer": shared, "epochs": 3}},
                                                 sort_keys=False), "clean", absent=["yaml/malformed"])
conf = OmegaConf.create({"model": {"dim": 64, "hidden": "${model.dim}"}, "trainer": {"max_epochs": 3}})
os.makedirs(os.path.join(OUT, "benign-omegaconf"), exist_ok=True)
OmegaConf.save(conf, os.path.join(OUT, "benign-omegaconf", "config.yaml"))
expected["yaml-alias-keys/benign-omegaconf/config.yaml"] = {"verdict": "clean", "absentRules": ["yaml/malformed"]}
put("benign-mlflow/MLmodel", yaml.safe_dump({
    "artifact_path": "model",
    "flavors": {
        "python_function": {"env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                            "loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                            "predict_fn": "predict", "python_version": "3.11.2"},
        "sklearn": {"code": None, "pickled_model": "model.pkl", "serialization_format": "cloudpickle",
                    "sklearn_version": "1.2.1"}},
    "mlflow_version": "2.12.1", "model_size_bytes": 688, "model_uuid": "5c0c1d1ab3f94d3c9b0e2f7c2d3a4b5c",
    "utc_time_created": "2024-05-01 10:00:00.000000"}), "clean", absent=["yaml/malformed", "mlflow/invalid-mlmodel"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
