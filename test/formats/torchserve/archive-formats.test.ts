/**
 * TorchServe archives in their other forms: `--archive-format tgz` (a gzip'ed tar whose files sit
 * under `<model>/`) and `no-archive` (the model directory itself).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_MANIFEST_BYTES } from "../../../src/formats/torchserve/analyzer.js";
import { membersUnder, tarManifestRoot } from "../../../src/formats/torchserve/manifest.js";
import { tarFlavor } from "../../../src/registry/catalog.js";
import { scan } from "../../../src/scan/engine.js";
import { buildTar, type TarMember } from "../../containers/tar-builder.js";
import { ruleIds, SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const manifest = (handler: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    runtime: "python",
    archiverVersion: "0.12.0",
    model: { modelName: "m", serializedFile: "model.pt", handler, modelVersion: "1.0", ...extra },
  });
const HANDLER = 'import os\nclass H:\n    def initialize(self, ctx):\n        os.system("id")\n';
// the real torch.jit.save'd model of the samples
const MODEL = readFileSync(join(SAMPLES, "torchserve/noarchive/benign/tiny_classifier/model.pt"));

const tgz = (members: TarMember[]) => gzipSync(buildTar(members));
const all = (report: Awaited<ReturnType<typeof scan>>) =>
  [...new Set(report.files.flatMap((f) => f.findings.map((x) => x.ruleId)))].sort();

describe("tar manifest layout", () => {
  it("takes the manifest at the root or under one folder, nowhere else", () => {
    expect(tarManifestRoot("MAR-INF/MANIFEST.json")).toBe("");
    expect(tarManifestRoot("./MAR-INF/MANIFEST.json")).toBe("");
    expect(tarManifestRoot("resnet/MAR-INF/MANIFEST.json")).toBe("resnet/");
    expect(tarManifestRoot("./resnet/MAR-INF/MANIFEST.json")).toBe("resnet/");
    expect(tarManifestRoot("a/b/MAR-INF/MANIFEST.json")).toBeUndefined();
    expect(tarManifestRoot("/MAR-INF/MANIFEST.json")).toBeUndefined();
    expect(tarManifestRoot("resnet/MAR-INF/manifest.json")).toBeUndefined();
    expect(tarManifestRoot("xMAR-INF/MANIFEST.json")).toBeUndefined();
  });

  it("names members relative to the model folder", () => {
    expect([...membersUnder(["m/handler.py", "./m/model.pt", "other/x.py", "m/"], "m/")].sort()).toEqual([
      "handler.py",
      "model.pt",
    ]);
    expect([...membersUnder(["./a", "b/c"], "")].sort()).toEqual(["a", "b/c"]);
  });

  it("classifies a tar with the archiver's manifest as a TorchServe tar, after NeMo", () => {
    expect(tarFlavor(["m/model.pt", "m/MAR-INF/MANIFEST.json"])).toBe("torchserve-tar");
    expect(tarFlavor(["./MAR-INF/MANIFEST.json"])).toBe("torchserve-tar");
    expect(tarFlavor(["a/b/MAR-INF/MANIFEST.json"])).toBe("tar");
    expect(tarFlavor(["model_config.yaml", "MAR-INF/MANIFEST.json"])).toBe("nemo");
  });
});

describe("tgz archives", () => {
  it("judges the manifest of a tgz sample made in the archiver's layout", async () => {
    const benign = await scanSample("torchserve/tgz/benign/tiny_classifier.tar.gz");
    expect(benign.verdict).toBe("clean");
    expect(benign.files[0]?.facts).toMatchObject({
      "tar.flavor": "torchserve-tar",
      "torchserve.archiveFormat": "tar",
      "torchserve.modelDirectory": "tiny_classifier",
      "torchserve.handler": "image_classifier",
      "torchserve.serializedFile": "model.pt",
    });
    const evil = await scanSample("torchserve/tgz/malicious/custom_handler.tar.gz");
    expect(evil.verdict).toBe("malicious");
    const finding = evil.files[0]?.findings.find((f) => f.ruleId === "torchserve/custom-handler");
    expect(finding?.evidence).toMatchObject({
      handler: "handler.py",
      member: "handler.py",
      manifest: "custom_handler/MAR-INF/MANIFEST.json",
    });
  });

  it("judges members against the manifest's folder, not the archive root", async () => {
    // the handler sits beside another model's folder: TorchServe would not import it
    const bytes = tgz([
      { name: "m/model.pt", data: MODEL },
      { name: "other/handler.py", data: HANDLER },
      { name: "m/MAR-INF/MANIFEST.json", data: manifest("handler.py") },
    ]);
    const file = await scanOne(bytes, "m.tar.gz");
    expect(ruleIds(file)).toContain("torchserve/unknown-handler");
    expect(ruleIds(file)).not.toContain("torchserve/custom-handler");
  });

  it("reads a plain tar and a `./`-prefixed one", async () => {
    const members: TarMember[] = [
      { name: "./model.pt", data: MODEL },
      { name: "./handler.py", data: HANDLER },
      { name: "./MAR-INF/MANIFEST.json", data: manifest("handler:handle") },
    ];
    for (const [bytes, name] of [
      [buildTar(members), "m.tar"],
      [gzipSync(buildTar(members)), "m.tgz"],
    ] as const) {
      const file = await scanOne(bytes, name);
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file), name).toContain("torchserve/custom-handler");
      expect(ruleIds(file), name).not.toContain("format/claim-unmet");
    }
  });

  it("reports the archive's names that are not members", async () => {
    const file = await scanOne(
      tgz([{ name: "m/MAR-INF/MANIFEST.json", data: manifest("image_classifier", { requirementsFile: "r.txt" }) }]),
      "m.tar.gz",
    );
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["torchserve/builtin-handler", "torchserve/missing-member"]));
    expect(file.verdict).toBe("suspicious");
  });

  it("a malformed or oversized manifest is invalid, never clean", async () => {
    const bad = await scanOne(tgz([{ name: "m/MAR-INF/MANIFEST.json", data: '{"model": {' }]), "m.tar.gz");
    expect(bad.verdict).toBe("invalid");
    expect(ruleIds(bad)).toContain("torchserve/malformed");
    const big = `{"model": {"handler": "image_classifier", "pad": "${"x".repeat(MAX_MANIFEST_BYTES + 10)}"}}`;
    const huge = await scanOne(tgz([{ name: "m/MAR-INF/MANIFEST.json", data: big }]), "m.tar.gz");
    expect(huge.verdict).toBe("invalid");
    expect(huge.findings.find((f) => f.ruleId === "torchserve/malformed")?.evidence?.code).toBe("BUDGET_EXCEEDED");
  });

  it("judges every copy of a repeated manifest (tar readers keep the last, others the first)", async () => {
    const file = await scanOne(
      tgz([
        { name: "m/handler.py", data: HANDLER },
        { name: "m/MAR-INF/MANIFEST.json", data: manifest("image_classifier") },
        { name: "m/MAR-INF/MANIFEST.json", data: manifest("handler.py") },
      ]),
      "m.tar.gz",
    );
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["torchserve/builtin-handler", "torchserve/custom-handler"]));
  });

  it("leaves other tars alone", async () => {
    const file = await scanOne(tgz([{ name: "a/b/MAR-INF/MANIFEST.json", data: manifest("handler.py") }]), "x.tar.gz");
    expect(ruleIds(file).filter((r) => r.startsWith("torchserve/"))).toEqual([]);
  });
});

describe("no-archive model directories", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const store = (files: Record<string, string | Uint8Array>) => {
    const dir = mkdtempSync(join(tmpdir(), "mg-torchserve-"));
    dirs.push(dir);
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(join(dir, name, ".."), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    return dir;
  };

  it("judges the samples: a built-in handler is clean, a shipped handler malicious", async () => {
    const benign = await scanSample("torchserve/noarchive/benign/tiny_classifier");
    expect(benign.verdict).toBe("clean");
    const manifestFile = benign.files.find((f) => f.path === "MAR-INF/MANIFEST.json");
    expect(manifestFile?.facts).toMatchObject({ "torchserve.archiveFormat": "no-archive" });
    expect(manifestFile?.findings.map((f) => f.ruleId)).toEqual(["torchserve/builtin-handler"]);
    const evil = await scanSample("torchserve/noarchive/malicious/custom_handler");
    expect(evil.verdict).toBe("malicious");
    expect(evil.files.find((f) => f.path === "MAR-INF/MANIFEST.json")?.findings.map((f) => f.ruleId)).toEqual([
      "torchserve/custom-handler",
    ]);
    expect(evil.files.find((f) => f.path === "MAR-INF/MANIFEST.json")?.findings[0]?.message).toContain(
      "imported from the model folder (handler.py)",
    );
  });

  it("judges every model directory of a model store against its own files", async () => {
    const dir = store({
      "a/MAR-INF/MANIFEST.json": manifest("handler.py"),
      "a/handler.py": HANDLER,
      "a/model.pt": MODEL,
      "b/MAR-INF/MANIFEST.json": manifest("handler.py"),
      "b/model.pt": MODEL,
    });
    const report = await scan(dir);
    const of = (path: string) => report.files.find((f) => f.path === path)?.findings.map((f) => f.ruleId) ?? [];
    expect(of("a/MAR-INF/MANIFEST.json")).toContain("torchserve/custom-handler");
    // b ships no handler.py: a's does not count for it
    expect(of("b/MAR-INF/MANIFEST.json")).toContain("torchserve/unknown-handler");
    expect(of("b/MAR-INF/MANIFEST.json")).not.toContain("torchserve/custom-handler");
  });

  it("counts a linked handler as shipped (TorchServe follows the link)", async () => {
    const dir = store({ "MAR-INF/MANIFEST.json": manifest("handler.py"), "model.pt": MODEL, "elsewhere.txt": "x" });
    symlinkSync(join(dir, "elsewhere.txt"), join(dir, "handler.py"));
    const report = await scan(dir);
    expect(all(report)).toContain("torchserve/custom-handler");
  });

  it("a malformed manifest makes the directory invalid", async () => {
    const report = await scan(store({ "MAR-INF/MANIFEST.json": '{"model": []}', "model.pt": MODEL }));
    expect(all(report)).toContain("torchserve/malformed");
    expect(report.verdict).toBe("invalid");
  });
});
