/**
 * Rules of the mlflow area: MLflow model directories (`MLmodel` and what it points at).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const MLMODEL = "https://mlflow.org/docs/latest/models.html#storage-format";
const PYFUNC = "https://mlflow.org/docs/latest/python_api/mlflow.pyfunc.html";

/** mlflow rules. */
export const mlflowRules = [
  {
    id: "mlflow/custom-loader",
    title: "MLflow pyfunc loader module outside MLflow's flavours",
    severity: "high",
    description:
      "The `python_function` flavour's `loader_module` is not one of MLflow's own flavour modules (`mlflow.sklearn`, `mlflow.pytorch`, `mlflow.pyfunc.model` ...). `mlflow.pyfunc.load_model` imports it (from the model's `code` directory first) and calls its `_load_pyfunc`: whatever that module does runs on load.",
    references: [PYFUNC, MLMODEL],
  },
  {
    id: "mlflow/shipped-code",
    title: "MLflow model ships Python code",
    severity: "medium",
    description:
      "The model declares a `code` directory, `code_paths` or a model-from-code file (`model_code_path`, a `.py` `python_model`): MLflow puts that Python on `sys.path` or executes it when the model is loaded. The files are scanned as Python too.",
    references: [PYFUNC],
  },
  {
    id: "mlflow/shadowed-module",
    title: "MLflow model code replaces a standard or installed module",
    severity: "high",
    description:
      "A module of the model's `code` directory (or of a folder directly inside it), as `name.py`, `name.pyc`, `name.so` or `name/__init__.py`, is named like a standard library module (`json`, `platform` ...) or a package MLflow and the flavours import (`mlflow`, `numpy`, `yaml` ...). Loading the model puts those folders first on `sys.path` and drops the cached modules named like its files, so the model's module is imported instead of the real one and its code runs on load, whatever `loader_module` says.",
    references: [PYFUNC, "https://docs.python.org/3/library/sys.html#sys.path"],
  },
  {
    id: "mlflow/remote-requirement",
    title: "MLflow model environment installs from outside PyPI",
    severity: "medium",
    description:
      "The model's `requirements.txt`, `conda.yaml` or `python_env.yaml` names an extra or replacement package index (`--extra-index-url`, `--index-url`, `--find-links`), a VCS or URL requirement (`git+https://...`, `pkg @ https://...`) or a non-default conda channel URL. Serving the model (`mlflow models serve`, `spark_udf` with `env_manager`) installs it, running the package's build code from a source nobody vetted; an extra index also opens dependency confusion.",
    references: [
      "https://mlflow.org/docs/latest/model/dependencies.html",
      "https://pip.pypa.io/en/stable/reference/requirements-file-format/",
    ],
  },
  {
    id: "mlflow/invalid-mlmodel",
    title: "MLmodel is not a valid MLflow model description",
    severity: "medium",
    invalidates: true,
    description:
      "`flavors` is missing or not a mapping, or the `python_function` flavour names no `loader_module`: MLflow cannot load the model as described, and what a loader would do with it is unknown.",
    references: [MLMODEL],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  interface RuleRegistry extends Record<(typeof mlflowRules)[number]["id"], true> {}
}
