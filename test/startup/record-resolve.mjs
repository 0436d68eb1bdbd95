// The resolve hook of record-hooks.mjs (it runs on the loader thread).
import { appendFileSync } from "node:fs";

let out = "";

/** @param {{ out: string }} data */
export function initialize(data) {
  out = data.out;
}

/** @type {import("node:module").ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(out, `${resolved.url}\n`);
  return resolved;
}
