#!/usr/bin/python3
"""Writes samples/pyc/: CPython bytecode and the model folders that import it or shadow modules.

- module/helpers.pyc: a plain compiled module (medium: code that cannot be read as text).
- module/aliased_os_system.pyc: `import os as _o; _o.system(...)` compiled (high).
- module/dynamic_import.pyc: the module and function names built at run time
  (`importlib.import_module("".join(["o", "s"]))`, `getattr(m, "sy" + "stem")`) (high).
- torchserve/sitecustomize.mar: a built-in handler and a top-level `sitecustomize.py`, which the
  worker's interpreter imports at start-up from its PYTHONPATH (the model folder).
- mlflow/shadow_threadpoolctl/: mlflow.sklearn loader and code/threadpoolctl.py, which importing
  sklearn imports.
- torchserve/shadow_builtin_pyc.mar: handler `image_classifier` (a built-in name) and an
  `image_classifier.pyc` member: TorchServe imports the archive's module first.
- torchserve/shadow_platform_pyc.mar, shadow_platform_py.mar: a built-in handler and a top-level
  `platform.pyc` / `platform.py` member: the model directory is first on the worker's PYTHONPATH, so
  the worker's `import platform` runs the archive's module.
- mlflow/indented_pyc/: an MLmodel indented by two spaces (yaml.safe_load reads it as usual) whose
  pyfunc loader_module is shipped as code/skl_loader.pyc.
- mlflow/json_mlmodel/: an MLmodel in JSON (flow) style with a custom loader in code/.
- mlflow/shadow_code/: mlflow.sklearn loader, but code/json.py replaces the json module.
- mlflow/no_flavors/: an MLmodel without flavors (invalid).
- mlflow/chat_model/: MLflow's own chat-model pyfunc loader (mlflow.pyfunc.loaders.chat_model) as
  MLflow 2.20 writes it (must stay clean).

MLflow is not installable offline: MLmodel files are hand-written in the shapes MLflow writes.
.pyc files are made by py_compile (checked-hash, so the bytes do not depend on mtimes). Payloads
are harmless (`echo modelgate-pyc-sample`); nothing is executed here. Run from the repository
root with /usr/bin/python3.
"""
import json
import os
import pickle
import py_compile
import shutil
import tempfile
import zipfile

OUT = os.path.join("samples", "pyc")
PAYLOAD = 'import os as _o\n_o.system("echo modelgate-pyc-sample")\n'
HELPERS = "def scale(x, k=2.0):\n    return [v * k for v in x]\n"
expected = {}


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def pyc(source, name):
    """Compiles source as module `name` and returns the .pyc bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, f"{name}.py")
        with open(src, "w") as f:
            f.write(source)
        out = os.path.join(tmp, f"{name}.pyc")
        py_compile.compile(src, out, dfile=f"{name}.py", doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        with open(out, "rb") as f:
            return f.read()


def expect(case, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"pyc/{case}"] = entry


def mar(path, handler, members):
    manifest = {
        "createdOn": "01/01/2024 00:00:00",
        "runtime": "python",
        "model": {"modelName": "tiny", "handler": handler, "modelVersion": "1.0"},
        "archiverVersion": "0.9.0",
    }
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with zipfile.ZipFile(full, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("MAR-INF/MANIFEST.json", json.dumps(manifest, indent=2)),
                           ("index_to_name.json", '{"0": "cat", "1": "dog"}')] + members:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)


ENV = {
    "conda.yaml": "channels:\n- conda-forge\ndependencies:\n- python=3.11.2\n- pip<=24.0\n- pip:\n  - mlflow==2.20.0\nname: mlflow-env\n",
    "python_env.yaml": "python: 3.11.2\nbuild_dependencies:\n- pip==24.0\ndependencies:\n- -r requirements.txt\n",
    "requirements.txt": "mlflow==2.20.0\n",
}


def mlflow_dir(case, mlmodel, files=()):
    for name, data in list(ENV.items()) + list(files):
        put(f"{case}/{name}", data)
    put(f"{case}/MLmodel", mlmodel)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    put("module/helpers.pyc", pyc(HELPERS, "helpers"))
    expect("module/helpers.pyc", "suspicious", ["pyc/compiled-code"], ["pyc/risky-code"])
    put("module/aliased_os_system.pyc", pyc(PAYLOAD, "aliased_os_system"))
    expect("module/aliased_os_system.pyc", "malicious", ["pyc/compiled-code", "pyc/risky-code"])
    dynamic = ('import importlib\nm = importlib.import_module("".join(["o", "s"]))\n'
               'getattr(m, "sy" + "stem")("echo modelgate-pyc-sample")\n')
    put("module/dynamic_import.pyc", pyc(dynamic, "dynamic_import"))
    expect("module/dynamic_import.pyc", "malicious", ["pyc/compiled-code", "pyc/risky-code"])

    mar("torchserve/shadow_builtin_pyc.mar", "image_classifier",
        [("image_classifier.pyc", pyc(PAYLOAD, "image_classifier"))])
    expect("torchserve/shadow_builtin_pyc.mar", "malicious", ["torchserve/custom-handler", "pyc/risky-code"],
           ["torchserve/builtin-handler"])
    mar("torchserve/shadow_platform_pyc.mar", "image_classifier", [("platform.pyc", pyc(PAYLOAD, "platform"))])
    expect("torchserve/shadow_platform_pyc.mar", "malicious", ["torchserve/shadowed-module", "pyc/compiled-code"])
    mar("torchserve/sitecustomize.mar", "image_classifier", [("sitecustomize.py", HELPERS)])
    expect("torchserve/sitecustomize.mar", "malicious", ["torchserve/shadowed-module"])
    mar("torchserve/shadow_platform_py.mar", "image_classifier", [("platform.py", PAYLOAD)])
    expect("torchserve/shadow_platform_py.mar", "malicious", ["torchserve/shadowed-module", "repo/python-file"])

    indented = (
        "  artifact_path: model\n  flavors:\n    python_function:\n      code: code\n      data: data\n"
        "      env:\n        conda: conda.yaml\n        virtualenv: python_env.yaml\n"
        "      loader_module: skl_loader\n      python_version: 3.11.2\n  mlflow_version: 2.20.0\n"
    )
    mlflow_dir("mlflow/indented_pyc", indented,
               [("code/skl_loader.pyc", pyc(PAYLOAD + "def _load_pyfunc(path):\n    return None\n", "skl_loader")),
                ("data/weights.txt", "0.5\n")])
    expect("mlflow/indented_pyc", "malicious", ["mlflow/custom-loader", "mlflow/shipped-code", "pyc/risky-code"])

    flow = json.dumps({"artifact_path": "model", "flavors": {"python_function": {
        "code": "code", "data": "data", "loader_module": "evil_loader", "python_version": "3.11.2"}},
        "mlflow_version": "2.20.0"})
    mlflow_dir("mlflow/json_mlmodel", flow + "\n",
               [("code/evil_loader.py", PAYLOAD + "def _load_pyfunc(path):\n    return None\n"),
                ("data/weights.txt", "0.5\n")])
    expect("mlflow/json_mlmodel", "malicious", ["mlflow/custom-loader", "mlflow/shipped-code"])

    sklearn = (
        "artifact_path: model\nflavors:\n  python_function:\n    code: code\n    env:\n      conda: conda.yaml\n"
        "      virtualenv: python_env.yaml\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n"
        "    predict_fn: predict\n    python_version: 3.11.2\n  sklearn:\n    code: code\n"
        "    pickled_model: model.pkl\n    serialization_format: cloudpickle\n    sklearn_version: 1.4.2\n"
        "mlflow_version: 2.20.0\n"
    )
    mlflow_dir("mlflow/shadow_code", sklearn, [("code/json.py", PAYLOAD), ("code/features.py", HELPERS),
                                                ("model.pkl", pickle.dumps({"coef": [0.5]}, protocol=4))])
    expect("mlflow/shadow_code", "malicious", ["mlflow/shadowed-module", "mlflow/shipped-code"],
           ["mlflow/custom-loader"])

    mlflow_dir("mlflow/shadow_threadpoolctl", sklearn, [("code/threadpoolctl.py", HELPERS),
                                                        ("model.pkl", pickle.dumps({"coef": [0.5]}, protocol=4))])
    expect("mlflow/shadow_threadpoolctl", "malicious", ["mlflow/shadowed-module"], ["mlflow/custom-loader"])

    mlflow_dir("mlflow/no_flavors", "artifact_path: model\nmlflow_version: 2.20.0\n")
    expect("mlflow/no_flavors", "invalid", ["mlflow/invalid-mlmodel"])

    chat = (
        "artifact_path: model\nflavors:\n  python_function:\n    cloudpickle_version: 3.1.0\n    code: null\n"
        "    env:\n      conda: conda.yaml\n      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.pyfunc.loaders.chat_model\n    python_model: python_model.pkl\n"
        "    python_version: 3.11.2\n    streamable: true\nmetadata:\n  task: agent/v1/chat\n"
        "mlflow_version: 2.20.0\nmodel_size_bytes: 100\n"
    )
    mlflow_dir("mlflow/chat_model", chat, [("python_model.pkl", pickle.dumps({"weights": [1, 2]}, protocol=4))])
    expect("mlflow/chat_model", "clean", [], ["mlflow/custom-loader"])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(dict(sorted(expected.items())), f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
