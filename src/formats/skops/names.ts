/**
 * Member names of a skops archive, shared by the module's zip signature (`index.ts`) and the
 * analyzer; a file of its own so that the signature does not load the analyzer.
 * @module
 */

/** The schema member skops writes. */
export const SCHEMA = "schema.json";

/** Member name suffixes skops writes beside the schema. */
export const SKOPS_MEMBERS: readonly string[] = [".npy", ".npz", ".bin"];

/**
 * A member name as Python's `zipfile` (which `skops.io.load` reads with) names it: `ZipInfo` cuts
 * the name at its first NUL, so `schema.json\0evil` is opened as `schema.json`.
 * @param name - the name as the central directory spells it
 */
export function pythonMemberName(name: string): string {
  const nul = name.indexOf("\0");
  return nul < 0 ? name : name.slice(0, nul);
}
