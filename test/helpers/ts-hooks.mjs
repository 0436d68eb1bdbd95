// The resolve hook of test/helpers/ts-register.mjs: a relative `.js` import of a source file that
// exists as `.ts` (outside node_modules) loads the `.ts` file. Synchronous, for
// `module.registerHooks` (in-thread hooks: no loader thread, so a child process loads no
// `worker_threads` it would not load built).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** @type {import("node:module").ResolveHookSync} */
export function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && specifier.startsWith(".") && context.parentURL?.startsWith("file:")) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (!url.pathname.includes("/node_modules/") && existsSync(fileURLToPath(url))) return next(url.href, context);
  }
  return next(specifier, context);
}
