/**
 * Which members of a TorchServe model directory a handler string makes Python import. TorchServe's
 * loader derives a module name from `model.handler` (strip `:function`, a `.py` suffix and any
 * folder) and calls `importlib.import_module` on it with the model directory first on `sys.path`.
 * That call does not check the name is an identifier (`my-handler`, `5` import `my-handler.py`,
 * `5.py`) and imports every dotted parent first (`handler.pyc` and `pkg.mod` run `handler.py` and
 * `pkg/__init__.py` before failing or going on), so the match here is on the first dotted part and
 * on loose file names, never on identifiers only.
 * @module
 */

/** Members looked at per question (listings are bounded by the scan's entry limit; this bounds the work here too). */
const MAX_MEMBERS = 1_000_000;

/** Files Python imports as a module: source, bytecode, extension modules (any ABI tag before `.so`/`.pyd`). */
const CODE_FILE = /\.(?:py|pyc|so|pyd)$/i;
const SOURCE_SUFFIX = /\.(?:py|pyc)$/i;
const EXTENSION_SUFFIX = /(?:\.[^./]+)?\.(?:so|pyd)$/i;

/**
 * The module a handler string makes TorchServe import, as its loader derives it.
 * @param handler - `model.handler` of the manifest
 */
export function handlerModule(handler: string): { module: string; fn?: string } {
  const colon = handler.indexOf(":");
  let module = colon < 0 ? handler : handler.slice(0, colon);
  if (module.endsWith(".py")) module = module.slice(0, -3);
  module = module.slice(module.lastIndexOf("/") + 1);
  return colon < 0 ? { module } : { module, fn: handler.slice(colon + 1) };
}

/**
 * Whether a member is a file Python could import as a module (`.py`, `.pyc`, `.so`, `.pyd`, any
 * case, at any depth).
 * @param name - a member or file name
 */
export function isCodeMember(name: string): boolean {
  return CODE_FILE.test(name.slice(name.lastIndexOf("/") + 1));
}

/**
 * The module name a code file answers to in its folder, loosely (no identifier check):
 * `my-handler.py` → `my-handler`, `h.cpython-311-x86_64-linux-gnu.so` → `h`, `pkg/__init__.py` →
 * `pkg`; undefined for a file that is not code.
 * @param name - a member name
 */
export function looseModule(name: string): string | undefined {
  const parts = name.split("/");
  const base = parts[parts.length - 1] ?? "";
  if (!CODE_FILE.test(base)) return undefined;
  const stem = SOURCE_SUFFIX.test(base) ? base.replace(SOURCE_SUFFIX, "") : base.replace(EXTENSION_SUFFIX, "");
  return stem === "__init__" && parts.length > 1 ? parts[parts.length - 2] : stem;
}

/**
 * Code members the import of `module` could run: a module file or package named like the module's
 * first dotted part (Python imports it first; conservatively at any depth), or a code file under a
 * top-level folder of that name (a package or namespace package). At most 8, sorted.
 * @param module - the module name {@link handlerModule} derived
 * @param members - the model directory's files, relative to it
 */
export function moduleMembers(module: string, members: Iterable<string>): string[] {
  const top = module.split(".")[0] ?? "";
  if (top.length === 0) return [];
  const found: string[] = [];
  let seen = 0;
  for (const name of members) {
    if (++seen > MAX_MEMBERS || found.length >= 8) break;
    if (!isCodeMember(name)) continue;
    const slash = name.indexOf("/");
    if (looseModule(name) === top || (slash > 0 && name.slice(0, slash) === top)) found.push(name);
  }
  return found.sort();
}

/**
 * Every code member, sorted, with how many there are: the files TorchServe could import as a
 * handler when what the manifest names is not known.
 * @param members - the model directory's files, relative to it
 * @param max - how many names to return (the count goes on)
 */
export function codeMembers(members: Iterable<string>, max: number): { names: string[]; total: number } {
  const names: string[] = [];
  let total = 0;
  let seen = 0;
  for (const name of members) {
    if (++seen > MAX_MEMBERS) break;
    if (!isCodeMember(name)) continue;
    total++;
    names.push(name);
    // keep the first `max` in name order without holding every name
    if (names.length > max * 4) names.sort().splice(max);
  }
  return { names: names.sort().slice(0, max), total };
}
