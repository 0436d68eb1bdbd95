/**
 * `parseArgs` and `styleText` of `node:util`, taken from the object `process.getBuiltinModule`
 * returns rather than by `import ... from "node:util"`: an ES import of a built-in evaluates every
 * export of it, and `node:util`'s lazy ones load 34 more internal modules (`worker_threads` among
 * them), about 5 ms of every CLI start (issue 18). Reading one property loads only what it needs.
 * @module
 */
const util = process.getBuiltinModule("node:util");

/** `util.parseArgs`. */
export const parseArgs: typeof util.parseArgs = util.parseArgs;

/** `util.styleText`. */
export const styleText: typeof util.styleText = util.styleText;
