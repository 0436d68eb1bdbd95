/**
 * Where a path named in a model's files lands: the one check of "does this path leave the folder"
 * (DVC outputs joined to `wdir`, files a Keras config reads). Loaders join a relative path to a
 * folder and take anything else as it is: a URL or other URI (`s3://`, `file:/etc`), a Windows
 * drive (`C:\x`, `C:x`), an absolute or UNC path (`/x`, `\\host\share`, `//host/share`), a home
 * path (`~/x`, which Python's `expanduser` and shells expand), a NUL (refused or truncated), or
 * `..` segments that climb above the folder. Both separators count (`ntpath` takes either).
 * @module
 */

/** A URI scheme of two letters or more (one letter is a Windows drive). */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:/;

/** Why one path part is read outside any folder it is joined to, or undefined. */
function rootedReason(part: string): string | undefined {
  if (part.includes("\0")) return "a path with a NUL character";
  if (/^[A-Za-z]:/.test(part)) return "a drive letter";
  if (SCHEME.test(part)) return /^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(part) ? "a URL" : "a URI";
  if (/^[/\\]{2}/.test(part)) return "a UNC or network path";
  if (/^[/\\]/.test(part)) return "an absolute path";
  if (part.startsWith("~")) return "a home-relative path";
  return undefined;
}

/**
 * Why a path joined to `wdir` lands outside the folder, or undefined when it stays in.
 * @param wdir - the folder the path is relative to, itself relative to the file's folder (`.` for the folder)
 * @param path - the path as written
 */
export function escapeReason(wdir: string, path: string): string | undefined {
  for (const part of [wdir, path]) {
    const reason = rootedReason(part);
    if (reason !== undefined) return reason;
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

/**
 * Why a path a model file names leaves the model's folder, or undefined (see {@link escapeReason}).
 * @param path - the path as written
 */
export function pathLeavesFolder(path: string): string | undefined {
  return escapeReason(".", path);
}
