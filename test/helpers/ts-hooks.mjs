// Resolve hooks for test/helpers/ts-register.mjs: a relative `.js` import of a source file that
// exists as `.ts` (outside node_modules) loads the `.ts` file.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export async function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && specifier.startsWith(".") && context.parentURL?.startsWith("file:")) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (!url.pathname.includes("/node_modules/") && existsSync(fileURLToPath(url))) return next(url.href, context);
  }
  return next(specifier, context);
}
