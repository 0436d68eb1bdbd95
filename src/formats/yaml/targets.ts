/**
 * What a hydra/omegaconf config may instantiate: `_target_` names judged by the pickle denylist
 * (the same classification the pickle engine uses: `os.system` is critical in a config as in a
 * pickle) and an allowlist of ML classes; and the OmegaConf resolvers a value may call.
 * @module
 */
import type { Severity } from "../../core/severity.js";
import type { PicklePolicy } from "../pickle/policy/index.js";

/**
 * Dotted prefixes (ending in `.`) and exact names of ML callables a config may instantiate:
 * layers, losses, optimizers, schedulers, data loaders, transforms, NeMo modules, Lightning
 * callbacks, loggers and trainers. The denylist is consulted first, so a dangerous name under one
 * of these prefixes (`torch.utils.data.datapipes.utils.decoder`) is still reported.
 */
const ML_PREFIXES: readonly string[] = [
  // latent-diffusion (CompVis/Stability `ldm`) and generative-models (`sgm`) model classes, which
  // Stable Diffusion checkpoint configs instantiate
  "ldm.models.",
  "ldm.modules.",
  "ldm.lr_scheduler.",
  "sgm.models.",
  "sgm.modules.",
  "sgm.lr_scheduler.",
  "torch.nn.",
  "torch.optim.",
  "torch.utils.data.",
  "torchvision.transforms.",
  "torchvision.ops.",
  "torchaudio.transforms.",
  "torchmetrics.",
  "nemo.collections.",
  "nemo.core.optim.",
  "nemo.core.neural_types.",
  "lightning.pytorch.callbacks.",
  "lightning.pytorch.loggers.",
  "lightning.pytorch.strategies.",
  "lightning.pytorch.plugins.precision.",
  "pytorch_lightning.callbacks.",
  "pytorch_lightning.loggers.",
  "pytorch_lightning.strategies.",
  "pytorch_lightning.plugins.precision.",
  "timm.models.",
  "timm.layers.",
  "timm.optim.",
  "timm.scheduler.",
  "timm.data.transforms.",
  "transformers.optimization.",
  "transformers.models.",
];
const ML_NAMES: ReadonlySet<string> = new Set([
  "lightning.pytorch.Trainer",
  "lightning.Trainer",
  "pytorch_lightning.Trainer",
  "timm.create_model",
]);
/** `transformers.<Class>` (configs and model classes; functions such as `pipeline` are not in it). */
const TRANSFORMERS_CLASS = /^transformers\.[A-Z]\w*$/;

/** Hydra helpers that resolve a dotted path given as `path` (or the first positional argument). */
export const HYDRA_RESOLVERS: ReadonlySet<string> = new Set([
  "hydra.utils.get_method",
  "hydra.utils.get_class",
  "hydra.utils.get_object",
  "hydra.utils.get_static_method",
  "hydra._internal.utils._locate",
  "hydra._internal.utils.get_method",
  "hydra._internal.utils.get_class",
]);

/** Whether a dotted name is an allowlisted ML callable. */
export function isMlCallable(name: string): boolean {
  return ML_NAMES.has(name) || TRANSFORMERS_CLASS.test(name) || ML_PREFIXES.some((p) => name.startsWith(p));
}

/** The judgement of one `_target_`. */
export interface TargetJudgement {
  /** Undefined when the target is allowed. */
  readonly severity?: Severity;
  readonly reason: string;
  readonly category?: string;
}

const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;

/**
 * Judges a `_target_` value.
 * @param name - the value as written
 * @param policy - the pickle policy (denylist, allowlist profiles, the caller's allow/deny)
 */
export function judgeTarget(name: string, policy: PicklePolicy): TargetJudgement {
  const target = name.trim();
  if (target.includes("${"))
    return { severity: "high", reason: "the target is interpolated: it is chosen at load time" };
  if (!DOTTED.test(target)) return { severity: "high", reason: "not a plain dotted Python path" };
  const c = policy.classify(target, 1);
  if (c.status === "denied") {
    return {
      severity: c.severity === "critical" ? "critical" : "high",
      reason: `denylisted: ${c.reason}`,
      ...(c.category === undefined ? {} : { category: c.category }),
    };
  }
  if (isMlCallable(target)) return { reason: "allowlisted ML class" };
  if (c.status === "allowed" && c.allowedUse === "call") return { reason: c.reason };
  return { severity: "high", reason: "outside the allowlist of ML classes" };
}

/** OmegaConf and Hydra resolvers that compute nothing from code (`oc.create`/`oc.decode`: see {@link builtNodes}). */
const KNOWN_RESOLVERS: ReadonlySet<string> = new Set([
  "oc.decode",
  "oc.create",
  "oc.deprecated",
  "oc.select",
  "oc.dict.keys",
  "oc.dict.values",
  "hydra",
  "now",
]);
/** Resolver names that suggest code evaluation. */
const CODE_RESOLVER =
  /^(?:eval|exec|python|py|lambda|import|call|sh|shell|bash|system|cmd|run|os|subprocess|compile)$/i;

/** An OmegaConf resolver used in a value. */
export interface ResolverUse {
  readonly name: string;
  /** undefined: a known harmless resolver; `info` for `oc.env`. */
  readonly severity?: Severity;
}

/**
 * The resolvers a string interpolates (`${name:args}`), escaped `\${` excluded.
 * @param value - a scalar's text
 */
export function resolversIn(value: string): ResolverUse[] {
  if (!value.includes("${")) return [];
  const out: ResolverUse[] = [];
  // A resolver whose name is itself interpolated (`${oc.${n}:...}`): chosen when the value is read.
  for (const m of value.matchAll(/(\\?)\$\{\s*[\w.-]*\$\{/g)) {
    if (m[1] === "\\") continue;
    out.push({ name: "(a name computed at load time)", severity: "high" });
    break;
  }
  // `${VAR:-default}` and its kin are shell parameter expansions (compose files, CI), not resolvers.
  // Every use is read (the value's length bounds them). Past 64 uses only one of a severity not
  // listed yet is kept: the judgement (rule and severity) of a later use is never dropped.
  const severities = new Set<Severity | undefined>(out.map((u) => u.severity));
  for (const m of value.matchAll(/(\\?)\$\{\s*([A-Za-z_][\w.-]*)\s*:(?![-=?+])/g)) {
    if (m[1] === "\\" || m[2] === undefined) continue;
    const name = m[2];
    const use: ResolverUse =
      name === "oc.env" || name === "env"
        ? { name, severity: "info" }
        : KNOWN_RESOLVERS.has(name)
          ? { name }
          : { name, severity: CODE_RESOLVER.test(name) ? "high" : "medium" };
    if (out.length >= 64 && severities.has(use.severity)) continue;
    severities.add(use.severity);
    out.push(use);
  }
  return out;
}

/** A config text a resolver turns into nodes when the value is resolved. */
export interface BuiltNode {
  /** `oc.create` or `oc.decode`. */
  readonly resolver: string;
  /** Its argument as YAML text (a quoted string unquoted). */
  readonly text: string;
}

/**
 * The arguments of `${oc.create:...}` and `${oc.decode:...}` in a value, nested ones included:
 * OmegaConf builds config nodes from them when the value is resolved (Hydra resolves a config
 * before it instantiates it), so a `_target_` inside one is instantiated like any other.
 * @param value - a scalar's text
 */
export function builtNodes(value: string): BuiltNode[] {
  if (!value.includes("${")) return [];
  const out: BuiltNode[] = [];
  for (const m of value.matchAll(/(\\?)\$\{\s*(oc\.create|oc\.decode)\s*:/g)) {
    if (m[1] === "\\" || m[2] === undefined) continue;
    // the argument runs to the `}` that closes this interpolation (quotes and nested braces skipped)
    let depth = 1;
    let quote = "";
    let i = (m.index ?? 0) + m[0].length;
    const start = i;
    for (; i < value.length && depth > 0; i++) {
      const c = value[i];
      if (quote !== "") {
        if (c === "\\") i++;
        else if (c === quote) quote = "";
      } else if (c === "'" || c === '"') quote = c;
      else if (c === "{") depth++;
      else if (c === "}") depth--;
    }
    let text = value.slice(start, depth === 0 ? i - 1 : i).trim();
    const q = text[0];
    if ((q === "'" || q === '"') && text.endsWith(q) && text.length >= 2) {
      text = text.slice(1, -1).replace(q === "'" ? /\\(['\\])/g : /\\(["\\])/g, "$1");
    }
    // OmegaConf's grammar reads `{a:b}` as a key and its value; YAML's flow mapping as one key
    // Every one: past the analysis's shared budget the caller reports an unread argument high.
    out.push({ resolver: m[2], text: spaceAfterColons(text) });
  }
  return out;
}

/** `text` with a space after every `:` outside quotes that has none (see {@link builtNodes}). */
function spaceAfterColons(text: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    out += c;
    if (quote !== "") {
      if (c === "\\") out += text[++i] ?? "";
      else if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ":" && i + 1 < text.length && !/\s/.test(text[i + 1] as string)) out += " ";
  }
  return out;
}
