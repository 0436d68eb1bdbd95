/**
 * Member names of a skops archive, shared by the module's zip signature (`index.ts`) and the
 * analyzer; a file of its own so that the signature does not load the analyzer.
 * @module
 */

/** The schema member skops writes. */
export const SCHEMA = "schema.json";

/** Member name suffixes skops writes beside the schema. */
export const SKOPS_MEMBERS: readonly string[] = [".npy", ".npz", ".bin"];
