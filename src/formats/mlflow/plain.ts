/**
 * An MLmodel document as `yaml.safe_load` hands it to MLflow: the shared plain reader
 * (`../yaml/plain.ts`) with PyYAML's readings: aliases followed (alias keys too), `<<` merge keys
 * applied in PyYAML's order, `!!omap` a list of pairs (not a mapping). An MLmodel can take its
 * `loader_module` or `code` from an anchored value, or its key from an anchored scalar, elsewhere.
 * @module
 */
import { type PlainDocument, plainDocument } from "../yaml/plain.js";

/** Nodes converted at most (each alias expansion counts again): MLmodel files are small. */
export const MLMODEL_PLAIN_NODES = 20_000;

/**
 * The plain view of a composed MLmodel document, and what could not be read of it.
 * @param root - a composed document's contents
 * @param maxNodes - nodes converted at most
 */
export function mlmodelDocument(root: unknown, maxNodes = MLMODEL_PLAIN_NODES): PlainDocument {
  return plainDocument(root, { maxNodes, omap: "pairs" });
}

/**
 * The plain value of a composed MLmodel document, aliases and merge keys resolved.
 * @param root - a composed document's contents
 * @param maxNodes - nodes converted at most (each alias expansion counts again)
 */
export function mlmodelPlain(root: unknown, maxNodes = MLMODEL_PLAIN_NODES): unknown {
  return mlmodelDocument(root, maxNodes).value;
}
