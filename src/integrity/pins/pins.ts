/**
 * Pinned digests without file IO or zod: safe relative paths, `{ path: sha256 }` maps and the
 * comparison of what was found with what was pinned. `lock.ts` (lock files: zod schema, reading,
 * writing) re-exports them; code on every scan's path (the pins analyzer, OMS manifests) imports
 * them from here.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { compareCodePoints } from "../walk.js";
import type { LockFile } from "./lock.js";

/**
 * Whether a path is a safe relative POSIX path (no traversal, not absolute).
 * @param path - candidate
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\\") || path.includes("\0")) return false;
  if (/^[A-Za-z]:/.test(path)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/**
 * Validates a `{ path: sha256 }` map of expected digests.
 * @param pins - the map
 * @throws ModelgateError `INVALID_ARGUMENT` naming the first bad entry
 */
export function validatePins(pins: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, digest] of Object.entries(pins)) {
    if (!isSafeRelativePath(path)) throw new ModelgateError("INVALID_ARGUMENT", `pinned path ${path} is not safe`);
    const hex = typeof digest === "string" ? digest.toLowerCase() : "";
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new ModelgateError("INVALID_ARGUMENT", `pinned digest of ${path} is not a SHA-256 hex string`);
    }
    out.set(path, hex);
  }
  return out;
}

/** How a file departs from its pin. */
export interface PinViolation {
  /** `mismatch`: other bytes; `missing`: pinned but absent; `unexpected`: present but not pinned. */
  readonly kind: "mismatch" | "missing" | "unexpected";
  /** The file. */
  readonly path: string;
  /** The pinned value (digest, or `symlink:<target>`). */
  readonly expected?: string;
  /** The value found. */
  readonly actual?: string;
}

/** What a scanned file looks like, for {@link comparePins}. */
export interface ObservedFile {
  /** SHA-256 of a regular file; absent when it could not be hashed. */
  readonly sha256?: string;
  /** Target of a symbolic link. */
  readonly symlink?: string;
}

/**
 * Compares what was found with what was pinned.
 * @param expected - pinned digests (`{ path: sha256 }` maps become `{sha256}` entries with unknown size)
 * @param observed - the files found, by relative path
 * @param options - `allowUnexpected`: files present but not pinned are fine
 * @returns violations, sorted by path
 */
export function comparePins(
  expected: ReadonlyMap<string, { sha256: string } | { symlink: string }>,
  observed: ReadonlyMap<string, ObservedFile>,
  options: { allowUnexpected?: boolean } = {},
): PinViolation[] {
  const out: PinViolation[] = [];
  const show = (v: ObservedFile | { sha256: string } | { symlink: string }) =>
    "symlink" in v && v.symlink !== undefined ? `symlink:${v.symlink}` : (v as ObservedFile).sha256;
  for (const [path, pin] of expected) {
    const found = observed.get(path);
    const want = show(pin) ?? "";
    if (found === undefined) {
      out.push({ kind: "missing", path, expected: want });
      continue;
    }
    const got = show(found);
    if (got !== want)
      out.push({ kind: "mismatch", path, expected: want, ...(got === undefined ? {} : { actual: got }) });
  }
  if (!options.allowUnexpected) {
    for (const [path, found] of observed) {
      if (expected.has(path)) continue;
      const got = show(found);
      out.push({ kind: "unexpected", path, ...(got === undefined ? {} : { actual: got }) });
    }
  }
  return out.sort((a, b) => compareCodePoints(a.path, b.path));
}

/**
 * Turns a lock file into the map {@link comparePins} takes.
 * @param lock - the lock
 */
export function lockToPins(lock: LockFile): Map<string, { sha256: string } | { symlink: string }> {
  return new Map(
    Object.entries(lock.files).map(([path, e]) => [
      path,
      "symlink" in e ? { symlink: e.symlink } : { sha256: e.sha256 },
    ]),
  );
}
