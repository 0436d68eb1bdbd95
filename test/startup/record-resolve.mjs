// The resolve hook of record-hooks.mjs (in-thread, synchronous: `module.registerHooks`).
import { appendFileSync } from "node:fs";

/**
 * A resolve hook that appends every URL it resolves to `out`, one a line.
 * @param {string} out
 * @returns {import("node:module").ResolveHookSync}
 */
export function recordingResolve(out) {
  return (specifier, context, nextResolve) => {
    const resolved = nextResolve(specifier, context);
    appendFileSync(out, `${resolved.url}\n`);
    return resolved;
  };
}
