/**
 * Closures R's own packages put into model objects (a glm family's linkinv, rpart's `functions`,
 * nlme and mgcv helpers), recognised by their code's fingerprint (fingerprint.ts) in the table
 * samples/generate/r_known_closures.R derives from real fits ({@link KNOWN_FINGERPRINTS}).
 *
 * A closure of a package namespace is written as a reference to the namespace by name, and R binds
 * the installed namespace on load: the file cannot add bindings there, so a known body runs exactly
 * the package's code. A closure of a local environment (binomial()'s `simulate`, whose frame holds
 * `aic`, `family` ...) runs against bindings the file controls: it is recognised only when no name
 * its code uses is bound in the serialized environments on the way to the namespace to anything but
 * plain data or closures (which are judged in their own right), and its code fetches nothing by a
 * computed name or from its environment as a whole.
 * @module
 */
import table from "./known-closures.json" with { type: "json" };
import { NATIVE_CALLERS } from "./names.js";
import { type RNode, SXP } from "./reader.js";

/** Known closure fingerprints by the namespace their environments end in. */
export const KNOWN_FINGERPRINTS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(table.closures as Record<string, string[]>).map(([ns, fps]) => [ns, new Set(fps)]),
);

/** R versions the table was made with (bytecode fingerprints depend on the version). */
export const KNOWN_R_VERSIONS: readonly string[] = table.rVersions;

/** Value types a name used by a known local closure may be bound to in its serialized environments. */
const JUDGED: ReadonlySet<number> = new Set([
  SXP.CLO, // reported as a closure itself
  SXP.NILVALUE,
  SXP.LGL,
  SXP.INT,
  SXP.REAL,
  SXP.CPLX,
  SXP.STR,
  SXP.RAW,
  SXP.VEC, // its elements are judged where they are
]);

/**
 * The table key of closures of the global environment: functions package datasets carry (nlme's
 * `Orthodont` keeps `FUN = function(x) max(x, na.rm = TRUE)`), which run against the loading
 * session's own global environment, not the file's.
 */
export const GLOBAL_KEY = "R_GlobalEnv";

/** The table key of a closure: the namespace its environment ends in, or {@link GLOBAL_KEY}. */
export function closureKey(closure: RNode, namespace: string | undefined): string | undefined {
  return namespace ?? (closure.env?.type === SXP.GLOBALENV ? GLOBAL_KEY : undefined);
}

/** Calls that reach an environment's bindings other than by a literal name. */
const ENV_REACH: ReadonlySet<string> = new Set([
  "get",
  "get0",
  "mget",
  "exists",
  "eval",
  "evalq",
  "environment",
  "sys.function",
  "sys.frame",
  "sys.frames",
  "parent.frame",
  "parent.env",
  "as.list",
  "as.environment",
  "ls",
  "objects",
  "eapply",
  "env2list",
  "match.fun",
  "do.call",
  "dynGet",
  "local",
  "with",
  "within",
  "substitute",
]);

/** Environments followed from a closure to its namespace. */
const CHAIN_CAP = 64;

/**
 * Whether a closure is one of the known package closures: its fingerprint is in the table of the
 * namespace its environment ends in, and (for a local environment) nothing the file binds on the
 * way can change what its code calls.
 */
export function knownPackageClosure(closure: RNode, namespace: string | undefined): boolean {
  const fp = closure.fingerprint;
  const key = closureKey(closure, namespace);
  if (fp === undefined || key === undefined) return false;
  if (KNOWN_FINGERPRINTS.get(key)?.has(fp) !== true) return false;
  let env = closure.env;
  if (env === undefined) return false;
  if (env.type === SXP.NAMESPACE || env.type === SXP.BASENAMESPACE || env.type === SXP.GLOBALENV) return true;
  const code = closure.code;
  if (code === undefined || code.overflow || code.symbolsOverflow || code.computed.size > 0) return false;
  for (const c of code.calls) if (ENV_REACH.has(c.slice(c.lastIndexOf(":") + 1))) return false;
  // a compiled pool's `.Call` is kept out of the symbols (names.ts): count it in
  const names = new Set([...code.symbols, ...code.calls, ...code.refs, ...NATIVE_CALLERS]);
  for (let i = 0; env.type === SXP.ENV; i++) {
    if (i >= CHAIN_CAP || env.bindings === undefined || env.bindingsUnknown === true) return false;
    for (const [name, kind] of env.bindings) if (names.has(name) && !JUDGED.has(kind)) return false;
    if (env.bindings.has("")) return false;
    if (env.env === undefined) return false;
    env = env.env;
  }
  return env.type === SXP.NAMESPACE || env.type === SXP.BASENAMESPACE;
}
