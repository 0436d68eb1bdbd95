/**
 * Where a DVC output lands: the check shared by pointer files and pipeline files (an output path
 * joined to `wdir` that leaves the file's folder is where `dvc pull`/`checkout`/`repro` writes).
 * @module
 */

/**
 * Why a path joined to `wdir` lands outside the pointer's folder, or undefined when it stays in.
 * @param wdir - the file's `wdir` (`.` when absent)
 * @param path - the output path
 */
export function escapeReason(wdir: string, path: string): string | undefined {
  for (const part of [wdir, path]) {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(part)) return "a URL";
    if (/^[A-Za-z]:/.test(part)) return "a drive letter";
    if (/^[/\\]/.test(part)) return "an absolute path";
    if (part.startsWith("~")) return "a home-relative path";
  }
  let depth = 0;
  for (const segment of `${wdir}/${path}`.split(/[/\\]+/)) {
    if (segment === "..") {
      depth--;
      if (depth < 0) return "a path climbing out of the folder";
    } else if (segment !== "." && segment !== "") depth++;
  }
  return undefined;
}
