/**
 * The fact keys model cards and version checks read (see docs/architecture.md, "Facts"), and the
 * namespaced keys some analyzers record instead.
 * @module
 */

/**
 * Namespaced keys analyzers record, by the canonical key they stand for. The canonical key wins
 * when a file has both.
 */
export const FACT_ALIASES: Readonly<Record<string, readonly string[]>> = {
  architecture: ["keras.modelClass"],
  parameterCount: ["onnx.parameters"],
  tensorCount: ["onnx.initializers"],
  opset: ["onnx.opsets"],
};

/** Namespaced keys holding a library version, by library. */
const VERSION_ALIASES: Readonly<Record<string, string>> = {
  "keras.version": "keras",
};

/**
 * A file's facts under the canonical keys: aliases are copied to their canonical key when it is
 * missing, and versions recorded under namespaced keys join `toolVersions`.
 * @param facts - `files[].facts`
 */
export function canonicalFacts(facts: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...facts };
  for (const [key, aliases] of Object.entries(FACT_ALIASES)) {
    if (out[key] !== undefined) continue;
    const alias = aliases.find((a) => out[a] !== undefined);
    if (alias !== undefined) out[key] = out[alias];
  }
  const tv = out.toolVersions;
  const versions: Record<string, unknown> =
    tv !== null && typeof tv === "object" && !Array.isArray(tv) ? { ...tv } : {};
  let added = false;
  for (const [key, tool] of Object.entries(VERSION_ALIASES)) {
    if (typeof out[key] === "string" && versions[tool] === undefined) {
      versions[tool] = out[key];
      added = true;
    }
  }
  if (added) out.toolVersions = versions;
  return out;
}
