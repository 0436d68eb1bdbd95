#!/usr/bin/python3
"""Samples for the YAML, NeMo and MLflow analyzers.

Run with /usr/bin/python3 (Debian's python3-yaml, python3-torch, python3-sklearn,
python3-cloudpickle). YAML configs are written by PyYAML (yaml.safe_dump for configs as
Lightning/OmegaConf write them, yaml.dump for objects, which emits python tags); hand-written
ones are the hostile spellings PyYAML accepts (%TAG handles, billion laughs). NeMo archives are
built as NeMo's save_to does (a tar, optionally gzip'ed, of ./model_config.yaml and
./model_weights.ckpt written by torch.save). NeMo and MLflow are not in Debian: MLflow model
directories follow the layout MLflow's documentation specifies (MLmodel, conda.yaml,
python_env.yaml, requirements.txt, model.pkl written by cloudpickle as mlflow.sklearn does).
Hostile payloads are harmless (echo).
Outputs: samples/yaml/, samples/nemo/, samples/mlflow/, each with expected.json.
"""

import gzip
import io
import json
import os
import shutil
import tarfile

import cloudpickle
import numpy as np
import torch
import yaml
from sklearn.linear_model import LogisticRegression

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXPECTED = {}


def out(area, rel):
    path = os.path.join(ROOT, area, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def write(area, rel, data):
    with open(out(area, rel), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def expect(area, rel, verdict, rules=(), absent=(), evidence=None, callee=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    if callee:
        entry["callee"] = callee
    EXPECTED.setdefault(area, {})[f"{area}/{rel}"] = entry


def reset(area):
    path = os.path.join(ROOT, area)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


# --------------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------------

HPARAMS = {
    "batch_size": 32,
    "learning_rate": 0.0003,
    "max_epochs": 20,
    "model_name": "resnet18",
    "num_classes": 10,
    "optimizer": "adamw",
    "weight_decay": 0.01,
    "dropout": 0.1,
    "image_size": [224, 224],
}

HYDRA = {
    "defaults": ["_self_", {"override hydra/launcher": "basic"}],
    "seed": 42,
    "paths": {"data_dir": "${oc.env:DATA_DIR,/data}", "output_dir": "${hydra:runtime.output_dir}"},
    "model": {
        "_target_": "torch.nn.Sequential",
        "_args_": [
            {"_target_": "torch.nn.Linear", "in_features": 784, "out_features": 128},
            {"_target_": "torch.nn.ReLU"},
            {"_target_": "torch.nn.Linear", "in_features": 128, "out_features": 10},
        ],
    },
    "optimizer": {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 0.001, "weight_decay": 0.01},
    "scheduler": {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "_partial_": True, "T_max": 100},
    "trainer": {
        "_target_": "lightning.pytorch.Trainer",
        "max_epochs": 10,
        "accelerator": "gpu",
        "callbacks": [
            {"_target_": "lightning.pytorch.callbacks.ModelCheckpoint", "dirpath": "${paths.output_dir}/ckpt"},
            {"_target_": "lightning.pytorch.callbacks.EarlyStopping", "monitor": "val/loss", "patience": 3},
        ],
        "logger": {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": "${paths.output_dir}"},
    },
    "data": {
        "batch_size": 64,
        "transforms": [
            {"_target_": "torchvision.transforms.ToTensor"},
            {"_target_": "torchvision.transforms.Normalize", "mean": [0.1307], "std": [0.3081]},
        ],
    },
}


class Exploit:
    """What PyYAML's Dumper writes for an object whose __reduce__ returns os.system."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def yaml_samples():
    area = "yaml"
    reset(area)
    write(area, "benign/hparams.yaml", yaml.safe_dump(HPARAMS))
    expect(area, "benign/hparams.yaml", "clean")
    write(area, "benign/config.yaml", yaml.safe_dump(HYDRA, sort_keys=False))
    expect(area, "benign/config.yaml", "clean", absent=["yaml/hydra-target", "yaml/custom-resolver"])
    write(area, "benign/anchors.yml", "base: &base\n  lr: 0.1\n  momentum: 0.9\nsgd:\n  <<: *base\n  nesterov: true\nlist: [*base, *base]\n")
    expect(area, "benign/anchors.yml", "clean", absent=["yaml/alias-bomb"])
    # yaml.dump (not safe_dump) of a tuple, as older Lightning hparams files have it.
    write(area, "suspicious/hparams_tuple.yaml", yaml.dump({"image_size": (224, 224), "lr": 0.001}))
    expect(area, "suspicious/hparams_tuple.yaml", "suspicious", rules=["yaml/python-data-tag"])
    write(area, "suspicious/duplicate_key.yaml", "lr: 0.1\nepochs: 3\nlr: 0.2\n")
    expect(area, "suspicious/duplicate_key.yaml", "suspicious", rules=["yaml/duplicate-key"])
    write(area, "suspicious/include_tag.yaml", "model: !include model.yaml\n")
    expect(area, "suspicious/include_tag.yaml", "suspicious", rules=["yaml/unknown-tag"])

    # The classic payload, as written in PyYAML exploit write-ups.
    write(area, "malicious/python_apply.yaml", '!!python/object/apply:os.system ["echo pwned"]\n')
    expect(area, "malicious/python_apply.yaml", "malicious", rules=["yaml/python-tag"], callee="os.system")
    # What PyYAML's own Dumper writes for an object reducing to os.system.
    dumped = yaml.dump({"model": Exploit()})
    assert "python/object/apply" in dumped, dumped
    write(area, "malicious/dumped_reduce.yaml", dumped)
    expect(area, "malicious/dumped_reduce.yaml", "malicious", rules=["yaml/python-tag"])
    # No extension: recognised by its %YAML directive; the tag goes through a %TAG handle.
    write(
        area,
        "malicious/config",
        '%YAML 1.1\n%TAG !py! tag:yaml.org,2002:python/\n---\nlr: 0.1\nhook: !py!object/new:subprocess.Popen [["echo", "pwned"]]\n',
    )
    expect(area, "malicious/config", "malicious", rules=["yaml/python-tag"], callee="subprocess.Popen")
    # %-escaped tag, which PyYAML's scanner decodes.
    write(area, "malicious/escaped_tag.yml", 'name: !!python%2Fname:os.system ""\n')
    expect(area, "malicious/escaped_tag.yml", "malicious", rules=["yaml/python-tag"], callee="os.system")
    write(area, "malicious/hydra_os_system.yaml", yaml.safe_dump({"callback": {"_target_": "os.system", "_args_": ["echo pwned"]}}))
    expect(area, "malicious/hydra_os_system.yaml", "malicious", rules=["yaml/hydra-target"], callee="os.system")
    write(
        area,
        "malicious/hydra_get_method.yaml",
        yaml.safe_dump({"fn": {"_target_": "hydra.utils.get_method", "path": "builtins.exec"}}),
    )
    expect(area, "malicious/hydra_get_method.yaml", "malicious", rules=["yaml/hydra-target"], callee="builtins.exec")
    write(area, "malicious/omegaconf_eval.yaml", yaml.safe_dump({"steps": "${eval:'__import__(\"os\").system(\"echo pwned\")'}"}))
    expect(area, "malicious/omegaconf_eval.yaml", "malicious", rules=["yaml/custom-resolver"])
    # Billion laughs: nine levels of ten aliases each (10^9 leaves once expanded).
    lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lol.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    write(area, "invalid/billion_laughs.yaml", "\n".join(lol) + "\n")
    expect(area, "invalid/billion_laughs.yaml", "invalid", rules=["yaml/alias-bomb"])
    write(area, "invalid/malformed.yaml", "model:\n  layers: [1, 2\n  name: x\n")
    expect(area, "invalid/malformed.yaml", "invalid", rules=["yaml/malformed"])


# --------------------------------------------------------------------------------------------
# NeMo
# --------------------------------------------------------------------------------------------

NEMO_CONFIG = {
    "sample_rate": 16000,
    "labels": [" ", "a", "b", "c", "d", "e"],
    "train_ds": {"manifest_filepath": None, "sample_rate": 16000, "batch_size": 32, "shuffle": True},
    "preprocessor": {
        "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
        "normalize": "per_feature",
        "window_size": 0.02,
        "window_stride": 0.01,
        "features": 64,
        "n_fft": 512,
    },
    "encoder": {
        "_target_": "nemo.collections.asr.modules.ConvASREncoder",
        "feat_in": 64,
        "activation": "relu",
        "jasper": [{"filters": 8, "repeat": 1, "kernel": [11], "stride": [1], "dilation": [1], "dropout": 0.0, "residual": False}],
    },
    "decoder": {"_target_": "nemo.collections.asr.modules.ConvASRDecoder", "feat_in": 8, "num_classes": 6},
    "optim": {"name": "novograd", "lr": 0.01, "betas": [0.8, 0.5], "sched": {"name": "CosineAnnealing", "warmup_steps": 100}},
    "target": "nemo.collections.asr.models.ctc_models.EncDecCTCModel",
    "nemo_version": "1.23.0",
}


def nemo_weights():
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"encoder": torch.nn.Conv1d(64, 8, 11), "decoder": torch.nn.Conv1d(8, 6, 1)})
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def nemo_archive(path, config_text, weights, compress):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        root = tarfile.TarInfo("./")
        root.type = tarfile.DIRTYPE
        root.mode = 0o755
        tar.addfile(root)
        for name, data in (("./model_config.yaml", config_text.encode()), ("./model_weights.ckpt", weights)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    if compress:
        gz = io.BytesIO()
        with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
            g.write(data)
        data = gz.getvalue()
    with open(path, "wb") as f:
        f.write(data)


def nemo_samples():
    area = "nemo"
    reset(area)
    weights = nemo_weights()
    nemo_archive(out(area, "benign/asr_ctc.nemo"), yaml.safe_dump(NEMO_CONFIG, sort_keys=False), weights, compress=True)
    expect(area, "benign/asr_ctc.nemo", "clean")
    nemo_archive(out(area, "benign/asr_ctc_plain.nemo"), yaml.safe_dump(NEMO_CONFIG, sort_keys=False), weights, compress=False)
    expect(area, "benign/asr_ctc_plain.nemo", "clean")

    hostile = json.loads(json.dumps(NEMO_CONFIG))
    hostile["preprocessor"] = {"_target_": "os.system", "_args_": ["echo pwned"]}
    nemo_archive(out(area, "malicious/target_os_system.nemo"), yaml.safe_dump(hostile, sort_keys=False), weights, compress=False)
    expect(area, "malicious/target_os_system.nemo", "malicious", rules=["yaml/hydra-target"], callee="os.system")
    # restore_from imports the top-level `target` to build the model.
    hostile = json.loads(json.dumps(NEMO_CONFIG))
    hostile["target"] = "subprocess.Popen"
    nemo_archive(out(area, "malicious/toplevel_target.nemo"), yaml.safe_dump(hostile, sort_keys=False), weights, compress=True)
    expect(area, "malicious/toplevel_target.nemo", "malicious", rules=["yaml/hydra-target"], callee="subprocess.Popen")
    nemo_archive(
        out(area, "malicious/python_tag.nemo"),
        yaml.safe_dump(NEMO_CONFIG, sort_keys=False) + 'hook: !!python/object/apply:os.system ["echo pwned"]\n',
        weights,
        compress=True,
    )
    expect(area, "malicious/python_tag.nemo", "malicious", rules=["yaml/python-tag"], callee="os.system")


# --------------------------------------------------------------------------------------------
# MLflow
# --------------------------------------------------------------------------------------------

MLFLOW_VERSION = "2.12.1"
PYTHON_VERSION = "3.11.2"


def mlflow_env(area, rel, requirements):
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={PYTHON_VERSION}", "pip<=24.0", {"pip": requirements}],
        "name": "mlflow-env",
    }
    write(area, f"{rel}/conda.yaml", yaml.safe_dump(conda, default_flow_style=False))
    write(
        area,
        f"{rel}/python_env.yaml",
        yaml.safe_dump(
            {"python": PYTHON_VERSION, "build_dependencies": ["pip==24.0", "setuptools", "wheel"], "dependencies": ["-r requirements.txt"]},
            sort_keys=False,
        ),
    )
    write(area, f"{rel}/requirements.txt", "\n".join(requirements) + "\n")


def mlmodel(area, rel, flavors, size):
    doc = {
        "artifact_path": "model",
        "flavors": flavors,
        "mlflow_version": MLFLOW_VERSION,
        "model_size_bytes": size,
        "model_uuid": "5c0c1d1ab3f94d3c9b0e2f7c2d3a4b5c",
        "utc_time_created": "2024-05-01 10:00:00.000000",
    }
    write(area, f"{rel}/MLmodel", yaml.safe_dump(doc))


PYFUNC_ENV = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
REQUIREMENTS = [f"mlflow=={MLFLOW_VERSION}", f"cloudpickle=={cloudpickle.__version__}", "scikit-learn==1.4.2"]


def sklearn_model_dir(area, rel, requirements=REQUIREMENTS):
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    model = LogisticRegression().fit(x, y)
    data = cloudpickle.dumps(model)  # mlflow.sklearn's default serialization_format
    write(area, f"{rel}/model.pkl", data)
    import sklearn

    flavors = {
        "python_function": {
            "env": PYFUNC_ENV,
            "loader_module": "mlflow.sklearn",
            "model_path": "model.pkl",
            "predict_fn": "predict",
            "python_version": PYTHON_VERSION,
        },
        "sklearn": {"code": None, "pickled_model": "model.pkl", "serialization_format": "cloudpickle", "sklearn_version": sklearn.__version__},
    }
    mlmodel(area, rel, flavors, len(data))
    mlflow_env(area, rel, requirements)


class EchoModel:
    """A pyfunc PythonModel defined in __main__: cloudpickle writes its code by value."""

    def load_context(self, context):
        os.system("echo pwned")

    def predict(self, context, model_input):
        return model_input


class IdentityModel:
    """A harmless pyfunc PythonModel defined in __main__ (still pickled by value)."""

    def predict(self, context, model_input):
        return model_input


def pyfunc_dir(area, rel, instance):
    data = cloudpickle.dumps(instance)
    write(area, f"{rel}/python_model.pkl", data)
    flavors = {
        "python_function": {
            "cloudpickle_version": cloudpickle.__version__,
            "code": None,
            "env": PYFUNC_ENV,
            "loader_module": "mlflow.pyfunc.model",
            "python_model": "python_model.pkl",
            "python_version": PYTHON_VERSION,
        }
    }
    mlmodel(area, rel, flavors, len(data))
    mlflow_env(area, rel, REQUIREMENTS)


def mlflow_samples():
    area = "mlflow"
    reset(area)
    sklearn_model_dir(area, "benign/sklearn_model")
    expect(area, "benign/sklearn_model", "clean")

    sklearn_model_dir(
        area,
        "suspicious/remote_requirements",
        REQUIREMENTS[:2] + ["--extra-index-url https://pkgs.example.com/simple", "featurizer @ git+https://github.com/example/featurizer.git@v1.0"],
    )
    expect(area, "suspicious/remote_requirements", "suspicious", rules=["mlflow/remote-requirement"])

    # loader_module pointing at a module the model ships in code/.
    rel = "malicious/custom_loader"
    write(area, f"{rel}/code/evil_loader.py", 'import os\n\n\ndef _load_pyfunc(path):\n    os.system("echo pwned")\n    return None\n')
    write(area, f"{rel}/data/weights.txt", "0.1 0.2\n")
    flavors = {
        "python_function": {
            "code": "code",
            "data": "data",
            "env": PYFUNC_ENV,
            "loader_module": "evil_loader",
            "python_version": PYTHON_VERSION,
        }
    }
    mlmodel(area, rel, flavors, 8)
    mlflow_env(area, rel, REQUIREMENTS)
    expect(area, rel, "malicious", rules=["mlflow/custom-loader", "mlflow/shipped-code"])

    pyfunc_dir(area, "malicious/pyfunc_os_system", EchoModel())
    expect(area, "malicious/pyfunc_os_system", "malicious")
    pyfunc_dir(area, "malicious/pyfunc_by_value", IdentityModel())
    expect(area, "malicious/pyfunc_by_value", "malicious")
    write(area, "malicious/cloudpickle_function.pkl", cloudpickle.dumps(lambda: os.system("echo pwned")))
    expect(area, "malicious/cloudpickle_function.pkl", "malicious")


def main():
    yaml_samples()
    nemo_samples()
    mlflow_samples()
    for area, entries in EXPECTED.items():
        with open(os.path.join(ROOT, area, "expected.json"), "w") as f:
            json.dump(dict(sorted(entries.items())), f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
