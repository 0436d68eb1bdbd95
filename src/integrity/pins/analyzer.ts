/**
 * The repository analyzer that checks a scanned tree against pinned digests or a lock file,
 * using the SHA-256 the scan computed.
 * @module
 */
import { relative, resolve, sep } from "node:path";
import type { RepoAnalyzer } from "../../core/analyzer.js";
import { ModelgateError } from "../../core/errors.js";
import { defaultHashPool } from "../hash/pool.js";
import type { LockFile } from "./lock.js";
import { comparePins, lockToPins, type ObservedFile, validatePins } from "./pins.js";

/** Checks `scan` pins (`pins`, `lockFile`) and reports mismatched, missing and unexpected files. */
export const pinsRepoAnalyzer: RepoAnalyzer = {
  name: "pins",
  async analyze(ctx) {
    const { pins, lockFile } = ctx.options;
    if (pins === undefined && lockFile === undefined) return;
    let lock: LockFile | undefined;
    let lockRel: string | undefined;
    if (typeof lockFile === "string") {
      // lock files (and their zod schema) load only when a scan names one
      const { readLockFile } = await import("./lock.js");
      lock = await readLockFile(lockFile);
      if (ctx.root.localDir !== undefined && ctx.root.target.kind === "directory") {
        const rel = relative(resolve(ctx.root.localDir), resolve(lockFile));
        if (!rel.startsWith("..") && rel !== "") lockRel = rel.split(sep).join("/");
      }
    } else if (lockFile !== undefined) {
      lock = lockFile;
    }
    const expected = lock === undefined ? new Map() : lockToPins(lock);
    if (pins !== undefined) for (const [path, sha256] of validatePins(pins)) expected.set(path, { sha256 });

    const reports = new Map(ctx.files.map((f) => [f.path, f]));
    const observed = new Map<string, ObservedFile>();
    for (const entry of ctx.entries) {
      if (entry.path === lockRel) continue;
      if (entry.kind === "symlink") {
        observed.set(entry.path, { symlink: entry.linkTarget ?? "" });
        continue;
      }
      if (entry.kind !== "file") {
        observed.set(entry.path, {});
        continue;
      }
      let sha256 = reports.get(entry.path)?.sha256;
      if (sha256 === undefined && ctx.root.localDir !== undefined && ctx.options.hash === false) {
        // The scan was told not to hash; pins need digests, so hash here.
        const path = resolve(ctx.root.localDir, entry.path);
        const result = await defaultHashPool().hash({
          path,
          noFollow: true,
          expectedSize: entry.size,
          signal: ctx.signal,
        });
        sha256 = result.digests[0]?.sha256;
      }
      if (sha256 === undefined) {
        throw new ModelgateError("IO", `no SHA-256 for ${entry.path}: cannot check it against the pins`);
      }
      observed.set(entry.path, { sha256 });
    }
    const violations = comparePins(expected, observed, { allowUnexpected: ctx.options.allowUnpinned ?? false });
    const anchor = lockRel ?? ctx.entries.find((e) => e.kind === "file")?.path;
    const source = lockRel ?? (typeof lockFile === "string" ? lockFile : "pins");
    const missing = violations.filter((v) => v.kind === "missing");
    if (anchor === undefined && missing.length > 0) {
      // Nothing listed to attach the findings to: fail the scan rather than call it clean.
      throw new ModelgateError(
        "IO",
        `pinned files missing from an empty tree: ${missing.map((v) => v.path).join(", ")}`,
      );
    }
    for (const v of violations) {
      switch (v.kind) {
        case "mismatch":
          ctx.report(v.path, {
            ruleId: "integrity/pin-mismatch",
            message: `SHA-256 differs from the pinned digest (${source})`,
            evidence: { expected: v.expected ?? null, actual: v.actual ?? null },
          });
          break;
        case "unexpected":
          ctx.report(v.path, {
            ruleId: "integrity/pin-unexpected",
            message: `not listed in the pins (${source})`,
            evidence: { actual: v.actual ?? null },
          });
          break;
        case "missing":
          if (anchor !== undefined) {
            ctx.report(anchor, {
              ruleId: "integrity/pin-missing",
              message: `pinned file ${v.path} is missing`,
              evidence: { missing: v.path, expected: v.expected ?? null },
            });
          }
          break;
      }
    }
  },
};
