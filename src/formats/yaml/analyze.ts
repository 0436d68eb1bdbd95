/**
 * The YAML analysis shared by every YAML-bearing format (plain YAML, NeMo `model_config.yaml`,
 * MLflow `MLmodel`): tags a loader would construct, hydra `_target_`s, OmegaConf resolvers,
 * duplicate keys, alias expansion, parse errors. Reads nothing: it takes the text.
 * @module
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { PicklePolicy } from "../pickle/policy/index.js";
import { CALLABLE_LIKE, judgeHydraMap, judgeMapTarget, lookupOf, mapGet, scalarText } from "./hydra.js";
import { yamlKeys } from "./keys.js";
import { composeYaml, expansionSize, lexYaml, YAML_BUDGETS, type YamlBudgets, type YamlTag } from "./parse.js";
import { builtNodes, resolversIn } from "./targets.js";

export { mapGet } from "./hydra.js";

/** Options of {@link analyzeYamlText}. */
export interface YamlAnalysisOptions {
  /** The pickle policy whose denylist and allowlists judge callables. */
  readonly policy: PicklePolicy;
  readonly budgets?: YamlBudgets;
  readonly checkpoint?: () => void;
  /**
   * Set for NeMo's `model_config.yaml`: judge its top-level `target` key (`restore_from` imports
   * it): `all` inside a NeMo archive, `dotted` (only values that look like a Python path, not a
   * column name) for a `model_config.yaml` elsewhere. Either also applies NeMo's config upgrade
   * (`cls` read as `_target_`, `params` flattened) and Hydra 1.0's aliases (see `./hydra.ts`).
   */
  readonly topLevelTarget?: "all" | "dotted" | undefined;
  /** How deep this text is inside resolver arguments (see `builtNodes`; internal). */
  readonly nesting?: number;
  /**
   * Resolver arguments the whole analysis may still parse (internal; shared by the nested
   * analyses, so that nested and repeated `oc.create` cannot multiply the work).
   */
  readonly builtLeft?: { n: number; chars: number };
}

/** Resolver arguments (`oc.create`, `oc.decode`) one analysis parses at most, nested ones included. */
const MAX_BUILT_ANALYSES = 64;
/** Characters of such arguments one analysis parses at most. */
const MAX_BUILT_CHARS = 1 << 20;

/** What {@link analyzeYamlText} returns. */
export interface YamlAnalysis {
  /** Findings, capped per rule (summaries included). */
  readonly findings: FindingInput[];
  /** The composed documents (empty past a budget). */
  readonly docs: readonly Document.Parsed[];
  /** Whether the text parsed without error. */
  readonly ok: boolean;
  /** A budget the text exceeded: the caller throws it after reporting the findings. */
  readonly exceeded?: ModelgateError;
}

const PYTHON_PREFIX = "tag:yaml.org,2002:python/";
/** PyYAML's multi-constructors that import or call the name after the colon. */
const PYTHON_CALLING = /^(object\/apply|object\/new|object|name|module):([\s\S]*)$/;
/** PyYAML's python data tags (built by the full and unsafe loaders, calling nothing). */
const PYTHON_DATA = new Set([
  "none",
  "bool",
  "str",
  "unicode",
  "bytes",
  "int",
  "long",
  "float",
  "complex",
  "list",
  "tuple",
  "dict",
]);
/** YAML core and YAML 1.1 type tags (`!!str`, `!!binary`, `!!set` ...). */
const CORE_TAGS = new Set(
  [
    "str",
    "int",
    "float",
    "bool",
    "null",
    "map",
    "seq",
    "binary",
    "timestamp",
    "omap",
    "pairs",
    "set",
    "merge",
    "value",
  ].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Line numbers of character offsets. */
function lineIndex(text: string): (at: number) => number {
  const starts: number[] = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (at) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] ?? 0) <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function reportTag(list: FindingList, tag: YamlTag, line: number, policy: PicklePolicy): void {
  const where = { tag: preview(tag.raw, 160), line };
  if (tag.tag.startsWith(PYTHON_PREFIX)) {
    const rest = tag.tag.slice(PYTHON_PREFIX.length);
    const call = PYTHON_CALLING.exec(rest);
    if (call !== null) {
      const callee = call[2] ?? "";
      const c = callee.length > 0 ? policy.classify(callee, 1) : undefined;
      list.add({
        ruleId: "yaml/python-tag",
        message: `line ${line}: \`${preview(tag.raw, 100)}\` makes PyYAML's unsafe loaders ${call[1] === "name" || call[1] === "module" ? "import" : "import and call"} ${callee.length > 0 ? preview(callee, 100) : "a Python name"}${c?.status === "denied" ? ` (${c.reason})` : ""}`,
        evidence: {
          ...where,
          constructor: `python/${call[1]}`,
          callee: preview(callee, 160),
          ...(c?.category === undefined ? {} : { category: c.category }),
        },
      });
      return;
    }
    if (PYTHON_DATA.has(rest)) {
      list.add({
        ruleId: "yaml/python-data-tag",
        message: `line ${line}: \`${preview(tag.raw, 60)}\` is only accepted by PyYAML's full and unsafe loaders`,
        evidence: where,
      });
      return;
    }
  }
  if (tag.tag === "!" || CORE_TAGS.has(tag.tag)) return;
  list.add({
    ruleId: "yaml/unknown-tag",
    message: `line ${line}: application-specific tag \`${preview(tag.raw, 100)}\` (${preview(tag.tag, 100)})`,
    evidence: { ...where, resolved: preview(tag.tag, 160) },
  });
}

/**
 * Characters PyYAML's reader refuses (outside tab, line breaks, printable ASCII, NEL and the
 * printable Unicode ranges; U+FFFE/U+FFFF and lone surrogates included).
 */
const NON_PRINTABLE = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/**
 * Analyses a YAML text.
 * @param text - the text
 * @param options - policy, budgets, checkpoint
 */
export function analyzeYamlText(source: string, options: YamlAnalysisOptions): YamlAnalysis {
  // PyYAML (OmegaConf, Hydra, MLflow) breaks lines at CR, NEL, LS and PS as at LF; the parser here
  // (YAML 1.2) only at LF and CRLF, so a "comment" would hide what follows such a break. One
  // character for one keeps every offset.
  const text = source.replace(/\r(?!\n)|[\u0085\u2028\u2029]/g, "\n");
  const builtLeft = options.builtLeft ?? { n: MAX_BUILT_ANALYSES, chars: MAX_BUILT_CHARS };
  const budgets = options.budgets ?? YAML_BUDGETS;
  const checkpoint = options.checkpoint;
  const list = new FindingList();
  const lineOf = lineIndex(text);
  const scan = lexYaml(text, budgets, checkpoint);
  for (const tag of scan.tags) reportTag(list, tag, lineOf(tag.at), options.policy);
  if (scan.tagCount > scan.tags.length) {
    list.add({
      ruleId: "yaml/unknown-tag",
      message: `${scan.tagCount - scan.tags.length} more tags were not examined (budget ${budgets.maxTags})`,
      evidence: { tags: scan.tagCount },
    });
  }
  const budgetError = (budget: string, message: string) =>
    new ModelgateError("BUDGET_EXCEEDED", `YAML ${message}`, { budget });
  if (scan.exceeded !== undefined) {
    return {
      findings: list.list(),
      docs: [],
      ok: false,
      exceeded: budgetError(scan.exceeded.budget, scan.exceeded.message),
    };
  }
  if (scan.aliases > budgets.maxAliases) {
    list.add({
      ruleId: "yaml/alias-bomb",
      message: `${scan.aliases} aliases (budget ${budgets.maxAliases})`,
      evidence: { aliases: scan.aliases },
    });
  }
  checkpoint?.();
  const { docs, errors: composeErrors } = composeYaml(text);
  checkpoint?.();
  // PyYAML's reader refuses a stream holding a character outside YAML's printable set before it
  // parses anything; the parser here is more lenient, so a text PyYAML refuses is malformed too.
  const special = NON_PRINTABLE.exec(text);
  const errors =
    special === null
      ? composeErrors
      : [
          {
            at: special.index,
            message: `special character U+${(special[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")} is not allowed (PyYAML refuses the stream)`,
          },
          ...composeErrors,
        ];
  if (errors.length > 0) {
    const first = errors[0]!;
    list.add({
      ruleId: "yaml/malformed",
      message: `line ${lineOf(first.at)}: ${preview(first.message, 160)}${errors.length > 1 ? ` (${errors.length} errors)` : ""}`,
      evidence: { line: lineOf(first.at), errors: errors.length },
    });
  }
  const line = (n: unknown): number => lineOf((n as Node | null)?.range?.[0] ?? 0);
  const nemo = options.topLevelTarget !== undefined;
  let exceeded: ModelgateError | undefined;
  for (const doc of docs) {
    const root = doc.contents;
    if (scan.aliases > 0 && scan.aliases <= budgets.maxAliases) {
      const size = expansionSize(root, budgets.maxExpandedNodes, checkpoint);
      if (size > budgets.maxExpandedNodes) {
        list.add({
          ruleId: "yaml/alias-bomb",
          message: `aliases expand the document to more than ${budgets.maxExpandedNodes} nodes (or refer to their own ancestors)`,
          evidence: { aliases: scan.aliases, budget: budgets.maxExpandedNodes },
        });
      }
    }
    // Outside an archive the root `target` is judged when it may name a callable as NeMo reads it
    // (resolved by OmegaConf): a dotted name, an interpolation or an alias, not a column name.
    // mapping keys as the loaders read them (alias keys resolved through their anchors)
    const keys = yamlKeys(root, checkpoint);
    if (keys.undefinedAliases > 0) {
      list.add({
        ruleId: "yaml/malformed",
        message: `${keys.undefinedAliases} alias(es) name no anchor before them (first: *${preview(keys.firstUndefined ?? "", 60)}): PyYAML and OmegaConf refuse the document`,
        evidence: { aliases: keys.undefinedAliases },
      });
    }
    const topNode = options.topLevelTarget === undefined ? undefined : mapGet(root, "target", keys);
    const topTarget = scalarText(topNode);
    if (
      options.topLevelTarget === "all" ||
      (options.topLevelTarget === "dotted" &&
        (isAlias(topNode) || (topTarget !== undefined && CALLABLE_LIKE.test(topTarget))))
    ) {
      judgeMapTarget(
        list,
        root,
        "target",
        { policy: options.policy, line, keys },
        { lookup: lookupOf(root, nemo, keys) },
      );
    }
    // Iterative walk; aliases are not followed (the anchored node is walked where it is defined).
    const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
    let steps = 0;
    while (stack.length > 0) {
      if ((++steps & 0xfff) === 0) checkpoint?.();
      const { node, depth } = stack.pop()!;
      if (node === null || node === undefined || isAlias(node)) continue;
      if (depth > budgets.maxDepth) {
        exceeded ??= budgetError("yamlDepth", `collections nested deeper than ${budgets.maxDepth}`);
        continue;
      }
      if (isScalar(node)) {
        const value = scalarText(node);
        if (value === undefined) continue;
        for (const built of builtNodes(value)) {
          // oc.create / oc.decode build config nodes from their argument when the value is read
          // (Hydra resolves the config before it instantiates): the argument is analysed as YAML
          // past the depth or the shared budget the argument is not read: reported high, below
          const affordable = (options.nesting ?? 0) < 4 && builtLeft.n > 0 && builtLeft.chars >= built.text.length;
          if (affordable) {
            builtLeft.n--;
            builtLeft.chars -= built.text.length;
          }
          const nested = affordable
            ? analyzeYamlText(built.text, { ...options, nesting: (options.nesting ?? 0) + 1, builtLeft })
            : undefined;
          const computed = built.text.includes("${");
          list.add({
            ruleId: "yaml/custom-resolver",
            severity:
              computed || nested === undefined || nested.findings.some((f) => f.ruleId === "yaml/hydra-target")
                ? "high"
                : "medium",
            message: `line ${line(node)}: \`${preview(value, 100)}\` builds config nodes with ${built.resolver} when the config is resolved${computed ? " from values computed at that time" : ""}: what it builds is instantiated like the rest`,
            evidence: { resolver: built.resolver, value: preview(value, 160), line: line(node) },
          });
          for (const f of nested?.findings ?? [])
            list.add({ ...f, message: `line ${line(node)}, inside ${built.resolver}: ${f.message}` });
        }
        for (const use of resolversIn(value)) {
          if (use.severity === undefined) continue;
          list.add({
            ruleId: use.severity === "info" ? "yaml/env-resolver" : "yaml/custom-resolver",
            ...(use.severity === "info" ? {} : { severity: use.severity }),
            message: `line ${line(node)}: \`${preview(value, 100)}\` calls the resolver ${use.name}`,
            evidence: { resolver: use.name, value: preview(value, 160), line: line(node) },
          });
        }
        continue;
      }
      if (isMap(node)) {
        const seen = new Set<string>();
        for (const pair of node.items) {
          const read = keys.key(pair.key);
          if (read !== undefined && "unread" in read) {
            list.add({
              ruleId: "yaml/malformed",
              message: `line ${line(pair.key ?? node)}: ${read.unread}: the loaders refuse it (or read a key this analysis cannot), and what it holds was not judged`,
              evidence: { line: line(pair.key ?? node) },
            });
            continue;
          }
          const key = read?.text;
          if (key === undefined || key === "<<") continue;
          if (seen.has(key)) {
            list.add({
              ruleId: "yaml/duplicate-key",
              message: `line ${line(pair.key)}: key ${JSON.stringify(preview(key, 80))} appears more than once in the mapping`,
              evidence: { key: preview(key, 120), line: line(pair.key) },
            });
          } else seen.add(key);
        }
        judgeHydraMap(list, node, seen, { policy: options.policy, nemo, isRoot: node === root, line, keys });
        for (let i = node.items.length - 1; i >= 0; i--) {
          const pair = node.items[i]!;
          stack.push({ node: pair.value, depth: depth + 1 }, { node: pair.key, depth: depth + 1 });
        }
        continue;
      }
      if (isSeq(node)) {
        for (let i = node.items.length - 1; i >= 0; i--) {
          const item = node.items[i];
          // `!!omap` entries are composed as pairs: their keys and values are walked like a mapping's
          if (isPair(item)) stack.push({ node: item.value, depth: depth + 1 }, { node: item.key, depth: depth + 1 });
          else stack.push({ node: item, depth: depth + 1 });
        }
      }
    }
  }
  return {
    findings: list.list(),
    docs,
    ok: errors.length === 0 && exceeded === undefined,
    ...(exceeded === undefined ? {} : { exceeded }),
  };
}
