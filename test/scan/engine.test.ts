import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelgateError } from "../../src/core/errors.js";
import { reportJsonSchema } from "../../src/report/schema.js";
import { resolveLimits, scan } from "../../src/scan/engine.js";
import type { ProgressEvent } from "../../src/scan/types.js";
import type { ByteSource } from "../../src/sources/byte-source.js";
import { ruleIds, scanOne } from "../helpers/scan.js";
import { reportValidator } from "../helpers/schema.js";

const text = (s: string) => new TextEncoder().encode(s);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-engine-"));
  await mkdir(join(dir, "sub", "deeper"), { recursive: true });
  await mkdir(join(dir, ".git"));
  await writeFile(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  await writeFile(join(dir, "config.json"), '{"model_type": "bert"}\n');
  await writeFile(join(dir, "sub", "notes.txt"), "cos\nsystem\n(S'echo hi'\ntR.");
  await writeFile(
    join(dir, "sub", "deeper", "blob.bin"),
    new Uint8Array(300).map((_, i) => (i * 7919) % 251),
  );
  await writeFile(join(dir, "empty.txt"), "");
  await symlink("/etc/passwd", join(dir, "passwd-link"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("scan a directory", () => {
  it("lists every file once, POSIX-relative, sorted, links not followed, the root's .git skipped and reported", async () => {
    const report = await scan(dir);
    expect(report.files.map((f) => f.path)).toEqual([
      ".git",
      "config.json",
      "empty.txt",
      "passwd-link",
      "sub/deeper/blob.bin",
      "sub/notes.txt",
    ]);
    const link = report.files.find((f) => f.path === "passwd-link")!;
    expect(ruleIds(link)).toEqual(["file/symlink"]);
    expect(link.verdict).toBe("suspicious");
    const git = report.files.find((f) => f.path === ".git")!;
    expect(git.findings).toMatchObject([
      { ruleId: "scan/skipped-directory", severity: "info", evidence: { entries: 1, more: false } },
    ]);
    expect(git.verdict).toBe("clean");
    expect(report.target).toEqual({ kind: "directory", name: dir });
    expect(report.complete).toBe(true);
  });

  it("judges by content: a pickle named .txt is a pickle, and the name is a finding", async () => {
    const report = await scan(dir);
    const notes = report.files.find((f) => f.path === "sub/notes.txt")!;
    expect(notes.format).toBe("pickle");
    expect(ruleIds(notes)).toContain("format/extension-mismatch");
    expect(notes.verdict).not.toBe("clean");
  });

  it("hashes every regular file with SHA-256 unless told not to", async () => {
    const report = await scan(dir);
    const empty = report.files.find((f) => f.path === "empty.txt")!;
    expect(empty.sha256).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const unhashed = await scan(dir, { hash: false });
    expect(unhashed.files.every((f) => f.sha256 === undefined)).toBe(true);
  });

  it("produces a report valid against the published JSON Schema, with consistent counts", async () => {
    const report = await scan(dir);
    const { valid, errors } = reportValidator()(JSON.parse(JSON.stringify(report)));
    expect(errors).toBe("");
    expect(valid).toBe(true);
    expect(report.summary.files).toBe(report.files.length);
    expect(report.summary.findings).toBe(report.files.reduce((n, f) => n + f.findings.length, 0));
    const byVerdict = Object.values(report.summary.byVerdict).reduce((a, b) => a + b, 0);
    expect(byVerdict).toBe(report.files.length);
  });

  it("emits typed progress events", async () => {
    const events: ProgressEvent[] = [];
    await scan(dir, { onProgress: (e) => events.push(e) });
    expect(new Set(events.map((e) => e.phase))).toEqual(new Set(["list", "analyze", "hash", "done"]));
    const last = events.filter((e) => e.phase === "done").at(-1)!;
    expect(last.bytesDone).toBe(last.bytesTotal);
  });

  it("reports every file as aborted when the signal has already fired", async () => {
    const report = await scan(join(dir, "config.json"), { signal: AbortSignal.abort() });
    expect(report.complete).toBe(false);
    expect(report.files[0]!.verdict).toBe("invalid");
  });
});

describe("single targets", () => {
  it("names a single file by its base name", async () => {
    const report = await scan(join(dir, "sub", "notes.txt"));
    expect(report.files.map((f) => f.path)).toEqual(["notes.txt"]);
    expect(report.target.kind).toBe("file");
  });

  it("scans in-memory bytes and ByteSources", async () => {
    const bytes = text("hello\n");
    expect((await scanOne(bytes, "a.txt")).verdict).toBe("clean");
    const source: ByteSource = { size: bytes.length, read: async (o, l) => bytes.subarray(o, o + l) };
    const report = await scan(source);
    expect(report.target).toEqual({ kind: "source", name: "input" });
  });

  it("rejects missing paths and bad options with typed errors", async () => {
    await expect(scan(join(dir, "nope"))).rejects.toBeInstanceOf(ModelgateError);
    await expect(scan({ bytes: text("x"), name: "a!b" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(() => resolveLimits({ maxDepth: -1 })).toThrow(/positive/);
    expect(() => resolveLimits({ bogus: 1 } as never)).toThrow(/unknown limit/);
    await expect(scan(dir, { policy: { disable: ["no/such-rule"] } })).rejects.toMatchObject({ code: "POLICY" });
  });
});

describe("budgets and failures never yield clean", () => {
  it("a read budget that is hit makes the file invalid", async () => {
    const file = await scanOne(new Uint8Array(200_000).fill(0x41), "big.txt", { limits: { maxReadBytes: 1000 } });
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("scan/budget-exceeded");
  });

  it("a source that fails to read is invalid and recorded as a scan error", async () => {
    const failing: ByteSource = {
      size: 100,
      read: async () => {
        throw new ModelgateError("IO", "disk on fire");
      },
    };
    const report = await scan({ source: failing, name: "x.bin" });
    expect(report.files[0]!.verdict).toBe("invalid");
    expect(ruleIds(report.files[0]!)).toEqual(["scan/read-error"]);
    expect(report.errors[0]).toMatchObject({ code: "IO", path: "x.bin" });
    expect(report.complete).toBe(false);
  });

  it("a source slower than the per-file time budget times out", async () => {
    const slow: ByteSource = {
      size: 10,
      read: (_o, _l) => new Promise((resolve) => setTimeout(() => resolve(new Uint8Array(0)), 2_000)),
    };
    const t0 = Date.now();
    const report = await scan({ source: slow, name: "slow.bin" }, { limits: { fileTimeoutMs: 50 }, hash: false });
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(ruleIds(report.files[0]!)).toEqual(["scan/timeout"]);
    expect(report.files[0]!.verdict).toBe("invalid");
  });

  it("a recognised format with no analyzer is invalid, not clean (allowlist-first)", async () => {
    const rar = new Uint8Array([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00, 0, 0, 0]);
    const file = await scanOne(rar, "weights.rar");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("format/unsupported");
  });

  it("policy overrides change severities and disable rules", async () => {
    const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    expect((await scanOne(elf, "lib.so")).verdict).toBe("malicious");
    const lowered = await scanOne(elf, "lib.so", { policy: { severity: { "format/executable": "low" } } });
    expect(lowered.verdict).toBe("suspicious");
    expect(lowered.findings[0]!.severity).toBe("low");
    const off = await scanOne(elf, "lib.so", { policy: { disable: ["format/executable"] } });
    expect(off.verdict).toBe("clean");
  });
});

describe("published schema", () => {
  it("the committed schema file equals the one generated from the zod schemas", async () => {
    const { readFile } = await import("node:fs/promises");
    const committed = JSON.parse(
      await readFile(new URL("../../schema/report-v1.schema.json", import.meta.url), "utf8"),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(reportJsonSchema())));
  });
});
