/**
 * One list of member names per archive. Every analyzer of a zip (the zip analyzer, the torch
 * records, the TorchServe and skops analyzers) reads the directory itself and asks for the
 * archive's flavours with a fresh list of names, so caches keyed by the list missed every time.
 * In core because both the registry (the flavours' cache) and the zip container use it, and a
 * scan that opens no archive must not load the zip container.
 * @module
 */

/** The name list each archive was first asked about, by the archive (its `ByteSource`). */
const ARCHIVE_NAMES = new WeakMap<object, readonly string[]>();

/**
 * The list of names kept for `archive` when it holds the same names as `names` (so that caches
 * keyed by the list hit for every analyzer of the archive), else `names`, which is kept from now
 * on. The lists are compared name by name: a caller that lists other names gets its own answer.
 * @param archive - the archive the names were read from (`ctx.source`); undefined: `names`
 * @param names - member names in central-directory order
 */
export function archiveNames(archive: object | undefined, names: readonly string[]): readonly string[] {
  if (archive === undefined) return names;
  const kept = ARCHIVE_NAMES.get(archive);
  if (kept !== undefined && (kept === names || sameNames(kept, names))) return kept;
  ARCHIVE_NAMES.set(archive, names);
  return names;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
