// What a verdict cache may answer: a result is bound to the file's path as well as its bytes (a
// name claims a format, so the same bytes under another name are another result), and a result
// that read other files (a sibling, a folder listing) is never stored.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../src/core/version.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import { contentKeyDigest, MemoryVerdictCache } from "../../src/scan/cache.js";
import { scan } from "../../src/scan/engine.js";
import { SAMPLES } from "../helpers/scan.js";

const dir = mkdtempSync(join(tmpdir(), "mg-cache-binding-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A protocol-0 pickle that calls os.system, behind a line of text: a text file to a sniffer. */
const DISGUISED = new TextEncoder().encode("this is a note\ncos\nsystem\n(S'echo hi'\ntR.");

describe("verdict cache binding", () => {
  it("bytes cached under one name are not the result for the same bytes under another name", async () => {
    const cache = new MemoryVerdictCache();
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "notes.txt"), DISGUISED);
    const first = await scan(join(dir, "a"), { cache, signature: false });
    expect(cache.size).toBe(1);
    const sha = createHash("sha256").update(DISGUISED).digest("hex");
    const key = (path: string) => ({
      sha256: contentKeyDigest(sha, path),
      toolVersion: TOOL_VERSION,
      policyHash: resolvePolicy().hash,
    });
    expect((await cache.get(key("notes.txt")))?.verdict).toBe(first.files[0]?.verdict);
    // Under a name that claims a pickle, a loader would unpickle these bytes: that is another
    // analysis, so the text's result is not what a lookup for it finds.
    expect(await cache.get(key("model.pkl"))).toBeUndefined();
    expect(await cache.get({ ...key("x"), sha256: sha })).toBeUndefined();
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "b", "model.pkl"), DISGUISED);
    const second = await scan(join(dir, "b"), { cache, signature: false });
    expect(second.files[0]?.verdict).not.toBe("clean");
  });

  it("a result that depended on a sibling file is not stored", async () => {
    const tree = join(dir, "onnx");
    cpSync(join(SAMPLES, "onnx", "clean", "external_data"), tree, { recursive: true });
    const cache = new MemoryVerdictCache();
    const report = await scan(tree, { cache, signature: false });
    const data = report.files.find((f) => f.format === "onnx-external-data");
    expect(data, JSON.stringify(report.files.map((f) => [f.path, f.format]))).toBeDefined();
    expect(data?.verdict).toBe("clean");
    // The model itself (whose checks read its data file) and the data file are both rescanned.
    const again = await scan(tree, { cache, signature: false });
    expect(again.files.find((f) => f.path === data?.path)?.cached).toBeUndefined();
    // Alone, the same bytes are unexplained content, not tensor data.
    const alone = join(dir, "alone");
    mkdirSync(alone);
    cpSync(join(tree, data!.path), join(alone, data!.path));
    const lone = await scan(alone, { cache, signature: false });
    expect(lone.files[0]).toMatchObject({ format: "unknown", verdict: "suspicious" });
    expect(lone.files[0]?.cached).toBeUndefined();
  });
  it("no data file of a model is stored, not only the first one (a per-scan cache of models counts as context)", async () => {
    const stored: string[] = [];
    const cache = new MemoryVerdictCache();
    const set = cache.set.bind(cache);
    cache.set = (key, report) => {
      stored.push(`${report.path}:${report.format}`);
      return set(key, report);
    };
    const report = await scan(join(SAMPLES, "onnx", "external", "per_tensor"), {
      cache,
      signature: false,
      concurrency: 1,
    });
    const data = report.files.filter((f) => f.format === "onnx-external-data").map((f) => f.path);
    expect(data.length).toBeGreaterThan(1);
    expect(stored.filter((s) => s.endsWith(":onnx-external-data"))).toEqual([]);
  });

  it("a result that depended on which siblings the target kind lets the analyzer see is not stored", async () => {
    // A checkpoint index scanned as bytes cannot have its shards checked; inside a directory the
    // same index is out of bounds. The bytes scan's result must not answer for the directory.
    const dirPath = join(SAMPLES, "tfcheckpoint", "hostile", "out_of_bounds");
    const cache = new MemoryVerdictCache();
    const index = readFileSync(join(dirPath, "model.ckpt.index"));
    const alone = await scan({ bytes: new Uint8Array(index), name: "model.ckpt.index" }, { cache, signature: false });
    expect(alone.files[0]?.verdict).not.toBe("invalid");
    expect(cache.size).toBe(0);
  });
});
