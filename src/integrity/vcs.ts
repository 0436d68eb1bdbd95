/**
 * The version-control entries of a model directory: one predicate shared by the scan's directory
 * walk, lock files (`lock`, `scan --lock`) and attestations, so that what one side skips the other
 * never pins or reports. Only the top level of the directory counts (a model repository's own
 * `.git`, `.hg` or `.svn`, whichever kind of entry it is: a git worktree or submodule has a `.git`
 * file); folders of these names deeper down are model content like any other. No loader reads
 * them. OMS signatures keep the spec's own default ignores (`manifest.ts`).
 * @module
 */

/** Names of version-control entries at the top of a model directory. */
export const VERSION_CONTROL_NAMES: ReadonlySet<string> = new Set([".git", ".hg", ".svn"]);

/**
 * Whether a top-level name is a version-control entry (file, folder or link).
 * @param name - an entry name at the top of the directory
 */
export function isVersionControlName(name: string): boolean {
  return VERSION_CONTROL_NAMES.has(name);
}

/**
 * Whether a POSIX path relative to the model directory is a version-control entry or lies below
 * one (its first component is one of {@link VERSION_CONTROL_NAMES}).
 * @param path - relative POSIX path
 */
export function isVersionControlPath(path: string): boolean {
  const slash = path.indexOf("/");
  return isVersionControlName(slash < 0 ? path : path.slice(0, slash));
}
