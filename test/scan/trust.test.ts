// Trust boundaries of local scans (issue 13): files swapped or modified while a scan runs, FIFOs
// and links put in a file's place, deep trees, skipped folders, the scan's own deadline.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashFile } from "../../src/integrity/hash/pool.js";
import type { FileReport, ScanReport } from "../../src/report/schema.js";
import { MemoryVerdictCache } from "../../src/scan/cache.js";
import { resolveLimits, scan, scanRoot } from "../../src/scan/engine.js";
import { DEFAULT_LIMITS, type ProgressEvent, type RootEntry, type ScanRoot } from "../../src/scan/types.js";
import type { ByteSource } from "../../src/sources/byte-source.js";
import { FileSource, isFileChangedError } from "../../src/sources/file.js";
import { ruleIds } from "../helpers/scan.js";

const text = (s: string) => new TextEncoder().encode(s);
/** A protocol-2 pickle of an empty dict: clean. */
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mg-trust-"));
});
afterEach(() => {
  // `rm -rf` copes with trees deeper than PATH_MAX allows to name.
  execFileSync("rm", ["-rf", dir]);
});

const file = (r: ScanReport, path: string): FileReport => {
  const f = r.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`no report for ${path}`);
  return f;
};

/** Calls `act` once, on the first progress event that matches. */
function once(match: (e: ProgressEvent) => boolean, act: () => void): (e: ProgressEvent) => void {
  let done = false;
  return (e) => {
    if (!done && match(e)) {
      done = true;
      act();
    }
  };
}

describe("a file replaced while the scan runs", () => {
  it("renamed over after it was listed: invalid (scan/file-changed), never cached, the other file not analysed", async () => {
    writeFileSync(join(dir, "model.pkl"), CLEAN);
    writeFileSync(join(dir, "other.bin"), EVIL);
    const cache = new MemoryVerdictCache();
    const report = await scan(dir, {
      cache,
      concurrency: 1,
      onProgress: once(
        (e) => e.phase === "list" && e.path === "other.bin",
        () => renameSync(join(dir, "other.bin"), join(dir, "model.pkl")),
      ),
    });
    const model = file(report, "model.pkl");
    expect(ruleIds(model)).toEqual(["scan/file-changed"]);
    expect(model.verdict).toBe("invalid");
    expect(model.sha256).toBeUndefined();
    expect(report.complete).toBe(false);
    // Nothing cached under either digest.
    expect(cache.size).toBe(0);
  });

  it("renamed over while it is analysed: the verdict is not paired with the other file's digest, and not cached", async () => {
    writeFileSync(join(dir, "model.pkl"), CLEAN);
    writeFileSync(join(dir, "swap"), EVIL);
    const cache = new MemoryVerdictCache();
    const report = await scan(join(dir, "model.pkl"), {
      cache,
      onProgress: once(
        (e) => e.phase === "analyze" && e.path === "model.pkl",
        () => renameSync(join(dir, "swap"), join(dir, "model.pkl")),
      ),
    });
    const model = file(report, "model.pkl");
    expect(ruleIds(model)).toContain("scan/file-changed");
    expect(model.verdict).toBe("invalid");
    expect(model.sha256).toBeUndefined();
    expect(cache.size).toBe(0);
    // What was analysed is the file that was opened (the clean one), and no digest of the other.
    expect(JSON.stringify(report)).not.toContain(sha256(EVIL));
  });

  it("modified in place while it is analysed (same size, same inode): invalid and not cached", async () => {
    const path = join(dir, "model.pkl");
    writeFileSync(path, CLEAN);
    // Timestamps are coarse (a few ms): date the file back so that the write shows.
    utimesSync(path, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const cache = new MemoryVerdictCache();
    const report = await scan(dir, {
      cache,
      onProgress: once(
        (e) => e.phase === "analyze" && e.path === "model.pkl",
        () => writeFileSync(path, new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x01, 0x2e])),
      ),
    });
    expect(ruleIds(file(report, "model.pkl"))).toContain("scan/file-changed");
    expect(cache.size).toBe(0);
  });

  it("a FIFO put in its place does not hang the scan", { timeout: 15_000 }, async () => {
    const path = join(dir, "model.pkl");
    writeFileSync(path, CLEAN);
    writeFileSync(join(dir, "z.txt"), "z");
    const report = await scan(dir, {
      concurrency: 1,
      onProgress: once(
        (e) => e.phase === "list" && e.path === "z.txt",
        () => {
          unlinkSync(path);
          execFileSync("mkfifo", [path]);
        },
      ),
    });
    const model = file(report, "model.pkl");
    expect(ruleIds(model)).toEqual(["scan/file-changed"]);
    expect(model.findings[0]?.message).toMatch(/FIFO/);
    expect(model.verdict).toBe("invalid");
  });

  it("a symbolic link put in its place is not followed: the file outside is not analysed", async () => {
    const outside = mkdtempSync(join(tmpdir(), "mg-outside-"));
    try {
      writeFileSync(join(outside, "evil.pkl"), EVIL);
      const path = join(dir, "model.pkl");
      writeFileSync(path, CLEAN);
      writeFileSync(join(dir, "z.txt"), "z");
      const report = await scan(dir, {
        concurrency: 1,
        onProgress: once(
          (e) => e.phase === "list" && e.path === "z.txt",
          () => {
            unlinkSync(path);
            symlinkSync(join(outside, "evil.pkl"), path);
          },
        ),
      });
      const model = file(report, "model.pkl");
      expect(ruleIds(model)).toEqual(["scan/file-changed"]);
      expect(model.findings[0]?.message).toMatch(/symbolic link/);
      expect(model.findings.some((f) => f.ruleId.startsWith("pickle/"))).toBe(false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("the opener refuses links, FIFOs and a file other than the one listed, with typed errors", async () => {
    const a = join(dir, "a.bin");
    const b = join(dir, "b.bin");
    writeFileSync(a, "aaaa");
    writeFileSync(b, "bbbb");
    symlinkSync(a, join(dir, "link"));
    execFileSync("mkfifo", [join(dir, "fifo")]);
    await expect(FileSource.open(join(dir, "link"))).rejects.toThrow(/symbolic link/);
    await expect(FileSource.open(join(dir, "fifo"))).rejects.toThrow(/FIFO/);
    const source = await FileSource.open(a);
    const { dev, ino } = source.identity;
    await source.close();
    const ok = await FileSource.open(a, { expect: { dev, ino, size: 4 } });
    await ok.close();
    const other = await FileSource.open(b, { expect: { dev, ino, size: 4 } }).catch((e: unknown) => e);
    expect(isFileChangedError(other)).toBe(true);
    const resized = await FileSource.open(a, { expect: { dev, ino, size: 5 } }).catch((e: unknown) => e);
    expect(isFileChangedError(resized)).toBe(true);
  });

  it("the hash pool hashes the open descriptor, not whatever the name points to later", async () => {
    const a = join(dir, "a.bin");
    const bytes = new Uint8Array(5 << 20).map((_, i) => i % 251);
    writeFileSync(a, bytes);
    writeFileSync(join(dir, "b.bin"), "other");
    const source = await FileSource.open(a);
    try {
      renameSync(join(dir, "b.bin"), a);
      expect(source.descriptorPath).toBeDefined();
      const { digests } = await hashFile(source.descriptorPath!, { expectedSize: source.size });
      expect(digests[0]?.sha256).toBe(sha256(bytes));
      expect(await source.changes()).toMatch(/another file was put in its place/);
    } finally {
      await source.close();
    }
  });

  it("an unchanged large file (hashed on the pool) gets the right digest and is cached under it", async () => {
    const bytes = new Uint8Array(5 << 20).map((_, i) => (i * 7) % 253);
    writeFileSync(join(dir, "blob.xyz"), bytes);
    const cache = new MemoryVerdictCache();
    const report = await scan(dir, { cache });
    expect(file(report, "blob.xyz").sha256).toBe(sha256(bytes));
    expect(cache.size).toBe(1);
  });
});

/** Makes `depth` nested folders `d` under `root` (deeper than a path can name) and `x.pkl` at the bottom. */
function nest(root: string, depth: number, bytes: Uint8Array): void {
  const script = `const fs = require("fs"); process.chdir(process.argv[1]);
    for (let i = 0; i < Number(process.argv[2]); i++) { fs.mkdirSync("d"); process.chdir("d"); }
    fs.writeFileSync("x.pkl", Buffer.from(process.argv[3], "hex"));`;
  execFileSync(process.execPath, ["-e", script, root, String(depth), Buffer.from(bytes).toString("hex")]);
}

describe("directory walks", () => {
  it("a link named as the target is followed; links inside a scanned directory are not", async () => {
    writeFileSync(join(dir, "evil.pkl"), EVIL);
    symlinkSync(join(dir, "evil.pkl"), join(dir, "link.pkl"));
    const named = await scan(join(dir, "link.pkl"));
    expect(named.files.map((f) => [f.path, f.verdict])).toEqual([["link.pkl", "malicious"]]);
    const walked = await scan(dir);
    expect(ruleIds(file(walked, "link.pkl"))).toEqual(["file/symlink"]);
  });

  it("a version-control folder below the top is scanned like any other: weights/.hg/x.pkl is found", async () => {
    mkdirSync(join(dir, "weights", ".hg"), { recursive: true });
    mkdirSync(join(dir, "sub", ".git"), { recursive: true });
    writeFileSync(join(dir, "weights", ".hg", "x.pkl"), EVIL);
    writeFileSync(join(dir, "sub", ".git", "y.pkl"), EVIL);
    const report = await scan(dir);
    expect(file(report, "weights/.hg/x.pkl").verdict).toBe("malicious");
    expect(file(report, "sub/.git/y.pkl").verdict).toBe("malicious");
    expect(report.verdict).toBe("malicious");
  });

  it("the top-level .git is skipped, reported with the number of entries skipped; .hg and .svn are scanned", async () => {
    // git refuses to track a path named .git; .hg and .svn can be committed like any folder
    for (const vcs of [".git", ".hg", ".svn"]) {
      mkdirSync(join(dir, vcs, "objects"), { recursive: true });
      writeFileSync(join(dir, vcs, "objects", "x.pkl"), EVIL);
    }
    const report = await scan(dir);
    expect(report.files.map((f) => f.path)).toEqual([".git", ".hg/objects/x.pkl", ".svn/objects/x.pkl"]);
    expect(report.files[0]?.findings).toMatchObject([
      { ruleId: "scan/skipped-directory", severity: "info", evidence: { entries: 2 } },
    ]);
    expect(report.files[1]?.verdict).toBe("malicious");
    expect(report.files[2]?.verdict).toBe("malicious");
    expect(report.complete).toBe(true);
  });

  it("2,000 nested folders: walked without recursion, the file at the bottom is found", {
    timeout: 120_000,
  }, async () => {
    nest(dir, 2000, EVIL);
    const report = await scan(dir, { limits: { maxDirectoryDepth: 2_100 } });
    expect(report.files).toHaveLength(1);
    expect(report.files[0]?.path).toBe(`${"d/".repeat(2000)}x.pkl`);
    expect(report.files[0]?.verdict).toBe("malicious");
  });

  it("2,500 nested folders with the default depth budget: the folder past it is reported, the scan is incomplete", {
    timeout: 120_000,
  }, async () => {
    nest(dir, 2500, EVIL);
    const report = await scan(dir);
    expect(report.files).toHaveLength(1);
    const deep = report.files[0]!;
    expect(deep.path).toBe(`${"d/".repeat(DEFAULT_LIMITS.maxDirectoryDepth)}d`);
    expect(ruleIds(deep)).toEqual(["scan/depth-exceeded"]);
    expect(deep.verdict).toBe("invalid");
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
  });
});

/** A root whose listing and files are given by the test. */
function fakeRoot(
  entries: RootEntry[],
  open: (path: string) => Promise<ByteSource>,
  list?: () => Promise<void>,
): ScanRoot {
  return {
    target: { kind: "source", name: "fake" },
    async *list() {
      await list?.();
      yield* entries;
    },
    open,
  };
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe("the scan's own deadline (limits.scanTimeoutMs)", () => {
  it("defaults to an hour and is validated like the other limits", () => {
    expect(resolveLimits().scanTimeoutMs).toBe(60 * 60_000);
    expect(resolveLimits({ scanTimeoutMs: 5 }).scanTimeoutMs).toBe(5);
    expect(() => resolveLimits({ scanTimeoutMs: 0 })).toThrow(/scanTimeoutMs/);
  });

  it("files not finished or not reached when it runs out are invalid (scan/timeout); the report is incomplete", async () => {
    const entries: RootEntry[] = ["a.bin", "b.bin", "c.bin"].map((path) => ({ path, size: 10, kind: "file" }));
    const hanging: ByteSource = { size: 10, read: () => never() };
    const t0 = Date.now();
    const report = await scanRoot(
      fakeRoot(entries, () => Promise.resolve(hanging)),
      { concurrency: 1, limits: { scanTimeoutMs: 300, fileTimeoutMs: 60_000 } },
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(report.files.map((f) => [f.path, f.verdict, ruleIds(f)])).toEqual([
      ["a.bin", "invalid", ["scan/timeout"]],
      ["b.bin", "invalid", ["scan/timeout"]],
      ["c.bin", "invalid", ["scan/timeout"]],
    ]);
    expect(report.complete).toBe(false);
    expect(report.verdict).toBe("invalid");
    expect(report.errors.some((e) => e.code === "TIMEOUT")).toBe(true);
  });

  it("an open that never finishes is bounded by the file's deadline", async () => {
    const report = await scanRoot(
      fakeRoot([{ path: "a.bin", size: 10, kind: "file" }], () => never()),
      { limits: { fileTimeoutMs: 200 } },
    );
    expect(ruleIds(report.files[0]!)).toEqual(["scan/timeout"]);
    expect(report.complete).toBe(false);
  });

  it("a listing that never ends is bounded too", async () => {
    const t0 = Date.now();
    const report = await scanRoot(
      fakeRoot(
        [],
        () => never(),
        () => never(),
      ),
      { limits: { scanTimeoutMs: 200 } },
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(report.complete).toBe(false);
    expect(report.errors).toMatchObject([{ code: "TIMEOUT" }]);
  });
});
