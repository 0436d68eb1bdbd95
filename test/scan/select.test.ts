// Issue 18: `include`/`exclude` globs and `limits.maxFileBytes` select which listed files the engine
// analyses, in its per-file step: skipped files are listed, never clean, and lock-file and OMS
// signature checks still cover them.
import { createHash } from "node:crypto";
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BufferSource } from "../../src/core/byte-source.js";
import type { RootEntry, ScanRoot } from "../../src/core/root.js";
import { renderCycloneDx } from "../../src/report/render/cyclonedx.js";
import { renderSarif } from "../../src/report/render/sarif.js";
import { renderText } from "../../src/report/render/text.js";
import { REPORT_SCHEMA_VERSION, reportJsonSchema, type ScanReport, ScanReportSchema } from "../../src/report/schema.js";
import { scan, scanRoot } from "../../src/scan/engine.js";
import { scanMany } from "../../src/scan/many.js";
import { fileSelector, parseSize } from "../../src/scan/select.js";
import { MockHub, safetensorsLike } from "../sources/hub/mock-hub.js";

const SAMPLES = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const publicKey = readFileSync(join(SAMPLES, "keys/p256.pub.pem"), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-select-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A protocol-0 pickle calling os.system: malicious when analysed. */
const EVIL = "cos\nsystem\n(S'echo hi'\ntR.";
/** A protocol-2 pickle of an empty dict: clean. */
const CLEAN = Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);

/** Validates against the JSON Schema generated from the zod schemas now (not the committed file). */
const validateJson = (() => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(reportJsonSchema());
  return (data: unknown) => (validate(data) ? "" : ajv.errorsText(validate.errors));
})();
const valid = (r: ScanReport) => {
  expect(ScanReportSchema.safeParse(r).success).toBe(true);
  expect(validateJson(r)).toBe("");
};
const paths = (r: ScanReport) => r.files.map((f) => f.path).sort();
const rules = (r: ScanReport, path: string) =>
  r.files.find((f) => f.path === path)?.findings.map((x) => x.ruleId) ?? [];

/** A tree: a malicious pickle, a clean one in a folder, a dotfolder's text, a dotfile. */
function tree(): string {
  const dir = join(tmp, `t${n++}`);
  mkdirSync(join(dir, "sub", "deep"), { recursive: true });
  mkdirSync(join(dir, ".hidden"));
  writeFileSync(join(dir, "evil.pkl"), EVIL);
  writeFileSync(join(dir, "sub", "deep", "ok.pkl"), CLEAN);
  writeFileSync(join(dir, ".hidden", "notes.txt"), "hello\n");
  writeFileSync(join(dir, ".env"), "A=1\n");
  return dir;
}

describe("parseSize", () => {
  it("reads bytes, decimal and binary units, fractions with a unit", () => {
    expect(parseSize("1048576")).toBe(1048576);
    expect(parseSize("500MB")).toBe(500_000_000);
    expect(parseSize("500mb")).toBe(500_000_000);
    expect(parseSize("10 kB")).toBe(10_000);
    expect(parseSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseSize("2G")).toBe(2 * 1024 ** 3);
    expect(parseSize("1.5G")).toBe(1.5 * 1024 ** 3);
    expect(parseSize("1TB")).toBe(1e12);
    expect(parseSize("3K")).toBe(3072);
    expect(parseSize("7B")).toBe(7);
  });

  it("rejects zero, negatives, fractions of a byte, exponents and unknown units", () => {
    for (const bad of ["0", "0.1B", "-1", "1.5", "1e9", "5XB", "", "MB", "1,5G", "12 34", "9".repeat(30)]) {
      expect(() => parseSize(bad), bad).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});

describe("fileSelector", () => {
  it("matches whole POSIX paths: ** any depth, * within a segment, dotfiles not special", () => {
    const any = fileSelector(["**/*.bin"]);
    for (const p of ["a.bin", "a/b/c.bin", ".hidden/x.bin", "a/.x.bin"]) expect(any.skip(p), p).toBeUndefined();
    expect(any.skip("a.binx")).toBe("not-included");
    const top = fileSelector(["*.bin"]);
    expect(top.skip("a.bin")).toBeUndefined();
    expect(top.skip("sub/a.bin")).toBe("not-included");
    expect(fileSelector(undefined, ["*"]).skip(".env")).toBe("excluded");
  });

  it("exclude wins over include; no globs selects everything", () => {
    const s = fileSelector(["**"], ["**/*.pkl"]);
    expect(s.skip("x/model.pkl")).toBe("excluded");
    expect(s.skip("x/model.bin")).toBeUndefined();
    expect(fileSelector().active).toBe(false);
    expect(fileSelector([], []).skip("anything")).toBeUndefined();
  });

  it("rejects bad globs as INVALID_ARGUMENT", () => {
    const cases: [unknown, unknown][] = [
      [["a/["], undefined],
      [[], ["{a"]],
      [[""], undefined],
      [[42], undefined],
    ];
    for (const [inc, exc] of cases) {
      expect(() => fileSelector(inc as string[], exc as string[] | undefined)).toThrow(
        expect.objectContaining({ code: "INVALID_ARGUMENT" }),
      );
    }
  });
});

describe("scan: include/exclude", () => {
  it("an excluded file is not analysed, not in files, listed in skipped; the scan completes", async () => {
    const dir = tree();
    const all = await scan(dir);
    expect(all.verdict).toBe("malicious");
    expect(all.skipped).toBeUndefined();

    const r = await scan(dir, { exclude: ["**/*.pkl"] });
    valid(r);
    expect(r.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(paths(r)).toEqual([".env", ".hidden/notes.txt"]);
    expect(r.skipped).toEqual([
      { path: "evil.pkl", reason: "excluded", size: EVIL.length },
      { path: "sub/deep/ok.pkl", reason: "excluded", size: CLEAN.length },
    ]);
    expect(r.complete).toBe(true);
    expect(r.verdict).not.toBe("malicious");
    expect(r.summary.files).toBe(2);
  });

  it("include keeps only matching files; the others are not-included", async () => {
    const dir = tree();
    const r = await scan(dir, { include: ["sub/**"] });
    valid(r);
    expect(paths(r)).toEqual(["sub/deep/ok.pkl"]);
    expect(r.verdict).toBe("clean");
    expect(r.skipped?.map((s) => `${s.path} ${s.reason}`).sort()).toEqual([
      ".env not-included",
      ".hidden/notes.txt not-included",
      "evil.pkl not-included",
    ]);
  });

  it("dotfiles and dotfolders match * and ** like any name", async () => {
    const dir = tree();
    const r = await scan(dir, { include: ["**/*.txt", ".*"] });
    expect(paths(r)).toEqual([".env", ".hidden/notes.txt"]);
  });

  it("a selection that leaves nothing to analyse is an incomplete, invalid scan, never clean", async () => {
    const dir = tree();
    for (const options of [{ exclude: ["**"] }, { include: ["**/*.safetensors"] }]) {
      const r = await scan(dir, options);
      valid(r);
      expect(r.files).toEqual([]);
      expect(r.skipped).toHaveLength(4);
      expect(r.complete).toBe(false);
      expect(r.verdict).toBe("invalid");
      expect(r.errors).toEqual([expect.objectContaining({ code: "INVALID_ARGUMENT" })]);
    }
  });

  it("a selection that matches nothing to skip reports an empty skipped list", async () => {
    const r = await scan(tree(), { exclude: ["*.nothing"] });
    valid(r);
    expect(r.skipped).toEqual([]);
    expect(r.files).toHaveLength(4);
  });

  it("links are reported whatever the globs say", async () => {
    const dir = tree();
    symlinkSync("evil.pkl", join(dir, "link.pkl"));
    const r = await scan(dir, { exclude: ["**/*.pkl"] });
    expect(rules(r, "link.pkl")).toContain("file/symlink");
  });

  it("a single file is matched by its name; bad globs reject the scan", async () => {
    const dir = tree();
    const r = await scan(join(dir, "evil.pkl"), { exclude: ["evil.pkl"] });
    expect(r.files).toEqual([]);
    expect(r.skipped).toEqual([{ path: "evil.pkl", reason: "excluded", size: EVIL.length }]);
    expect(r.verdict).toBe("invalid");
    await expect(scan(dir, { include: ["a/["] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("scanMany passes the globs to every target", async () => {
    const targets = [tree(), tree()];
    let results = 0;
    for await (const result of scanMany(targets, { exclude: ["evil.pkl"] })) {
      results++;
      expect(result.report.skipped).toEqual([{ path: "evil.pkl", reason: "excluded", size: EVIL.length }]);
      expect(result.report.verdict).toBe("clean");
    }
    expect(results).toBe(2);
  });
});

describe("renderers: skipped files are named, never claimed as scanned", () => {
  it("text summary line, SARIF notification without artifacts, CycloneDX incomplete composition", async () => {
    const r = await scan(tree(), { exclude: ["**/*.pkl"] });
    const text = renderText(r);
    expect(text).toContain("Skipped: 2 files skipped by --include/--exclude (not analysed)");
    expect(renderText(r, { verbose: true })).toMatch(/evil\.pkl\s+excluded/);
    expect(renderText(await scan(tree()))).not.toContain("Skipped:");

    const sarif = renderSarif(r);
    const run = sarif.runs[0]!;
    const uris = (run.artifacts ?? []).map((a) => a.location?.uri ?? "");
    expect(uris.some((u) => u.endsWith(".pkl"))).toBe(false);
    const note = run.invocations?.[0]?.toolExecutionNotifications?.find((x) => x.level === "note");
    expect(note?.message.text).toContain("2 file(s) not analysed");
    expect(note?.locations?.map((l) => l.physicalLocation?.artifactLocation?.uri)).toEqual(
      expect.arrayContaining([expect.stringContaining("evil.pkl")]),
    );

    const bom = renderCycloneDx(r);
    const model = bom.components[0]!;
    expect((model.components ?? []).map((c) => c.name).some((name) => name.endsWith(".pkl"))).toBe(false);
    expect(model.properties).toContainEqual({ name: "modelgate:skipped", value: "2" });
    expect(bom.compositions?.[0]?.aggregate).toBe("incomplete");
  });
});

describe("signatures and lock files still cover skipped files", () => {
  function signed(): string {
    const dir = join(tmp, `s${n++}`);
    cpSync(join(SAMPLES, "signed-model"), dir, { recursive: true });
    return dir;
  }

  it("a signed model with one file excluded still verifies; the file is not analysed", async () => {
    const dir = signed();
    const r = await scan(dir, { signature: { publicKey, require: true }, exclude: ["weights.bin"] });
    valid(r);
    expect(r.signature?.status).toBe("verified");
    expect(r.signature?.coverage?.complete).toBe(true);
    expect(paths(r)).not.toContain("weights.bin");
    expect(r.skipped).toEqual([{ path: "weights.bin", reason: "excluded", size: 200_000 }]);
    expect(r.complete).toBe(true);
    expect(r.files.every((f) => f.verdict === "clean")).toBe(true);
  });

  it("a signature file left out by include is still found and verified", async () => {
    const r = await scan(signed(), { signature: { publicKey, require: true }, include: ["**/*.bin"] });
    expect(r.signature?.status).toBe("verified");
    expect(paths(r)).toEqual(["weights.bin"]);
    // Raw bytes are format/unknown (low); nothing about the signature or its coverage.
    expect(rules(r, "weights.bin")).toEqual(["format/unknown"]);
    expect(r.signature?.coverage?.complete).toBe(true);
  });

  it("a tampered excluded file is still reported by the signature check", async () => {
    const dir = signed();
    appendFileSync(join(dir, "weights.bin"), "x");
    const r = await scan(dir, { signature: { publicKey }, exclude: ["weights.bin"] });
    valid(r);
    expect(r.signature?.status).toBe("failed");
    expect(rules(r, "weights.bin")).toContain("integrity/signed-file-mismatch");
    expect(r.files.find((f) => f.path === "weights.bin")?.verdict).toBe("malicious");
    expect(r.verdict).toBe("malicious");
    // Still listed as skipped: it was not analysed.
    expect(r.skipped?.map((s) => s.path)).toEqual(["weights.bin"]);
  });

  it("pins check excluded files by their digest: a mismatch is reported, a match is not", async () => {
    const dir = signed();
    const digest = createHash("sha256")
      .update(readFileSync(join(dir, "weights.bin")))
      .digest("hex");
    const good = await scan(dir, { pins: { "weights.bin": digest }, allowUnpinned: true, exclude: ["weights.bin"] });
    expect(good.errors).toEqual([]);
    expect(good.complete).toBe(true);
    expect(paths(good)).not.toContain("weights.bin");

    const bad = await scan(dir, { pins: { "weights.bin": "0".repeat(64) }, allowUnpinned: true, exclude: ["*.bin"] });
    expect(rules(bad, "weights.bin")).toEqual(["integrity/pin-mismatch"]);
    expect(bad.verdict).toBe("malicious");

    const unpinned = await scan(dir, { pins: {}, exclude: ["weights.bin"] });
    expect(rules(unpinned, "weights.bin")).toContain("integrity/pin-unexpected");
  });
});

describe("limits.maxFileBytes", () => {
  it("a policy's limits.maxFileBytes applies like the option", async () => {
    const dir = join(tmp, `m${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "big.pkl"), Buffer.concat([Buffer.from(EVIL), Buffer.alloc(5000, 0x20)]));
    const r = await scan(dir, { policy: { limits: { maxFileBytes: 1000 } } });
    expect(r.files.find((f) => f.path === "big.pkl")?.findings.map((x) => x.ruleId)).toEqual(["scan/too-large"]);
  });

  it("a larger local file is invalid (scan/too-large), not read; the scan completes", async () => {
    const dir = join(tmp, `m${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "big.pkl"), Buffer.concat([Buffer.from(EVIL), Buffer.alloc(5000, 0x20)]));
    writeFileSync(join(dir, "small.pkl"), CLEAN);
    const r = await scan(dir, { limits: { maxFileBytes: 1000 } });
    valid(r);
    const big = r.files.find((f) => f.path === "big.pkl");
    expect(big?.findings.map((x) => x.ruleId)).toEqual(["scan/too-large"]);
    expect(big?.findings[0]?.evidence).toEqual({ size: EVIL.length + 5000, maxFileBytes: 1000 });
    expect(big?.verdict).toBe("invalid");
    expect(big?.format).toBe("unknown");
    expect(r.files.find((f) => f.path === "small.pkl")?.verdict).toBe("clean");
    expect(r.complete).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.verdict).toBe("invalid");
    expect(r.summary.bytesRead).toBeLessThan(1000);
    expect(renderText(r)).toContain("Too large: 1 file over --max-size, not analysed (invalid)");
    // At the limit is analysed.
    const at = await scan(dir, { limits: { maxFileBytes: EVIL.length + 5000 } });
    expect(at.verdict).toBe("malicious");
  });

  it("excluded wins over too large: an excluded big file is skipped, not invalid", async () => {
    const dir = tree();
    const r = await scan(dir, { limits: { maxFileBytes: 3 }, exclude: ["**"], include: [] });
    expect(r.files).toEqual([]);
    expect(r.skipped).toHaveLength(4);
  });

  it("a file over the limit is never opened (the listed size decides)", async () => {
    const opened: string[] = [];
    const entries: RootEntry[] = [
      { path: "huge.bin", size: 50 * 1024 ** 3, kind: "file" },
      { path: "tiny.pkl", size: CLEAN.length, kind: "file" },
    ];
    const root: ScanRoot = {
      target: { kind: "directory", name: "virtual" },
      async *list() {
        yield* entries;
      },
      async open(path) {
        opened.push(path);
        if (path !== "tiny.pkl") throw new Error("must not be opened");
        return new BufferSource(CLEAN);
      },
    };
    const r = await scanRoot(root, { limits: { maxFileBytes: parseSize("1GiB") } });
    expect(opened).toEqual(["tiny.pkl"]);
    expect(rules(r, "huge.bin")).toEqual(["scan/too-large"]);
    expect(r.complete).toBe(true);
  });

  it("the pins still cover a local file over the limit: it is hashed, not analysed", async () => {
    const dir = join(tmp, `m${n++}`);
    mkdirSync(dir);
    const bytes = Buffer.alloc(4096, 7);
    writeFileSync(join(dir, "w.bin"), bytes);
    const digest = createHash("sha256").update(bytes).digest("hex");
    const r = await scan(dir, { limits: { maxFileBytes: 100 }, pins: { "w.bin": digest } });
    expect(r.files[0]?.sha256).toBe(digest);
    expect(rules(r, "w.bin")).toEqual(["scan/too-large"]);
    expect(r.errors).toEqual([]);
  });
});

describe("limits.maxFileBytes on a Hub repository", () => {
  let hub: MockHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it("a Hub file over the limit is not downloaded: its size comes from the listing", async () => {
    const A = "a".repeat(40);
    const big = safetensorsLike(4, 3 * 1024 ** 3);
    hub = await MockHub.start([
      {
        name: "acme/tiny",
        refs: { main: A },
        commits: {
          [A]: [
            { path: "model.safetensors", content: big, lfs: true, sha256: "b".repeat(64) },
            { path: "config.json", content: new TextEncoder().encode('{"model_type":"bert"}') },
          ],
        },
      },
    ]);
    const r = await scan(
      { hub: { repo: "acme/tiny", hubUrl: hub.url, env: {}, transport: { retryBaseMs: 1, retries: 1 } } },
      { limits: { maxFileBytes: parseSize("2GB") } },
    );
    valid(r);
    expect(rules(r, "model.safetensors")).toEqual(["scan/too-large"]);
    expect(r.files.find((f) => f.path === "model.safetensors")?.verdict).toBe("invalid");
    expect(r.files.find((f) => f.path === "config.json")?.verdict).toBe("clean");
    expect(r.complete).toBe(true);
    // Nothing of the big file was requested: no resolve, no CDN read.
    expect(hub.log.some((e) => e.path.endsWith("/model.safetensors"))).toBe(false);
    expect(hub.log.some((e) => e.server === "cdn")).toBe(false);
  });
});
