/**
 * What a document type declaration asks of a DTD-processing parser: external identifiers (the
 * DOCTYPE's own or an entity's), parameter entities, and general entities whose values reference
 * other entities (exponential "billion laughs" expansion). modelgate never processes a DTD; it
 * reads the declaration as text to report what a loader that does process it would do.
 * @module
 */

/**
 * Declarations of one internal subset kept in full; past it the rest are still read, and an
 * entity is kept only when it is of a kind (external, parameter, referencing others) not kept yet
 * past the cap, so padding cannot hide what the judgement looks at.
 */
const MAX_DECLARATIONS = 10_000;
/** More general entity declarations than this is itself an expansion attempt (no model file needs one). */
export const MANY_ENTITIES = 64;

/** One `<!ENTITY>` declaration. */
export interface EntityDeclaration {
  /** The entity's name. */
  readonly name: string;
  /** A parameter entity (`<!ENTITY % name ...>`). */
  readonly parameter: boolean;
  /** `SYSTEM`/`PUBLIC` identifier (the URI), when the entity is external. */
  readonly external?: string;
  /** Entities its replacement text references (`&a;`, `%b;`), other than the predefined ones. */
  readonly references: readonly string[];
  /** Length of its literal value. */
  readonly length: number;
}

/** A DOCTYPE declaration as a DTD-processing parser would see it. */
export interface DoctypeInfo {
  /** The declared root element name. */
  readonly root: string;
  /** The DOCTYPE's own external identifier (`SYSTEM "uri"`/`PUBLIC "id" "uri"`), when present. */
  readonly externalSubset?: string;
  /** Whether it has an internal subset (`[...]`). */
  readonly internalSubset: boolean;
  /** Its entity declarations (first {@link MAX_DECLARATIONS}). */
  readonly entities: readonly EntityDeclaration[];
  /** Parameter entity references (`%name;`) used in the internal subset. */
  readonly parameterReferences: readonly string[];
  /** Other markup declarations (ELEMENT, ATTLIST, NOTATION), by keyword. */
  readonly otherDeclarations: number;
  /** Whether an `<!ATTLIST` declares defaults (a DTD-processing loader adds attributes modelgate does not see). */
  readonly attributeDefaults: boolean;
}

const PREDEFINED = new Set(["lt", "gt", "amp", "apos", "quot"]);
const QUOTED = /"[^"]*"|'[^']*'/g;

/** The quoted literals of a declaration's text, in order. */
function literals(text: string): string[] {
  return [...text.matchAll(QUOTED)].map((m) => m[0].slice(1, -1));
}

/**
 * Reads the text saxes reports for a DOCTYPE (everything between `<!DOCTYPE` and the closing `>`).
 * @param text - the declaration's text
 */
export function parseDoctype(text: string): DoctypeInfo {
  const trimmed = text.trimStart();
  const root = /^[^\s[>]+/.exec(trimmed)?.[0] ?? "";
  const open = indexOutsideQuotes(trimmed, "[");
  const head = open < 0 ? trimmed : trimmed.slice(0, open);
  const ext = /\b(SYSTEM|PUBLIC)\b([\s\S]*)$/.exec(head);
  const externalSubset = ext === null ? undefined : (literals(ext[2] ?? "").at(-1) ?? ext[1] ?? "");
  const close = trimmed.lastIndexOf("]");
  const subset = open < 0 ? "" : trimmed.slice(open + 1, close > open ? close : undefined);
  // Comments and processing instructions carry no declarations.
  const body = subset.replace(/<!--[\s\S]*?-->/g, " ").replace(/<\?[\s\S]*?\?>/g, " ");
  const entities: EntityDeclaration[] = [];
  let otherDeclarations = 0;
  let attributeDefaults = false;
  // A declaration ends at its `>`; outside literals it cannot contain `<`, which keeps each match
  // attempt local (no quadratic rescans of an unterminated subset).
  const declaration = /<!(ENTITY|ELEMENT|ATTLIST|NOTATION)\b((?:"[^"]*"|'[^']*'|[^<>"'])*)>/g;
  let count = 0;
  const pastKinds = new Set<string>();
  /** Whether a declaration is kept (always below the cap; past it, one of each kind). */
  const keep = (kind: string): boolean => {
    if (count <= MAX_DECLARATIONS) return true;
    if (pastKinds.has(kind)) return false;
    pastKinds.add(kind);
    return true;
  };
  for (const m of body.matchAll(declaration)) {
    count++;
    const keyword = m[1];
    const rest = m[2] ?? "";
    if (keyword !== "ENTITY") {
      otherDeclarations++;
      if (keyword === "ATTLIST" && (/#FIXED/.test(rest) || literals(rest).length > 0)) {
        attributeDefaults = true;
      }
      continue;
    }
    const d = /^\s*(%\s+)?([^\s"']+)\s*([\s\S]*)$/.exec(rest);
    if (d === null) continue;
    const parameter = d[1] !== undefined;
    const name = d[2] ?? "";
    const tail = d[3] ?? "";
    const extId = /^(SYSTEM|PUBLIC)\b([\s\S]*)$/.exec(tail);
    const values = literals(tail);
    if (extId !== null) {
      const ids = literals(extId[2] ?? "");
      const uri = extId[1] === "PUBLIC" ? (ids[1] ?? ids[0] ?? "") : (ids[0] ?? "");
      if (keep(`external:${parameter}`)) entities.push({ name, parameter, external: uri, references: [], length: 0 });
      continue;
    }
    const value = values[0] ?? "";
    const references = [...value.matchAll(/[&%]([^\s;&%#]+);/g)]
      .map((r) => r[1] ?? "")
      .filter((r) => !PREDEFINED.has(r));
    if (keep(`internal:${parameter}:${references.length > 0}`))
      entities.push({ name, parameter, references, length: value.length });
  }
  // Parameter entity references outside literals (in markup of the subset).
  const outside = body.replace(QUOTED, " ");
  const parameterReferences = [...outside.matchAll(/%([^\s;%]+);/g)].map((r) => r[1] ?? "").slice(0, 100);
  return {
    root,
    ...(externalSubset === undefined ? {} : { externalSubset }),
    internalSubset: open >= 0,
    entities,
    parameterReferences,
    otherDeclarations,
    attributeDefaults,
  };
}

/** The first index of `char` outside quoted literals, or -1. */
function indexOutsideQuotes(text: string, char: string): number {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== "") {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === char) return i;
  }
  return -1;
}
