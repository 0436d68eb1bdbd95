/**
 * Safe YAML reading: a streaming lexical pass (the `yaml` package's lexer) that counts nodes,
 * flow nesting and aliases and records every tag as written and resolved, then, within those
 * budgets, composition into a node tree with the failsafe schema (no tag constructs anything:
 * every scalar stays a string and an explicit tag is only recorded on its node). Aliases are never
 * expanded; their expansion is measured ({@link expansionSize}).
 * @module
 */
import { CST, type Document, isAlias, isMap, isPair, isScalar, isSeq, Lexer, type Node, parseAllDocuments } from "yaml";

/** Budgets of one YAML text. */
export interface YamlBudgets {
  /** Largest text read (bytes). */
  readonly maxBytes: number;
  /** Nodes (scalars, collections, aliases), all documents together, counted before composition. */
  readonly maxNodes: number;
  /** Nesting of collections. */
  readonly maxDepth: number;
  /** Aliases. */
  readonly maxAliases: number;
  /** Nodes the tree would have once every alias is expanded. */
  readonly maxExpandedNodes: number;
  /** Tags recorded (the rest are counted). */
  readonly maxTags: number;
}

/**
 * Default budgets: model configs are a few thousand nodes. Composition costs the `yaml` package
 * about 800 bytes per node, so 100,000 nodes stay under 100 MiB.
 */
export const YAML_BUDGETS: YamlBudgets = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  maxNodes: 100_000,
  maxDepth: 256,
  maxAliases: 10_000,
  maxExpandedNodes: 1_000_000,
  maxTags: 10_000,
});

/** A tag as written and as a loader resolves it. */
export interface YamlTag {
  /** As written (`!!python/object/apply:os.system`, `!p!object:x`, `!<tag:...>`). */
  readonly raw: string;
  /** Resolved through the standard and `%TAG` handles, %-escapes decoded. */
  readonly tag: string;
  /** Character offset in the text. */
  readonly at: number;
}

/** What the lexical pass found. */
export interface YamlLexScan {
  readonly tags: readonly YamlTag[];
  /** Tags seen (including those past `maxTags`). */
  readonly tagCount: number;
  readonly nodes: number;
  readonly aliases: number;
  readonly maxFlowDepth: number;
  /** The budget the text exceeds, if any (tags are still recorded to the end). */
  readonly exceeded?: { readonly budget: string; readonly message: string };
}

/** Standard handle of YAML 1.1/1.2. */
const CORE_PREFIX = "tag:yaml.org,2002:";

/** Decodes URI %-escapes the way PyYAML's scanner does (bytes as UTF-8); malformed ones stay. */
export function decodeEscapes(s: string): string {
  if (!s.includes("%")) return s;
  const bytes: number[] = [];
  let out = "";
  const flush = (): void => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString("utf8");
    bytes.length = 0;
  };
  for (let i = 0; i < s.length; i++) {
    const hex = s.charCodeAt(i) === 0x25 ? s.slice(i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      flush();
      out += s[i];
    }
  }
  flush();
  return out;
}

/**
 * Resolves a tag token against the handles declared so far.
 * @param raw - the token (`!`, `!x`, `!!x`, `!h!x`, `!<uri>`)
 * @param handles - `%TAG` handles in force
 */
export function resolveTag(raw: string, handles: ReadonlyMap<string, string>): string {
  if (raw.startsWith("!<")) return decodeEscapes(raw.slice(2, raw.endsWith(">") ? -1 : undefined));
  const m = /^(!(?:[\w-]*!)?)([\s\S]*)$/.exec(raw);
  const handle = m?.[1] ?? "!";
  const suffix = m?.[2] ?? raw.slice(1);
  const prefix = handles.get(handle) ?? (handle === "!!" ? CORE_PREFIX : handle);
  return prefix + decodeEscapes(suffix);
}

/** Control tokens of the lexer that are not in the source text. */
const CONTROL = new Set(["\x02", "\x18", "\x1f"]);
/** Token types that open a node. */
const NODE_TOKENS = new Set([
  "scalar",
  "single-quoted-scalar",
  "double-quoted-scalar",
  "block-scalar-header",
  "flow-seq-start",
  "flow-map-start",
  "seq-item-ind",
  "map-value-ind",
  "explicit-key-ind",
  "alias",
]);

/**
 * The lexical pass: counts nodes, flow nesting and aliases against the budgets and records every
 * tag. It streams (memory stays flat) and runs to the end of the text even past a node budget, so
 * that tags are never missed.
 * @param text - the YAML text
 * @param budgets - budgets
 * @param checkpoint - abort/timeout check, called every few thousand tokens
 */
export function lexYaml(text: string, budgets: YamlBudgets, checkpoint?: () => void): YamlLexScan {
  const tags: YamlTag[] = [];
  const handles = new Map<string, string>();
  let tagCount = 0;
  let nodes = 0;
  let aliases = 0;
  let depth = 0;
  let maxFlowDepth = 0;
  let at = 0;
  let n = 0;
  for (const token of new Lexer().lex(text)) {
    if ((++n & 0xfff) === 0) checkpoint?.();
    const type = token.length === 1 && CONTROL.has(token) ? undefined : (CST.tokenType(token) ?? undefined);
    if (token === "\x1f") nodes++;
    else if (type !== undefined && type !== "scalar" && NODE_TOKENS.has(type)) nodes++;
    if (type === "alias") aliases++;
    else if (type === "flow-seq-start" || type === "flow-map-start") {
      depth++;
      if (depth > maxFlowDepth) maxFlowDepth = depth;
    } else if ((type === "flow-seq-end" || type === "flow-map-end") && depth > 0) depth--;
    else if (type === "tag") {
      tagCount++;
      if (tags.length < budgets.maxTags) tags.push({ raw: token, tag: resolveTag(token, handles), at });
    } else if (type === "directive-line") {
      const d = /^%TAG[ \t]+(\S+)[ \t]+(\S+)/.exec(token);
      if (d?.[1] !== undefined && d[2] !== undefined) handles.set(d[1], decodeEscapes(d[2]));
    }
    if (!(token.length === 1 && CONTROL.has(token))) at += token.length;
  }
  const exceeded =
    nodes > budgets.maxNodes
      ? { budget: "yamlNodes", message: `more than ${budgets.maxNodes} YAML nodes (${nodes})` }
      : maxFlowDepth > budgets.maxDepth
        ? { budget: "yamlDepth", message: `flow collections nested deeper than ${budgets.maxDepth}` }
        : undefined;
  return { tags, tagCount, nodes, aliases, maxFlowDepth, ...(exceeded === undefined ? {} : { exceeded }) };
}

/** A parse error. */
export interface YamlProblem {
  readonly message: string;
  /** Character offset. */
  readonly at: number;
}

/** Composed documents and their errors. */
export interface ComposedYaml {
  readonly docs: readonly Document.Parsed[];
  readonly errors: readonly YamlProblem[];
}

/**
 * Composes the documents with the failsafe schema (scalars stay strings, tags are recorded on
 * their nodes and construct nothing), duplicate keys kept (they are reported, not refused).
 * Aliases stay aliases: nothing here expands them (`toJS`, where the package's own
 * `maxAliasCount` applies, is never called). Call it only on a text {@link lexYaml} found within
 * the budgets.
 * @param text - the YAML text
 */
export function composeYaml(text: string): ComposedYaml {
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      schema: "failsafe",
      uniqueKeys: false,
      prettyErrors: false,
      keepSourceTokens: false,
    }) as Document.Parsed[];
  } catch (error) {
    // The composer recurses on nesting: a stack overflow past what the lexical pass measures is a
    // budget matter, not a crash.
    if (error instanceof RangeError) return { docs: [], errors: [{ message: "nesting too deep to compose", at: 0 }] };
    throw error;
  }
  if (!Array.isArray(docs)) docs = [];
  const errors: YamlProblem[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) errors.push({ message: e.message.split("\n")[0] ?? e.code, at: e.pos[0] });
  }
  return { docs, errors };
}

/** Children of a node, in document order (keys before values). */
export function childrenOf(node: unknown): unknown[] {
  if (isMap(node)) return node.items.flatMap((p) => [p.key, p.value]);
  if (isSeq(node)) return [...node.items];
  if (isPair(node)) return [node.key, node.value];
  return [];
}

/**
 * How many nodes a document would have with every alias expanded, saturating just past `cap`; an
 * alias to a node that is still open (its own ancestor) counts as past the cap. Iterative: the
 * depth of the tree does not matter.
 * @param root - the document's contents
 * @param cap - the budget
 * @param checkpoint - abort/timeout check
 */
export function expansionSize(root: unknown, cap: number, checkpoint?: () => void): number {
  const over = cap + 1;
  const sizes = new Map<unknown, number>();
  const anchors = new Map<string, unknown>();
  const stack: { node: unknown; children: unknown[]; i: number; acc: number }[] = [];
  let result = 0;
  const open = (node: unknown): number | undefined => {
    if (node === null || node === undefined) return 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) return 1;
      return sizes.get(target) ?? over; // undefined: the anchor is still open, a recursive alias
    }
    const anchor = (node as Node).anchor;
    if (typeof anchor === "string") anchors.set(anchor, node);
    if (isScalar(node)) {
      sizes.set(node, 1);
      return 1;
    }
    stack.push({ node, children: childrenOf(node), i: 0, acc: 1 });
    return undefined;
  };
  const first = open(root);
  if (first !== undefined) return first;
  let steps = 0;
  while (stack.length > 0) {
    if ((++steps & 0xfff) === 0) checkpoint?.();
    const frame = stack[stack.length - 1]!;
    if (frame.i < frame.children.length) {
      const size = open(frame.children[frame.i++]);
      if (size !== undefined) frame.acc = Math.min(over, frame.acc + size);
      continue;
    }
    stack.pop();
    sizes.set(frame.node, frame.acc);
    const parent = stack[stack.length - 1];
    if (parent === undefined) result = frame.acc;
    else parent.acc = Math.min(over, parent.acc + frame.acc);
  }
  return result;
}
