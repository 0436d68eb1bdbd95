/**
 * Checks of ONNX external-data references: where a tensor's bytes would be read from.
 *
 * `onnx.load` joins each tensor's `external_data` `location` to the model's directory and reads
 * `length` bytes at `offset`. Before onnx 1.13 (CVE-2022-25882), and through a bypass until 1.16
 * (CVE-2024-27318), nothing kept that path inside the directory. The lexical checks here need no
 * file system; the others run when the model sits in a local directory (symbolic links resolved
 * with `realpath`) or in a root that can open its siblings.
 * @module
 */
import { lstat, realpath, stat } from "node:fs/promises";
import { posix, resolve, sep } from "node:path";
import type { FindingInput } from "../../core/findings.js";
import type { ScanRoot } from "../../core/root.js";
import type { OnnxExternalRef } from "./reader.js";

/** Keys ONNX defines for `external_data` entries. */
const KNOWN_KEYS: ReadonlySet<string> = new Set(["location", "offset", "length", "checksum", "basepath"]);

/** Where the model sits, for resolving its external files. */
export interface ExternalDataEnv {
  /** The model's directory, POSIX, relative to the root (`""` for the root itself). */
  readonly modelDir: string;
  /** The scan root, when the model is a top-level file (not a container member). */
  readonly root?: ScanRoot;
  /** Called between file checks; may throw to stop. */
  readonly checkpoint?: () => void;
}

/** What is wrong with a location string on its own, if anything. */
export function lexicalProblem(location: string): string | undefined {
  if (location.length === 0) return "empty location";
  for (let i = 0; i < location.length; i++) {
    const c = location.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return "control character in location";
  }
  if (location.startsWith("/") || location.startsWith("\\")) return "absolute path";
  if (/^[A-Za-z]:/.test(location)) return "drive-letter path";
  if (location.split(/[\\/]+/).includes("..")) return "parent-directory component";
  return undefined;
}

/** Whether a location, joined to `dir` and normalised, stays inside `dir`. */
export function staysInside(dir: string, location: string): boolean {
  const joined = posix.normalize(posix.join("/base", dir, location.replaceAll("\\", "/")));
  const base = posix.normalize(posix.join("/base", dir));
  return joined === base || joined.startsWith(base === "/" ? "/" : `${base}/`);
}

/**
 * An `offset` or `length` value: undefined when absent, null when it is not a decimal count.
 * @param value - the entry's value
 */
export function parseCount(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value)) return null;
  return Number(value);
}

/**
 * The paths, relative to the model's directory, that a supported onnx version opens for a
 * location, with who opens each: onnx 1.13 and later the location as written (refusing `..` and,
 * since 1.16, symbolic links); onnx up to 1.12 (`external_data_helper._sanitize_path`, still
 * Debian bookworm's python3-onnx) `location.lstrip('/.')`, so `.weights.bin` reads `weights.bin`.
 * @param location - the `location` entry
 */
export function openedPaths(location: string): Array<[path: string, reader: string]> {
  const stripped = location.replace(/^[/.]+/, "");
  return stripped === location
    ? [[location, "onnx"]]
    : [
        [location, "onnx >= 1.13"],
        [stripped, "onnx <= 1.12 (location.lstrip('/.'))"],
      ];
}

const isNotFound = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
};

/**
 * Checks every external-data reference of a model.
 * @param refs - references found by the reader
 * @param env - where the model is
 * @returns findings to report (rule, message, evidence, offset)
 */
export async function checkExternalData(
  refs: readonly OnnxExternalRef[],
  env: ExternalDataEnv,
): Promise<FindingInput[]> {
  const findings: FindingInput[] = [];
  const sizes = new Map<string, Promise<FileInfo>>();
  for (const ref of refs) {
    env.checkpoint?.();
    const evidence = { tensor: ref.tensor.slice(0, 200), where: ref.where.slice(0, 400) };
    const keys = ref.entries.map(([k]) => k);
    const location = ref.entries.find(([k]) => k === "location")?.[1];
    const duplicated = keys.filter((k, i) => keys.indexOf(k) !== i);
    const unknown = keys.filter((k) => !KNOWN_KEYS.has(k));
    const offset = parseCount(ref.entries.find(([k]) => k === "offset")?.[1]);
    const length = parseCount(ref.entries.find(([k]) => k === "length")?.[1]);
    const invalid: string[] = [];
    if (location === undefined) invalid.push("no location");
    if (duplicated.length > 0) invalid.push(`duplicated keys ${[...new Set(duplicated)].join(", ")}`);
    if (offset === null) invalid.push("offset is not a non-negative integer");
    if (length === null) invalid.push("length is not a non-negative integer");
    if (!ref.markedExternal && ref.entries.length > 0) invalid.push("external_data without data_location EXTERNAL");
    if (ref.markedExternal && ref.entries.length === 0) invalid.push("data_location EXTERNAL without external_data");
    if (invalid.length > 0) {
      findings.push({
        ruleId: "onnx/external-data-invalid",
        message: `tensor ${JSON.stringify(ref.tensor)}: ${invalid.join("; ")}`,
        offset: ref.offset,
        evidence: { ...evidence, location: location?.slice(0, 400) ?? null, unknownKeys: unknown.join(",") },
      });
    }
    if (location === undefined) continue;
    const shown = location.slice(0, 400);
    const problem = lexicalProblem(location);
    if (problem === "empty location" || problem === "control character in location") {
      findings.push({
        ruleId: "onnx/external-data-invalid",
        message: `tensor ${JSON.stringify(ref.tensor)}: ${problem}`,
        offset: ref.offset,
        evidence: { ...evidence, location: shown },
      });
      continue;
    }
    if (problem !== undefined || !staysInside(env.modelDir, location)) {
      findings.push({
        ruleId: "onnx/external-data-traversal",
        message: `tensor ${JSON.stringify(ref.tensor)} reads external data from ${JSON.stringify(shown)} (${problem ?? "escapes the model directory"})`,
        offset: ref.offset,
        evidence: { ...evidence, location: shown, problem: problem ?? "escapes the model directory" },
      });
      continue;
    }
    if (env.root === undefined) continue;
    for (const [opened, reader] of openedPaths(location)) {
      // an empty stripped form is the directory itself (not a regular file)
      if (!staysInside(env.modelDir, opened)) {
        findings.push({
          ruleId: "onnx/external-data-traversal",
          message: `tensor ${JSON.stringify(ref.tensor)} reads external data from ${JSON.stringify(opened.slice(0, 400))} with ${reader} (escapes the model directory)`,
          offset: ref.offset,
          evidence: { ...evidence, location: shown, opened: opened.slice(0, 400), reader },
        });
        continue;
      }
      const relPath = posix.normalize(posix.join(env.modelDir, opened.replaceAll("\\", "/")));
      let info = sizes.get(relPath);
      if (info === undefined) {
        info = inspect(env.root, env.modelDir, relPath);
        sizes.set(relPath, info);
      }
      const found = await info;
      const shownPath = opened.slice(0, 400);
      const as = opened === location ? "" : ` (read as ${JSON.stringify(shownPath)} by ${reader})`;
      const at = { ...evidence, location: shown, opened: shownPath, reader };
      if (found.kind === "missing") {
        findings.push({
          ruleId: "onnx/external-data-missing",
          message: `tensor ${JSON.stringify(ref.tensor)}: external data file ${JSON.stringify(shown)}${as} does not exist`,
          offset: ref.offset,
          evidence: at,
        });
      } else if (found.kind === "escape") {
        findings.push({
          ruleId: "onnx/external-data-symlink",
          message: `tensor ${JSON.stringify(ref.tensor)}: ${JSON.stringify(shown)}${as} resolves outside the model directory through a symbolic link`,
          offset: ref.offset,
          evidence: { ...at, resolved: found.resolved },
        });
      } else if (found.kind === "special") {
        findings.push({
          ruleId: "onnx/external-data-invalid",
          message: `tensor ${JSON.stringify(ref.tensor)}: ${JSON.stringify(shown)}${as} is not a regular file`,
          offset: ref.offset,
          evidence: at,
        });
      } else if (found.kind === "file") {
        const start = offset ?? 0;
        const end = length === undefined || length === null ? undefined : start + length;
        if (start > found.size || (end !== undefined && end > found.size)) {
          findings.push({
            ruleId: "onnx/external-data-out-of-bounds",
            message: `tensor ${JSON.stringify(ref.tensor)}: range ${start}+${length ?? "rest"} is outside ${JSON.stringify(shown)}${as} (${found.size} bytes)`,
            offset: ref.offset,
            evidence: { ...at, dataOffset: start, dataLength: length ?? -1, fileSize: found.size },
          });
        }
      }
    }
  }
  return findings;
}

type FileInfo =
  | { kind: "file"; size: number }
  | { kind: "missing" }
  | { kind: "special" }
  | { kind: "escape"; resolved: string }
  | { kind: "unknown" };

/** Looks the referenced file up: on disk with links resolved, or through the root. */
async function inspect(root: ScanRoot, modelDir: string, relPath: string): Promise<FileInfo> {
  if (root.localDir !== undefined) {
    const dir = resolve(root.localDir, modelDir);
    const full = resolve(root.localDir, relPath);
    try {
      await lstat(full);
    } catch (error) {
      if (isNotFound(error)) return { kind: "missing" };
      return { kind: "unknown" };
    }
    let real: string;
    let realDir: string;
    try {
      [real, realDir] = await Promise.all([realpath(full), realpath(dir)]);
    } catch (error) {
      // a dangling link: it points somewhere that does not exist
      if (isNotFound(error)) return { kind: "missing" };
      return { kind: "unknown" };
    }
    if (real !== realDir && !real.startsWith(realDir.endsWith(sep) ? realDir : realDir + sep)) {
      return { kind: "escape", resolved: real };
    }
    const info = await stat(real).catch(() => undefined);
    if (info === undefined) return { kind: "missing" };
    return info.isFile() ? { kind: "file", size: info.size } : { kind: "special" };
  }
  try {
    const source = await root.open(relPath);
    const size = source.size;
    await source.close?.();
    return { kind: "file", size };
  } catch {
    return { kind: "missing" };
  }
}
