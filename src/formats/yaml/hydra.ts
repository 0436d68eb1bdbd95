/**
 * What a loader calls from one mapping of a config: Hydra's `_target_` everywhere; in a NeMo
 * config (`model_config.yaml`) also the keys NeMo and older Hydra turn into one. NeMo's
 * `from_config_dict` first runs its Hydra 0.x upgrade on the whole config (`cls` becomes `_target_`
 * in every mapping that has none, a `params` mapping is flattened into its parent, later keys
 * winning), then instantiates the mapping; without a `_target_` it imports the mapping's `target`
 * and calls it with the config. Hydra 1.0's `instantiate` still read `cls`, `class` and `target`
 * when `_target_` is absent (removed in 1.1). Those keys are judged as `_target_` is. Outside NeMo
 * configs, a mapping's `target` naming a dotted path is judged too: latent-diffusion's and
 * generative-models' `instantiate_from_config` imports it and calls it with `params`.
 * @module
 */
import { isAlias, isMap, isSeq } from "yaml";
import type { FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { PicklePolicy } from "../pickle/policy/index.js";
import { scalarText, type YamlKeys } from "./keys.js";
import { HYDRA_RESOLVERS, judgeTarget } from "./targets.js";

export { scalarText } from "./keys.js";

/** The keys a loader reads a callable's dotted path from. */
export type TargetKey = "_target_" | "cls" | "class" | "target";

/**
 * The value of a key of a map (the last one, as PyYAML keeps it); keys read as the loaders read
 * them (an alias key is the scalar its anchor names: `./keys.ts`).
 */
export function mapGet(node: unknown, key: string, keys: YamlKeys): unknown {
  if (!isMap(node)) return undefined;
  let found: unknown;
  for (const pair of node.items) if (keys.text(pair.key) === key) found = pair.value;
  return found;
}

/** Reads a key of a mapping as the loader sees it. */
export type Lookup = (key: string) => unknown;

/**
 * A mapping's keys as NeMo's upgrade leaves them: a `params` mapping's keys replace the parent's.
 * @param map - the mapping
 * @param flattenParams - whether `params` is flattened (NeMo configs)
 */
export function lookupOf(map: unknown, flattenParams: boolean, keys: YamlKeys): Lookup {
  const params = flattenParams ? mapGet(map, "params", keys) : undefined;
  if (!isMap(params)) return (key) => mapGet(map, key, keys);
  return (key) => {
    const fromParams = mapGet(params, key, keys);
    return fromParams === undefined ? mapGet(map, key, keys) : fromParams;
  };
}

/** What judging one mapping needs. */
export interface HydraMapContext {
  readonly policy: PicklePolicy;
  /** NeMo semantics (its Hydra 0.x upgrade, `target`, Hydra 1.0's aliases). */
  readonly nemo: boolean;
  /** The document's root mapping (its `target` is judged by the caller, see `topLevelTarget`). */
  readonly isRoot: boolean;
  readonly line: (node: unknown) => number;
  /** The document's key reader. */
  readonly keys: YamlKeys;
}

/** Why an alias key is read as `_target_`. */
const ALIAS_REASON: Record<Exclude<TargetKey, "_target_">, string> = {
  cls: "NeMo's config upgrade renames `cls` to `_target_`",
  class: "Hydra 1.0 reads `class` as `_target_`",
  target: "NeMo's from_config_dict imports `target` and calls it with the config; Hydra 1.0 reads it as `_target_`",
};

/** Why a `target` outside NeMo configs is read as a callable. */
const LDM_REASON =
  "latent-diffusion's instantiate_from_config imports `target` and calls it with `params` (Stable Diffusion UIs load the config beside a checkpoint)";

/** A `class` or `target` value that may name a callable: a dotted name or an interpolation. */
export const CALLABLE_LIKE = /^\s*[A-Za-z_]\w*\s*\.|\$\{/;

/**
 * Judges a mapping's `_target_` (or, in a NeMo config, the key NeMo and Hydra 1.0 read instead)
 * and a `trust_remote_code` passed beside it.
 * @param list - where findings go
 * @param map - a composed mapping
 * @param keys - its keys
 * @param ctx - policy, NeMo semantics, line numbers
 */
export function judgeHydraMap(list: FindingList, map: unknown, keys: ReadonlySet<string>, ctx: HydraMapContext): void {
  const lookup = lookupOf(map, ctx.nemo, ctx.keys);
  const judged: TargetKey[] = [];
  if (keys.has("_target_")) judged.push("_target_");
  else if (!ctx.nemo && keys.has("target")) {
    // latent-diffusion's and generative-models' instantiate_from_config (Stable Diffusion UIs load
    // the `.yaml` beside a checkpoint with it): `target` is imported and called with `params`.
    const value = mapGet(map, "target", ctx.keys);
    const text = scalarText(value);
    if (isAlias(value) || (text !== undefined && CALLABLE_LIKE.test(text))) judged.push("target");
  } else if (ctx.nemo) {
    // NeMo renames `cls` whatever its value; Hydra 1.0 and NeMo's `target` import only a string.
    if (keys.has("cls")) judged.push("cls");
    for (const key of ["class", "target"] as const) {
      if (!keys.has(key) || (key === "target" && ctx.isRoot)) continue;
      const value = mapGet(map, key, ctx.keys);
      const text = scalarText(value);
      if (isAlias(value) || (text !== undefined && CALLABLE_LIKE.test(text))) judged.push(key);
    }
  }
  for (const key of judged) {
    const via = key === "_target_" ? undefined : ctx.nemo ? ALIAS_REASON[key] : LDM_REASON;
    judgeMapTarget(list, map, key, ctx, { lookup, ...(via === undefined ? {} : { via }) });
    judgeDiffusionParams(list, map, scalarText(mapGet(map, key, ctx.keys)), ctx);
  }
  const target = judged[0];
  if (target === undefined || target === "target") return;
  const trustNode = lookup("trust_remote_code");
  if (trustNode === undefined) return;
  // an allowed loader (`AutoModel.from_pretrained`) told to run the model repository's code
  const trust = scalarText(trustNode);
  if (trust !== undefined && /^(?:false|False|FALSE|no|No|NO|off|Off|OFF|0|null|~|)$/.test(trust.trim())) return;
  const callee = scalarText(mapGet(map, target, ctx.keys)) ?? "";
  list.add({
    ruleId: "yaml/hydra-target",
    severity: "high",
    message: `line ${ctx.line(map)}: \`${preview(callee, 100)}\` is instantiated with trust_remote_code: ${preview(trust ?? "(not a plain value)", 40)}: it imports and runs the code of the repository it loads`,
    evidence: { callee: preview(callee, 160), line: ctx.line(map), reason: "trust_remote_code" },
  });
}

/** Parameters of latent-diffusion / generative-models classes that load weights by path or name. */
const WEIGHT_PATH_PARAMS: ReadonlySet<string> = new Set(["ckpt_path", "ckpt", "model_path", "pretrained_model_path"]);
const WEIGHT_NAME_PARAMS: ReadonlySet<string> = new Set(["version", "clip_version", "t5_version", "pretrained"]);
/** Parameters resolved with `get_obj_from_str` and called (generative-models' `network_wrapper`). */
const CALLABLE_PARAMS: ReadonlySet<string> = new Set(["network_wrapper"]);
/** Hub models the shipped Stable Diffusion configs name (their text encoders). */
const KNOWN_WEIGHTS: ReadonlySet<string> = new Set([
  "openai/clip-vit-large-patch14",
  "openai/clip-vit-base-patch32",
  "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
  "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
  "google/t5-v1_1-xxl",
  "google/t5-v1_1-large",
]);
/** A path that leaves the artifact (absolute, home, parent) or a URL. */
const OUTSIDE = /^\s*(?:[/~\\]|[A-Za-z]:[/\\]|[A-Za-z][\w+.-]*:\/\/)|(?:^|[/\\])\.\.(?:[/\\]|$)/;

/**
 * The `params` of an allowlisted latent-diffusion / generative-models class: those classes load
 * weights with `torch.load(ckpt_path)` (a pickle) or `from_pretrained`/open_clip by `version`,
 * and resolve `network_wrapper` with `get_obj_from_str` and call it. A path outside the artifact
 * (absolute, `..`, a URL) or a model other than the ones the shipped configs name loads weights
 * this scan did not see (medium); a `network_wrapper` is judged as a target.
 */
function judgeDiffusionParams(
  list: FindingList,
  map: unknown,
  target: string | undefined,
  ctx: Pick<HydraMapContext, "policy" | "line" | "keys">,
): void {
  if (target === undefined || !/^\s*(?:ldm|sgm)\./.test(target)) return;
  const params = mapGet(map, "params", ctx.keys);
  if (!isMap(params)) return;
  for (const pair of params.items) {
    const key = ctx.keys.text(pair.key);
    if (key === undefined) continue;
    if (CALLABLE_PARAMS.has(key)) {
      judgeMapTarget(list, params, key as TargetKey, ctx, {
        via: "generative-models resolves it with get_obj_from_str and calls it",
      });
      continue;
    }
    const value = scalarText(pair.value);
    if (value === undefined || value.trim() === "") continue;
    const path = WEIGHT_PATH_PARAMS.has(key);
    if (!path && !WEIGHT_NAME_PARAMS.has(key)) continue;
    const outside = OUTSIDE.test(value) || value.includes("${");
    const external = !path && value.includes("/") && !KNOWN_WEIGHTS.has(value.trim());
    if (!outside && !external) continue;
    list.add({
      ruleId: "yaml/external-weights",
      message: `line ${ctx.line(pair.value)}: \`${key}: ${preview(value, 100)}\` makes ${preview(target.trim(), 80)} load weights ${path ? "with torch.load (a pickle)" : "by that name"} from outside the scanned artifact`,
      evidence: { key, value: preview(value, 160), target: preview(target.trim(), 120), line: ctx.line(pair.value) },
    });
  }
}

/**
 * Judges the callable one key of a mapping names.
 * @param list - where findings go
 * @param map - the mapping
 * @param key - the key naming the callable
 * @param ctx - policy and line numbers
 * @param how - `lookup` reads the mapping's other keys (`_args_`, `path`, `_partial_`) as the
 *   loader does; `via` says why the key names a callable (when it is not `_target_`)
 */
export function judgeMapTarget(
  list: FindingList,
  map: unknown,
  key: TargetKey,
  ctx: Pick<HydraMapContext, "policy" | "line" | "keys">,
  how: { readonly lookup?: Lookup; readonly via?: string } = {},
): void {
  const lookup = how.lookup ?? ((k: string) => mapGet(map, k, ctx.keys));
  const via = how.via;
  const value = mapGet(map, key, ctx.keys);
  if (value === undefined) return;
  const target = scalarText(value);
  const at = ctx.line(value);
  if (target === undefined) {
    list.add({
      ruleId: "yaml/hydra-target",
      message: `line ${at}: \`${key}\` is not a plain string (an alias or a collection): what it names is decided at load time${via === undefined ? "" : ` (${via})`}`,
      evidence: { key, line: at },
    });
    return;
  }
  let judged = judgeTarget(target, ctx.policy);
  let resolved: string | undefined;
  if (HYDRA_RESOLVERS.has(target.trim())) {
    // get_method/get_class return what `path` names: that is what the config hands out.
    const args = lookup("_args_");
    const path = scalarText(lookup("path")) ?? (isSeq(args) ? scalarText(args.items[0]) : undefined);
    resolved = path;
    judged =
      path === undefined
        ? { severity: "high", reason: `${target.trim()} resolves a path that is not given as a plain string` }
        : judgeTarget(path, ctx.policy);
  }
  if (judged.severity === undefined) return;
  const partial = scalarText(lookup("_partial_"));
  const what = resolved === undefined ? preview(target, 100) : `${preview(target, 60)} → ${preview(resolved, 100)}`;
  list.add({
    ruleId: "yaml/hydra-target",
    severity: judged.severity,
    message: `line ${at}: \`${key}: ${what}\` ${partial === "true" || partial === "True" ? "hands out" : "calls"} a callable when the config is instantiated (${judged.reason})${via === undefined ? "" : ` (${via})`}`,
    evidence: {
      key,
      callee: preview(resolved ?? target, 160),
      line: at,
      reason: judged.reason,
      ...(judged.category === undefined ? {} : { category: judged.category }),
      ...(partial === undefined ? {} : { partial }),
    },
  });
}
