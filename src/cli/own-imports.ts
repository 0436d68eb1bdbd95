/**
 * Resolution of modelgate's own relative imports for the built CLI (issue 18).
 *
 * Node's general resolver, for each import statement, stats the file, resolves its real path and
 * looks up the `package.json` that decides its module type: about 0.2 ms a call, some 10 ms of every
 * `modelgate scan` start. Inside `dist/` the answer is known beforehand: every `.js` there is an ES
 * module (the package is `"type": "module"` with no nested `package.json`), and the files are not
 * links, so resolving by URL arithmetic loads the same files; a missing one still fails, when it is
 * read. Only an `import` from a module under `dist/` of a relative `.js` that stays under `dist/`
 * takes this path; packages, built-ins, JSON, `require()` and any other parent go through Node.
 * @module
 */
import type { ResolveFnOutput, ResolveHookContext } from "node:module";

/** A synchronous resolve hook (`module.registerHooks`). */
export type ResolveHook = (
  specifier: string,
  context: ResolveHookContext,
  next: (specifier: string, context?: Partial<ResolveHookContext>) => ResolveFnOutput,
) => ResolveFnOutput;

/**
 * The resolve hook for the modules under `root`.
 * @param root - the URL of the built package's `dist/` folder, ending in `/`
 */
export function ownImportsResolver(root: string): ResolveHook {
  if (!root.startsWith("file:") || !root.endsWith("/")) throw new TypeError(`not a folder URL: ${root}`);
  return (specifier, context, next) => {
    const parent = context.parentURL;
    if (
      parent?.startsWith(root) === true &&
      (specifier.startsWith("./") || specifier.startsWith("../")) &&
      specifier.endsWith(".js") &&
      context.conditions.includes("import")
    ) {
      const url = new URL(specifier, parent);
      if (url.href.startsWith(root) && url.search === "" && url.hash === "")
        return { url: url.href, format: "module", shortCircuit: true };
    }
    return next(specifier, context);
  };
}
