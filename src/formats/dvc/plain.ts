/**
 * A DVC file as DVC's loader (ruamel's safe loader) hands it over: the shared plain reader
 * (`../yaml/plain.ts`): aliases followed (alias keys too, so `*c : curl … | sh` is a `cmd`),
 * merge keys applied, `!!omap` a mapping (ruamel builds an ordered dict, which DVC's schema takes
 * as one). Expansion is bounded; a view cut by the budget, a key that cannot be read or an alias
 * naming no anchor is reported by the caller (`dvc/malformed`), never read as if it were the file.
 * @module
 */
import { type PlainDocument, plainDocument } from "../yaml/plain.js";

/** YAML nodes converted at most (aliases count again). */
export const MAX_PLAIN_NODES = 100_000;

/**
 * The plain view of a composed DVC document, and what could not be read of it.
 * @param root - the document's contents
 */
export function dvcPlain(root: unknown): PlainDocument {
  return plainDocument(root, { maxNodes: MAX_PLAIN_NODES, maxDepth: 64, omap: "mapping" });
}
