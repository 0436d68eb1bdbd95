/**
 * The directory walk against names and folders that change meaning: names that are not valid
 * UTF-8 (which decode to another file's name), paths listed twice, a folder swapped for a link
 * after its parent was listed, a caller-checked root replaced, and the file-count budget.
 */
import { mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BufferSource } from "../../src/core/byte-source.js";
import { ModelgateError } from "../../src/core/errors.js";
import type { RootEntry, ScanRoot } from "../../src/core/root.js";
import { listTree } from "../../src/integrity/walk.js";
import { scan, scanRoot } from "../../src/scan/engine.js";
import { FileChangedError } from "../../src/sources/file.js";
import { DirectoryChangedError, DirectoryRoot, decodeStoredName, rootFor } from "../../src/sources/roots.js";
import { ruleIds } from "../helpers/scan.js";

const EVIL = new TextEncoder().encode("cos\nsystem\n(S'touch /tmp/pwned'\ntR.");
const BENIGN = Uint8Array.from([0x80, 0x04, 0x4e, 0x2e]); // protocol 4, None, STOP
const bytesPath = (dir: string, ...raw: Buffer[]) =>
  Buffer.concat([Buffer.from(`${dir}/`), ...raw.flatMap((r, i) => (i === 0 ? [r] : [Buffer.from("/"), r]))]);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-listing-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("names that are not valid UTF-8", () => {
  it("a malicious model\\xFF.pkl next to a benign model\\uFFFD.pkl is never aliased to it", async () => {
    await writeFile(bytesPath(dir, Buffer.from("model\uFFFD.pkl")), BENIGN);
    await writeFile(bytesPath(dir, Buffer.from([...Buffer.from("model"), 0xff, ...Buffer.from(".pkl")])), EVIL);
    const report = await scan(dir);
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
    const paths = report.files.map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);
    const bad = report.files.find((f) => f.path === "model\\xff.pkl");
    expect(bad?.verdict).toBe("invalid");
    expect(ruleIds(bad!)).toEqual(["scan/read-error"]);
    expect(report.files.find((f) => f.path === "model\uFFFD.pkl")?.verdict).toBe("clean");
  });

  it("a folder whose name is not valid UTF-8 is reported, not hidden", async () => {
    const folder = Buffer.from([0x64, 0xff]);
    await mkdir(bytesPath(dir, folder));
    await writeFile(bytesPath(dir, folder, Buffer.from("evil.pkl")), EVIL);
    const report = await scan(dir);
    expect(report.verdict).toBe("invalid");
    expect(report.files.map((f) => [f.path, f.verdict])).toEqual([["d\\xff", "invalid"]]);
  });

  it("lock files and signatures (listTree) refuse a tree with such a name, files or folders", async () => {
    await writeFile(bytesPath(dir, Buffer.from("model\uFFFD.pkl")), BENIGN);
    await writeFile(bytesPath(dir, Buffer.from("model\u00e9.pkl")), BENIGN);
    expect((await listTree(dir)).map((e) => e.path)).toEqual(["model\u00e9.pkl", "model\uFFFD.pkl"]);
    await mkdir(join(dir, "sub"));
    await writeFile(bytesPath(dir, Buffer.from("sub"), Buffer.from("a\uFFFD")), BENIGN);
    await writeFile(bytesPath(dir, Buffer.from("sub"), Buffer.from([0x61, 0xff])), EVIL);
    const error = await listTree(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelgateError);
    expect((error as ModelgateError).message).toMatch(/not valid UTF-8/);
  });

  it("decodes valid UTF-8 as itself and escapes anything else", () => {
    expect(decodeStoredName(Buffer.from("modèle.pkl"))).toEqual({ name: "modèle.pkl", invalid: false });
    expect(decodeStoredName(Buffer.from([0x6d, 0xe8, 0x2e]))).toEqual({ name: "m\\xe8.", invalid: true });
  });
});

describe("a path listed twice", () => {
  it("makes the scan invalid and neither copy is analysed as the file", async () => {
    const root: ScanRoot = {
      target: { kind: "source", name: "dup" },
      async *list(): AsyncIterable<RootEntry> {
        yield { path: "a.pkl", size: BENIGN.length, kind: "file" };
        yield { path: "a.pkl", size: EVIL.length, kind: "file" };
      },
      open: () => Promise.resolve(new BufferSource(BENIGN)),
    };
    const report = await scanRoot(root);
    expect(report.verdict).toBe("invalid");
    expect(report.files).toHaveLength(1);
    expect(report.files[0]?.verdict).toBe("invalid");
    expect(report.errors.some((e) => e.path === "a.pkl")).toBe(true);
  });
});

describe("a folder swapped for a link after its parent was listed", () => {
  it("is not followed: the folder is unreadable, nothing outside the root is listed", async () => {
    const tree = join(dir, "tree");
    await mkdir(join(tree, "zz"), { recursive: true });
    await writeFile(join(tree, "a.txt"), "a");
    await writeFile(join(tree, "zz", "readme.txt"), "benign");
    await mkdir(join(dir, "secret"));
    await writeFile(join(dir, "secret", "credentials.txt"), "TOPSECRET");
    const listing = new DirectoryRoot(tree).list(new AbortController().signal)[Symbol.asyncIterator]();
    const first = await listing.next();
    expect(first.value?.path).toBe("a.txt");
    await rename(join(tree, "zz"), join(tree, "zz.real"));
    await symlink(join(dir, "secret"), join(tree, "zz"));
    const rest: RootEntry[] = [];
    for (let step = await listing.next(); step.done !== true; step = await listing.next()) rest.push(step.value);
    expect(rest.map((e) => [e.path, e.kind])).toEqual([["zz", "unreadable"]]);
  });

  it("a scanned directory that is not the one the caller checked is refused", async () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    await mkdir(a);
    await mkdir(b);
    const checked = await stat(a, { bigint: true });
    const root = new DirectoryRoot(b, { expect: { dev: checked.dev, ino: checked.ino } });
    await expect(scanRoot(root)).rejects.toBeInstanceOf(DirectoryChangedError);
    const same = new DirectoryRoot(a, { expect: { dev: checked.dev, ino: checked.ino } });
    expect((await scanRoot(same)).complete).toBe(true);
  });

  it("rootFor with `expect` refuses a file or directory that is not the one checked", async () => {
    await writeFile(join(dir, "checked.txt"), "a");
    await writeFile(join(dir, "other.txt"), "b");
    await mkdir(join(dir, "d"));
    const file = await stat(join(dir, "checked.txt"), { bigint: true });
    const folder = await stat(join(dir, "d"), { bigint: true });
    const other = await rootFor(join(dir, "other.txt"), { expect: { dev: file.dev, ino: file.ino } });
    await expect(scanRoot(other)).rejects.toBeInstanceOf(FileChangedError);
    const same = await rootFor(join(dir, "checked.txt"), { expect: { dev: file.dev, ino: file.ino } });
    expect((await scanRoot(same)).complete).toBe(true);
    const notDir = await rootFor(dir, { expect: { dev: folder.dev, ino: folder.ino } });
    await expect(scanRoot(notDir)).rejects.toBeInstanceOf(DirectoryChangedError);
  });
});

describe("the file-count budget (maxFiles)", () => {
  it("stops a scan past maxFiles entries with an invalid, incomplete report", async () => {
    await mkdir(join(dir, "sub"));
    for (let i = 0; i < 3; i++) await writeFile(join(dir, `f${i}.txt`), "x");
    for (let i = 0; i < 3; i++) await writeFile(join(dir, "sub", `g${i}.txt`), "x");
    const report = await scan(dir, { limits: { maxFiles: 4 } });
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
    expect(report.errors.some((e) => e.code === "BUDGET_EXCEEDED")).toBe(true);
    const budget = report.files.find((f) => ruleIds(f).includes("scan/budget-exceeded"));
    expect(budget?.verdict).toBe("invalid");
    expect((await scan(dir, { limits: { maxFiles: 6 } })).complete).toBe(true);
  });

  it("does not hold more than maxFiles names of one folder", async () => {
    for (let i = 0; i < 5; i++) await writeFile(join(dir, `f${i}.txt`), "x");
    const report = await scan(dir, { limits: { maxFiles: 3 } });
    expect(report.verdict).toBe("invalid");
    expect(report.files.map((f) => ruleIds(f))).toEqual([["scan/budget-exceeded"]]);
  });
});
