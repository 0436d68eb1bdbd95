/**
 * Which listed files a scan analyses: `include`/`exclude` globs over a file's path relative to the
 * scan root, and the size syntax of `--max-size` (`limits.maxFileBytes`). Selection happens in the
 * engine's per-file step, never in a root's listing, so the repository checks (lock files, OMS
 * signatures, config cross-checks) still see every file.
 * @module
 */
import { ModelgateError } from "../core/errors.js";
import { compileGlob, type Glob } from "../policy/glob.js";

/** Why a listed file was not analysed: it matched an `exclude` glob, or no `include` glob. */
export type SkipReason = "excluded" | "not-included";

/** Most globs accepted in each of `include` and `exclude` (each is tested against every file). */
export const MAX_SELECTION_GLOBS = 256;

/** Decides, for each listed regular file, whether the scan analyses it. */
export interface FileSelector {
  /** Whether any glob was given (when not, every file is analysed). */
  readonly active: boolean;
  /**
   * Why the file is not analysed, or undefined when it is. An `exclude` match wins over an
   * `include` match.
   * @param path - the file's POSIX path relative to the scan root
   */
  skip(path: string): SkipReason | undefined;
}

function compileAll(name: "include" | "exclude", globs: unknown): Glob[] {
  if (globs === undefined) return [];
  if (!Array.isArray(globs)) throw new ModelgateError("INVALID_ARGUMENT", `${name} must be an array of globs`);
  if (globs.length > MAX_SELECTION_GLOBS) {
    throw new ModelgateError("INVALID_ARGUMENT", `${name}: at most ${MAX_SELECTION_GLOBS} globs`);
  }
  return globs.map((glob: unknown, i) => {
    if (typeof glob !== "string") throw new ModelgateError("INVALID_ARGUMENT", `${name}[${i}] must be a string`);
    try {
      return compileGlob(glob);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ModelgateError("INVALID_ARGUMENT", `${name}: ${message}`, { cause: error });
    }
  });
}

/**
 * Compiles `ScanOptions.include`/`exclude`. Globs are the policy dialect (`src/policy/glob.ts`):
 * matched against the whole path, `**` any depth, `*` and `?` within one path segment (they also
 * match a leading dot: dotfiles are not special), `[a-z]`, `{a,b}`, `\` escapes; matching time is
 * linear in the path's length, whatever the path.
 * @param include - when non-empty, only files matching one of these are analysed
 * @param exclude - files matching one of these are not analysed
 * @throws ModelgateError `INVALID_ARGUMENT` for a glob that is not a string, empty, overlong or unbalanced
 */
export function fileSelector(include?: readonly string[], exclude?: readonly string[]): FileSelector {
  const inc = compileAll("include", include);
  const exc = compileAll("exclude", exclude);
  return {
    active: inc.length > 0 || exc.length > 0,
    skip(path) {
      if (exc.some((g) => g.test(path))) return "excluded";
      if (inc.length > 0 && !inc.some((g) => g.test(path))) return "not-included";
      return undefined;
    },
  };
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
};

/**
 * Parses a size: a whole number of bytes (`1048576`), or a number and a unit, case-insensitive:
 * decimal `kB`, `MB`, `GB`, `TB` (powers of 1000) or binary `KiB`, `MiB`, `GiB`, `TiB` and their
 * one-letter forms `K`, `M`, `G`, `T` (powers of 1024, as `du` and `ls -h` print them). A fraction
 * is allowed with a unit (`1.5G`) and rounded down to whole bytes.
 * @param text - the size
 * @returns the size in bytes, at least 1
 * @throws ModelgateError `INVALID_ARGUMENT` for anything else (zero, negative, exponent, unknown unit)
 */
export function parseSize(text: string): number {
  const match = /^(\d{1,20})(?:\.(\d{1,20}))?\s?([a-z]{0,3})$/i.exec(text.trim());
  const unit = SIZE_UNITS[match?.[3]?.toLowerCase() ?? "?"];
  if (match === null || unit === undefined) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `"${text.slice(0, 40)}" is not a size: bytes, or a number with kB/MB/GB/TB (1000s) or K/M/G/T, KiB/MiB/GiB/TiB (1024s)`,
    );
  }
  if (match[2] !== undefined && unit === 1) {
    throw new ModelgateError("INVALID_ARGUMENT", `"${text}": a number of bytes is a whole number`);
  }
  const bytes = Math.floor(Number(`${match[1]}.${match[2] ?? "0"}`) * unit);
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) {
    throw new ModelgateError("INVALID_ARGUMENT", `"${text}": a size must be between 1 byte and 8 PiB`);
  }
  return bytes;
}
