/**
 * The version-control entry of a model directory: one predicate shared by the scan's directory
 * walk, lock files (`lock`, `scan --lock`) and attestations, so that what one side skips the other
 * never pins or reports. Only the top-level `.git` counts, whichever kind of entry it is (a git
 * worktree or submodule has a `.git` file): git refuses to track a path named `.git`, so a cloned
 * repository cannot plant files there. `.hg` and `.svn` can be committed to a git repository like
 * any folder (a shard an index names could sit there), so they are scanned as model content. OMS
 * signatures keep the spec's own default ignores (`manifest.ts`).
 * @module
 */

/** Names of version-control entries at the top of a model directory. */
export const VERSION_CONTROL_NAMES: ReadonlySet<string> = new Set([".git"]);

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
