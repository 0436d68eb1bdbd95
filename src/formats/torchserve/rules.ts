/**
 * Rules of the torchserve area: TorchServe model archives (`.mar`).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://github.com/pytorch/serve/blob/master/model-archiver/README.md";
const HANDLERS = "https://github.com/pytorch/serve/blob/master/docs/custom_service.md";

/** torchserve rules. */
export const torchserveRules = [
  {
    id: "torchserve/custom-handler",
    title: "TorchServe archive ships its own handler code",
    severity: "high",
    description:
      "The manifest's `model.handler` names a Python module that is inside the archive (`handler.py`, `handler.pyc`, `handler.so`, `handler.py:fn`, or a module that shadows a built-in handler name, any module name `importlib` accepts such as `my-handler.py` or `pkg.mod`). TorchServe imports the handler from the extracted archive when the model is loaded and calls its `initialize`, so the archive's code runs on load, before any request. The module itself is analysed as a member. When the manifest cannot be read or judged (missing, malformed to a strict parser, past a budget, no string handler, a repeated key), every code file of the archive (`.py`, `.pyc`, `.so`, `.pyd`, at any depth) is reported under this rule: Python's `json` may still read that manifest, and TorchServe then imports whichever file it names.",
    references: [DOCS, HANDLERS],
  },
  {
    id: "torchserve/shadowed-module",
    title: "TorchServe archive ships a module that replaces a standard or installed one",
    severity: "high",
    description:
      "A top-level module of the archive (`name.py`, `name.pyc`, `name.so`, `name/__init__.py` ...) is named like a standard library module (`platform`, `json` ...) or a package the worker and handlers import (`torch`, `numpy`, `ts` ...). TorchServe puts the extracted model directory first on the worker's Python path, so the archive's module is imported instead of the real one, whatever the manifest's handler is, and its code runs when the model is loaded.",
    references: [HANDLERS, "https://docs.python.org/3/library/sys.html#sys.path"],
  },
  {
    id: "torchserve/model-code",
    title: "TorchServe archive ships model definition code",
    severity: "high",
    description:
      "The manifest's `model.modelFile` names a Python file of the archive: TorchServe's base handler imports it to rebuild an eager-mode model when the model is loaded, so it runs on load.",
    references: [DOCS],
  },
  {
    id: "torchserve/builtin-handler",
    title: "TorchServe built-in handler",
    severity: "info",
    description:
      "The handler is one of TorchServe's built-in handlers (`image_classifier`, `text_classifier`, `object_detector`, `image_segmenter`) and no member of the archive shadows it: no code of the archive is imported for it.",
    references: [HANDLERS],
  },
  {
    id: "torchserve/unknown-handler",
    title: "TorchServe handler is neither built in nor in the archive",
    severity: "medium",
    description:
      "The handler names a module that is not in the archive and is not a known built-in handler: TorchServe imports it from the serving environment (any installed module), then tries `ts.torch_handler.<name>`. What runs depends on the host, not on the artifact.",
    references: [HANDLERS],
  },
  {
    id: "torchserve/requirements",
    title: "TorchServe archive installs Python packages",
    severity: "medium",
    description:
      "The archive carries a `requirements.txt` (or the manifest names a `requirementsFile`): with `install_py_dep_per_model=true` TorchServe runs `pip install -r` on it when the model is registered, which runs the packages' build and install code and can fetch from any index the file names.",
    references: ["https://github.com/pytorch/serve/blob/master/docs/configuration.md"],
  },
  {
    id: "torchserve/missing-member",
    title: "TorchServe manifest names a file the archive lacks",
    severity: "medium",
    description:
      "The manifest's `serializedFile`, `modelFile`, `requirementsFile` or `configFile` is not a member of the archive: the archive does not match its manifest (a loader would fail, or pick the file up from its working directory).",
    references: [DOCS],
  },
  {
    id: "torchserve/java-yaml-tag",
    title: "TorchServe model config constructs a Java class",
    severity: "high",
    description:
      "A YAML file of the model archive or folder (the `model-config.yaml` the manifest's `configFile` names, or any `.yaml`/`.yml` file beside `MAR-INF/`) tags a node with a Java class (`!!java.net.URL`, `!<tag:yaml.org,2002:javax.script.ScriptEngineManager>`, the same through a `%TAG` handle or %-escapes). TorchServe's frontend reads the model config with SnakeYAML (`ArchiveUtils.readYamlFile`), whose 1.x `Constructor` builds any class a global tag names: the `ScriptEngineManager`/`URLClassLoader` chain loads and runs a remote jar when the model is registered, before any Python code (CVE-2022-1471). Critical for the known gadget classes (script engines, class loaders, JNDI lookups, `JdbcRowSetImpl`, Spring application contexts, connection pools), high for any other Java class. A YAML file past modelgate's budgets is reported as `scan/budget-exceeded`.",
    cve: ["CVE-2022-1471"],
    references: ["https://nvd.nist.gov/vuln/detail/CVE-2022-1471", HANDLERS],
  },
  {
    id: "torchserve/malformed",
    title: "TorchServe manifest is missing or malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The archive has no readable `MAR-INF/MANIFEST.json`, or it is not a JSON object with a `model` object naming a `handler`, or it is past modelgate's budgets: what TorchServe would do with it was not established (a loader more lenient than the strict parser may still load it). The archive's code files are then reported as handlers (`torchserve/custom-handler`).",
    references: [DOCS],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof torchserveRules)[number]["id"], true> {}
}
