/**
 * Verdict cache: per-file results keyed by content digest, modelgate version and policy hash, so a
 * registry mirror never reads the same content twice.
 * @module
 */
import { constants } from "node:fs";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelgateError } from "../core/errors.js";
import { sha256Hex } from "../core/sha256.js";
import type { FileReport } from "../report/schema.js";

/**
 * What a cached verdict is keyed by. The engine stores results only under a SHA-256 it computed
 * over every byte of the file, bound to the file's path ({@link contentKeyDigest}), and never a
 * result that read other files (a sibling, a folder listing); a digest a listing merely claims (a
 * Hub LFS oid) is only looked up, and a hit under it is used once the file's bytes, read whole,
 * match it. The one exception, for
 * callers who trust the Hub's content addressing (`hub.trustListedDigests`), is keyed by a SHA-256
 * derived from the oid and the origin kind, which no computed digest can equal.
 */
export interface VerdictCacheKey {
  /** {@link contentKeyDigest} of the file's content and path (lowercase hex), or the derived key described above. */
  readonly sha256: string;
  /** The modelgate version that produced the result. */
  readonly toolVersion: string;
  /** `ResolvedPolicy.hash` of the policy in force. */
  readonly policyHash: string;
}

/**
 * A store of per-file results. Implementations must be safe for concurrent calls; a `get` that
 * fails should resolve `undefined` (the file is then scanned) rather than reject.
 */
export interface VerdictCache {
  /**
   * The stored result for a key, if any.
   * @param key - digest, version and policy hash
   */
  get(key: VerdictCacheKey): Promise<FileReport | undefined>;
  /**
   * Stores a complete result.
   * @param key - digest, version and policy hash
   * @param report - the file's report (path as scanned; the engine re-paths it on a hit)
   */
  set(key: VerdictCacheKey, report: FileReport): Promise<void>;
}

/**
 * The `sha256` of the cache key of a file's result: its content's SHA-256 bound to its path in
 * the scanned tree (lowercase hex). A result depends on the name as well as the bytes (an
 * extension claims a format; a well-known name is read as loaders read it), so the same bytes
 * under another name never share a result.
 * @param sha256 - SHA-256 of the content, computed over every byte
 * @param path - the file's path in the scanned tree
 */
export function contentKeyDigest(sha256: string, path: string): string {
  return sha256Hex(JSON.stringify(["modelgate:content-at-path", sha256, path]));
}

const HEX64 = /^[0-9a-f]{64}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,64}$/;

/**
 * Validates a cache key (digests must be lowercase hex; the version a plain version string).
 * @param key - the key
 * @throws ModelgateError `INVALID_ARGUMENT` for a malformed key
 */
export function checkCacheKey(key: VerdictCacheKey): void {
  if (!HEX64.test(key.sha256) || !HEX64.test(key.policyHash) || !VERSION.test(key.toolVersion)) {
    throw new ModelgateError("INVALID_ARGUMENT", "malformed verdict cache key");
  }
}

/**
 * The part of a file report that depends only on the content: what is stored in the cache.
 * @param report - a file report
 */
export function cacheableReport(report: FileReport): FileReport {
  const { integrity: _integrity, cached: _cached, ...rest } = report;
  return rest;
}

/**
 * A cached report re-pathed for the file it now stands for, flagged `cached`.
 * @param report - the stored report
 * @param path - the file's path in this scan
 * @param size - the file's size in this scan
 */
export function restoreReport(report: FileReport, path: string, size: number): FileReport {
  const old = report.path;
  const repath = (p: string): string => (p === old ? path : p.startsWith(`${old}!`) ? path + p.slice(old.length) : p);
  const restored: FileReport = {
    ...cacheableReport(report),
    path,
    size,
    findings: report.findings.map((f) => ({ ...f, path: repath(f.path) })),
    cached: true,
  };
  if (report.members !== undefined) restored.members = report.members.map((m) => ({ ...m, path: repath(m.path) }));
  // Suppressed findings name their file too: left on the stored path, they would point elsewhere.
  if (report.suppressed !== undefined) {
    restored.suppressed = report.suppressed.map((f) => ({ ...f, path: repath(f.path) }));
  }
  return restored;
}

/** An in-process cache (a Map), for tests and single-process mirrors. */
export class MemoryVerdictCache implements VerdictCache {
  readonly #entries = new Map<string, FileReport>();

  /** Number of stored results. */
  get size(): number {
    return this.#entries.size;
  }

  /** @inheritdoc */
  get(key: VerdictCacheKey): Promise<FileReport | undefined> {
    return Promise.resolve(this.#entries.get(`${key.toolVersion}/${key.policyHash}/${key.sha256}`));
  }

  /** @inheritdoc */
  set(key: VerdictCacheKey, report: FileReport): Promise<void> {
    checkCacheKey(key);
    this.#entries.set(`${key.toolVersion}/${key.policyHash}/${key.sha256}`, cacheableReport(report));
    return Promise.resolve();
  }
}

/** Largest cache entry read back (a report with thousands of findings stays far below). */
const MAX_ENTRY_BYTES = 32 << 20;

/**
 * A directory of JSON files, `<dir>/v1/<version>/<policy hash>/<sha256[0:2]>/<sha256>.json`.
 * Writes are atomic (temporary file + rename), so concurrent scanners may share the directory;
 * entries that do not parse or validate are treated as misses. Whoever can write the directory
 * can decide verdicts: keep it as private as the mirror itself.
 */
export class FileVerdictCache implements VerdictCache {
  readonly #dir: string;

  /** @param dir - the cache directory (created on first write) */
  constructor(dir: string) {
    if (dir === "") throw new ModelgateError("INVALID_ARGUMENT", "empty cache directory");
    this.#dir = dir;
  }

  #pathOf(key: VerdictCacheKey): string {
    checkCacheKey(key);
    return join(this.#dir, "v1", key.toolVersion, key.policyHash, key.sha256.slice(0, 2), `${key.sha256}.json`);
  }

  /** @inheritdoc */
  async get(key: VerdictCacheKey): Promise<FileReport | undefined> {
    let text: string;
    try {
      // Never through a link, and never blocking on a FIFO put where an entry would be: a cache
      // folder others can write to must not be able to stall or redirect a scan.
      const handle = await open(this.#pathOf(key), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        const info = await handle.stat();
        if (!info.isFile() || info.size > MAX_ENTRY_BYTES) return undefined;
        text = await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as { key?: unknown; report?: unknown };
      const stored = parsed.key as VerdictCacheKey | undefined;
      if (stored?.sha256 !== key.sha256 || stored.policyHash !== key.policyHash) return undefined;
      // The schema (zod and the format registry) loads on the first entry read, not with the
      // cache: the main entry exports this class and must stay light (issue 18).
      const { FileReportSchema } = await import("../report/schema.js");
      const report = FileReportSchema.safeParse(parsed.report);
      return report.success ? report.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** @inheritdoc */
  async set(key: VerdictCacheKey, report: FileReport): Promise<void> {
    const path = this.#pathOf(key);
    const dir = join(path, "..");
    await mkdir(dir, { recursive: true });
    const temp = join(
      dir,
      `.${key.sha256}.${process.getBuiltinModule("node:crypto").randomBytes(6).toString("hex")}.tmp`,
    );
    const body = JSON.stringify({ key, report: cacheableReport(report) });
    try {
      await writeFile(temp, body, { mode: 0o600 });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }
}
