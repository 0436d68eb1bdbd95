/**
 * A model card's (`README.md`) YAML front matter as huggingface_hub's `ModelCard.load` reads it,
 * for what a loader takes from it: diffusers' connected pipelines. A pipeline class with
 * `_load_connected_pipes` (the Kandinsky, Würstchen and Stable Cascade combined pipelines, which
 * `AutoPipeline*` and `load_connected_pipeline=True` pick for their decoders) reads the card's
 * `prior` list and loads its first entry with `DiffusionPipeline.from_pretrained`: another
 * repository (or a directory of the loading machine), with the caller's options.
 *
 * The front matter is located as huggingface_hub's versions do (the current pattern and the
 * earlier one: leading whitespace allowed, any of CR/LF/CRLF) and read with PyYAML's semantics
 * that matter here (the last duplicate key wins, merge keys, aliases); the license module's
 * `frontMatter` is stricter (no leading whitespace, no lone CR) and is not used for this reason.
 * @module
 */
import { type Document, isAlias, isMap, isScalar, isSeq, Scalar } from "yaml";
import { mapGet } from "../yaml/hydra.js";
import { scalarText, type YamlKeys, yamlKeys } from "../yaml/keys.js";
import { composeYaml, lexYaml, YAML_BUDGETS } from "../yaml/parse.js";

/** What the card's `prior` makes diffusers load. */
export type ConnectedPipe =
  /** A repository id or path (`prior: [org/name]`; a plain string gives its first character). */
  | { readonly kind: "repo"; readonly repo: string; readonly shape: "list" | "string" }
  /** A value diffusers indexes with `[0]` whose result modelgate cannot tell (a mapping). */
  | { readonly kind: "unknown"; readonly value: string }
  /** The front matter could not be read (budget, syntax) while it may hold a `prior`. */
  | { readonly kind: "unread"; readonly why: string };

/** The keys diffusers reads connected pipelines from (`CONNECTED_PIPES_KEYS`). */
const CONNECTED_KEYS: readonly string[] = ["prior"];

/** Longest front matter parsed (real cards' are kilobytes; the lexical pass costs ~1 s per MiB). */
const MAX_BLOCK_CHARS = 2 * 1024 * 1024;

/** Characters of a line break in the front matter's delimiters. */
const BREAK = /[\r\n]/;
/** PyYAML's plain null scalars (YAML 1.1). */
const NULL_PLAIN = /^(?:~|null|Null|NULL|)$/;

/**
 * The YAML blocks the huggingface_hub versions a user may run take as the card's metadata. Their
 * patterns (`^\s*---` line break(s), the shortest body, line break(s) `---` then a line break or
 * the end; the current one also allows spaces and tabs after the closing `---`) are matched here
 * in one linear pass: the patterns themselves backtrack polynomially on runs of line breaks.
 * @param card - the card's text
 */
export function frontMatterBlocks(card: string): string[] {
  const start = card.search(/\S/);
  if (start < 0 || !card.startsWith("---", start) || !BREAK.test(card[start + 3] ?? "")) return [];
  // one line break belongs to the opening line; the closing `---` needs one of its own before it
  const bodyStart = start + 4;
  const out: string[] = [];
  let strictFound = false;
  for (let at = card.indexOf("---", bodyStart + 1); at >= 0 && !strictFound; at = card.indexOf("---", at + 1)) {
    if (!BREAK.test(card[at - 1] ?? "")) continue;
    let end = at + 3;
    const strict = closesLine(card, end);
    while (card[end] === " " || card[end] === "\t") end++;
    if (!strict && !closesLine(card, end)) continue;
    strictFound = strict;
    let bodyEnd = at - 1;
    while (bodyEnd > bodyStart && BREAK.test(card[bodyEnd - 1] ?? "")) bodyEnd--;
    const block = card.slice(bodyStart, bodyEnd);
    if (!out.includes(block)) out.push(block);
  }
  return out;
}

/** Whether a delimiter line ends at `at`: a `\n`, a `\r\n`, or the end of the text. */
function closesLine(card: string, at: number): boolean {
  return at >= card.length || card[at] === "\n" || (card[at] === "\r" && card[at + 1] === "\n");
}

/** A node with its alias followed (one step: an anchor names a node, never another alias). */
function deref(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/** Whether a scalar node is one PyYAML reads as None. */
function isNull(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  return isScalar(node) && node.type === Scalar.PLAIN && NULL_PLAIN.test(scalarText(node) ?? "");
}

/**
 * A key of the root mapping as PyYAML builds it: the last explicit pair, else the first merged
 * mapping (`<<: *base`, `<<: [*a, *b]`) that holds it. Keys are read as PyYAML reads them (an
 * alias key is the scalar its anchor names: `../yaml/keys.ts`).
 */
function rootField(root: unknown, key: string, doc: Document, keys: YamlKeys): unknown {
  const explicit = mapGet(root, key, keys);
  if (explicit !== undefined || !isMap(root)) return explicit;
  for (const pair of root.items) {
    if (keys.text(pair.key) !== "<<") continue;
    const merged = deref(pair.value, doc);
    const sources = isSeq(merged) ? merged.items.map((i) => deref(i, doc)) : [merged];
    for (const source of sources) {
      const found = mapGet(source, key, keys);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** What diffusers takes from one `prior` value (`value[0]`), or undefined when it loads nothing. */
function pipeOf(node: unknown, doc: Document): ConnectedPipe | undefined {
  const value = deref(node, doc);
  if (isNull(value)) return undefined; // None[0] fails before anything loads
  if (isSeq(value)) {
    const first = deref(value.items[0], doc);
    // an empty list fails, a None entry is skipped, a collection is no repository id
    if (value.items.length === 0 || isNull(first) || !isScalar(first)) return undefined;
    return { kind: "repo", repo: scalarText(first) ?? "", shape: "list" };
  }
  if (isScalar(value)) {
    const text = scalarText(value) ?? "";
    return text === "" ? undefined : { kind: "repo", repo: [...text][0] ?? "", shape: "string" };
  }
  return { kind: "unknown", value: isMap(value) ? "a mapping" : "an unreadable value" };
}

/**
 * Whether a YAML text may hold a connected-pipeline key: it spells one, or escapes characters (a
 * double-quoted key's `\u0069`); a key cannot be made otherwise (tags construct nothing else in
 * `safe_load`, a plain key is one line).
 */
function mayHoldKey(block: string): boolean {
  return block.includes("\\") || CONNECTED_KEYS.some((k) => block.includes(k));
}

/**
 * The connected pipelines a model card names.
 * @param card - the card's text (or its first bytes, see `truncated`)
 * @param truncated - whether the text is only the start of the card
 * @param checkpoint - abort/timeout check
 */
export function connectedPipes(card: string, truncated: boolean, checkpoint?: () => void): ConnectedPipe[] {
  const blocks = frontMatterBlocks(card);
  if (blocks.length === 0) {
    // the closing `---` lies past what was read: the front matter is not known
    return truncated && /^\s*---[\r\n]/.test(card) && mayHoldKey(card)
      ? [{ kind: "unread", why: "the front matter does not end within the bytes read" }]
      : [];
  }
  const out: ConnectedPipe[] = [];
  for (const raw of blocks) {
    // PyYAML breaks lines at CR, NEL, LS and PS as at LF; the parser here only at LF and CRLF
    const block = raw.replace(/\r(?!\n)|[\u0085\u2028\u2029]/g, "\n");
    // a block that neither spells the key nor escapes characters cannot hold it: not parsed
    if (!mayHoldKey(block)) continue;
    if (block.length > MAX_BLOCK_CHARS) {
      out.push({ kind: "unread", why: `the front matter is longer than ${MAX_BLOCK_CHARS} characters` });
      continue;
    }
    const lex = lexYaml(block, YAML_BUDGETS, checkpoint);
    if (lex.exceeded !== undefined) {
      out.push({ kind: "unread", why: `the front matter has ${lex.exceeded.message}` });
      continue;
    }
    const { docs, errors } = composeYaml(block);
    if (errors.length > 0) {
      out.push({ kind: "unread", why: `the front matter does not parse: ${errors[0]?.message ?? ""}` });
    }
    for (const doc of docs) {
      const keys = yamlKeys(doc.contents, checkpoint);
      // a root key PyYAML would read but this cannot (an alias naming a collection or nothing):
      // the card's metadata is not known
      const unread = isMap(doc.contents)
        ? doc.contents.items.map((p) => keys.key(p.key)).find((k) => k !== undefined && "unread" in k)
        : undefined;
      if (unread !== undefined && "unread" in unread)
        out.push({ kind: "unread", why: `the front matter has ${unread.unread}` });
      for (const key of CONNECTED_KEYS) {
        const pipe = pipeOf(rootField(doc.contents, key, doc, keys), doc);
        if (pipe !== undefined) out.push(pipe);
      }
    }
  }
  return out.slice(0, 8);
}
