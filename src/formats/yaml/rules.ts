// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * Rules of the yaml area: YAML configs (hparams, hydra/omegaconf configs, NeMo `model_config.yaml`,
 * MLflow `MLmodel`) that a loader turns into objects or calls.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const PYYAML = "https://pyyaml.org/wiki/PyYAMLDocumentation";
const HYDRA = "https://hydra.cc/docs/advanced/instantiate_objects/overview/";
const OMEGACONF = "https://omegaconf.readthedocs.io/en/latest/custom_resolvers.html";

/** yaml rules. */
export const yamlRules = [
  {
    id: "yaml/python-tag",
    title: "PyYAML python object tag",
    severity: "critical",
    description:
      'A node carries a PyYAML python tag that imports or calls a Python name (`!!python/object/apply:`, `!!python/object/new:`, `!!python/object:`, `!!python/name:`, `!!python/module:`, also spelled `tag:yaml.org,2002:python/...`, through a `%TAG` handle or with %-escapes). `yaml.unsafe_load`, `yaml.load(..., Loader=yaml.Loader)` and `full_load` in PyYAML before 5.4 import the module and call the named callable with the node\'s arguments: `!!python/object/apply:os.system ["id"]` runs a command when the config is loaded.',
    cve: ["CVE-2017-18342", "CVE-2020-1747", "CVE-2020-14343"],
    references: [PYYAML, "https://github.com/yaml/pyyaml/wiki/PyYAML-yaml.load(input)-Deprecation"],
  },
  {
    id: "yaml/python-data-tag",
    title: "PyYAML python data tag",
    severity: "low",
    description:
      "A node carries a PyYAML python data tag (`!!python/tuple`, `!!python/str`, `!!python/complex` ...). It calls nothing, but only the unsafe loaders accept it: a config that needs one is loaded with a loader that also honours object tags.",
    references: [PYYAML],
  },
  {
    id: "yaml/unknown-tag",
    title: "Application-specific YAML tag",
    severity: "medium",
    description:
      "A node carries a tag that is neither a YAML core tag nor a PyYAML tag (`!include`, `!env`, a custom URI). What it does depends on a constructor the loading application registered; modelgate cannot know whether that constructor reads files, fetches URLs or runs code.",
    references: ["https://yaml.org/spec/1.2.2/#tags"],
  },
  {
    id: "yaml/hydra-target",
    title: "Hydra/OmegaConf `_target_` outside the allowlist",
    severity: "high",
    description:
      "A mapping has a `_target_` (in a NeMo `model_config.yaml` also a top-level `target`, and what NeMo's config upgrade and Hydra 1.0 read as one when `_target_` is absent: `cls`, `class`, a nested `target`, with `params` flattened into the mapping) naming a callable outside the allowlist of ML classes (torch.nn, torch.optim, transformers classes, NeMo collections, Lightning callbacks and loggers, torchvision/torchaudio transforms, timm). `hydra.utils.instantiate` imports and calls it with the mapping's other keys (`_args_`, `_partial_`), so `_target_: os.system` runs a command when the config is instantiated. Names on the pickle denylist (process, eval/exec, importers, deserializers) are critical; `hydra.utils.get_method`/`get_class` are judged by the `path` they resolve.",
    references: [HYDRA, "https://docs.nvidia.com/nemo-framework/user-guide/latest/nemotoolkit/core/core.html"],
  },
  {
    id: "yaml/external-weights",
    title: "Config loads weights from outside the artifact",
    severity: "medium",
    description:
      "A latent-diffusion (`ldm.*`) or generative-models (`sgm.*`) class in a config `instantiate_from_config` builds is given a checkpoint path (`ckpt_path`, `ckpt`, `model_path`) that leaves the artifact (absolute, `..`, a URL, an interpolation), which its constructor loads with `torch.load` (a pickle this scan never saw), or a `version`/`pretrained` model other than the ones the shipped Stable Diffusion configs name, fetched by that name. Classes of those packages are allowlisted as targets; what their parameters load is judged here.",
  },
  {
    id: "yaml/custom-resolver",
    title: "OmegaConf custom resolver",
    severity: "high",
    description:
      "A value interpolates a resolver OmegaConf does not ship (`${eval:...}`, `${python:...}`, `${my_resolver:...}`). It runs whatever function the application registered under that name when the value is read; projects commonly register `eval`, which makes the config code. Resolvers named after code execution (eval, exec, python, shell ...) are high, other unknown ones medium. `oc.create` and `oc.decode` are reported too: they build config nodes from their argument when the config is resolved (Hydra resolves before it instantiates), and the argument is analysed as YAML (a `_target_` built that way makes it high).",
    references: [OMEGACONF],
  },
  {
    id: "yaml/env-resolver",
    title: "OmegaConf environment interpolation",
    severity: "info",
    description: "A value reads an environment variable (`${oc.env:VAR}`) when it is resolved.",
    references: [OMEGACONF],
  },
  {
    id: "yaml/duplicate-key",
    title: "Duplicate YAML key",
    severity: "low",
    description:
      "A mapping has the same key twice. PyYAML keeps the last value, other parsers the first or refuse the file: a reviewer and the loader can read different configs (a benign `_target_` shown first, another one used).",
    references: ["https://yaml.org/spec/1.2.2/#mapping"],
  },
  {
    id: "yaml/alias-bomb",
    title: "YAML alias expansion past the budget",
    severity: "medium",
    invalidates: true,
    description:
      'Anchors and aliases expand to more nodes than the budget allows, or an alias refers to its own ancestor ("billion laughs"). Loaders that copy the tree (OmegaConf, `json.dumps` of the loaded dict) exhaust memory or recurse without end. modelgate measures the expansion without performing it.',
    references: ["https://en.wikipedia.org/wiki/Billion_laughs_attack"],
  },
  {
    id: "yaml/malformed",
    title: "YAML does not parse",
    severity: "medium",
    invalidates: true,
    description:
      "The file claims YAML (by its name or its `%YAML`/`---` opening) but does not parse, or nests deeper or holds more nodes than the budgets allow, or holds what PyYAML and OmegaConf refuse once composed: an alias naming no anchor before it, a mapping key that is a collection or an alias of one (a key written as an alias of a scalar, `*t : os.system`, is read as that scalar, as the loaders read it). Parsers differ on malformed YAML, so what a loader makes of it is unknown; python tags found before the error are still reported.",
    references: ["https://yaml.org/spec/1.2.2/"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  interface RuleRegistry extends Record<(typeof yamlRules)[number]["id"], true> {}
}
