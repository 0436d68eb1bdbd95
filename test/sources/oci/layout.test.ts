// OCI image-layout directories as scan roots: index.json → manifest (or index: every manifest it
// lists) → blobs on disk, each blob opened through the guarded open and hashed against its descriptor.
import { mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import { MEDIA } from "../../../src/sources/oci/config.js";
import { digestLabel } from "../../../src/sources/oci/manifest.js";
import { buildManifest, writeLayout } from "../../../src/sources/oci/push.js";
import { fakeIO } from "../../helpers/cli.js";
import { artifactBesideImage, CLEAN_TORCH, EVIL_TORCH, twoPlatforms, writeShapeLayout } from "./poly.js";
import { tarOf } from "./tar.js";

const text = (s: string) => new TextEncoder().encode(s);
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "modelgate-layout-"));
  dirs.push(d);
  return d;
}

describe("an OCI image layout on disk", () => {
  it("resolves a ref.name to its manifest and scans the layers: the malicious pickle in a tar.gz layer is found", async () => {
    const dir = await tmp();
    const built = await writeLayout(
      dir,
      {
        config: { mediaType: MEDIA.ociConfig, bytes: text(JSON.stringify({ os: "linux", architecture: "amd64" })) },
        layers: [
          {
            mediaType: MEDIA.ociLayerGzip,
            bytes: new Uint8Array(gzipSync(tarOf([{ name: "srv/model.pkl", bytes: EVIL }]))),
          },
          { mediaType: "application/octet-stream", bytes: CLEAN, title: "weights/clean.pkl" },
        ],
      },
      "v1",
    );
    const report = await scan({ oci: { reference: `oci-layout:${dir}:v1` } });
    expect(report.target).toMatchObject({
      kind: "oci",
      name: `oci-layout:${dir}:v1`,
      oci: {
        registry: "",
        repository: "",
        reference: "v1",
        digest: built.digest,
        mediaType: MEDIA.ociManifest,
        layout: dir,
      },
    });
    expect(report.verdict).toBe("malicious");
    const layer = report.files.find((f) => f.path === `blobs/sha256/${built.blobs[1]!.digest.slice(7)}`)!;
    expect(layer.verdict).toBe("malicious");
    expect(layer.integrity?.status).toBe("verified");
    expect(report.files.find((f) => f.path === "weights/clean.pkl")).toMatchObject({
      verdict: "clean",
      integrity: { status: "verified" },
    });
    const none = await scan({ oci: { reference: `oci-layout:${dir}:v2` } });
    expect(none.verdict).toBe("invalid");
    expect(none.errors[0]?.code).toBe("INVALID_ARGUMENT");
  });

  it("a blob whose bytes do not match its digest: remote/integrity-mismatch, not cached; a symlinked blob is not followed", async () => {
    const dir = await tmp();
    const built = await writeLayout(dir, {
      layers: [{ mediaType: "application/octet-stream", bytes: CLEAN, title: "c.pkl" }],
    });
    const blob = join(dir, "blobs", "sha256", built.blobs[1]!.digest.slice(7));
    await writeFile(blob, new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x01, 0x2e])); // same size, other bytes
    const cache = new MemoryVerdictCache();
    const report: ScanReport = await scan({ oci: { reference: `oci-layout:${dir}` } }, { cache });
    const file = report.files.find((f) => f.path === "c.pkl")!;
    expect(file.findings.map((f) => f.ruleId)).toContain("remote/integrity-mismatch");
    expect(file.integrity?.status).toBe("mismatch");
    expect(report.verdict).not.toBe("clean");
    expect(cache.size).toBe(1); // the config only

    await unlink(blob);
    const elsewhere = join(await tmp(), "x");
    await writeFile(elsewhere, CLEAN);
    await symlink(elsewhere, blob);
    const linked = await scan({ oci: { reference: `oci-layout:${dir}` } });
    expect(linked.files.find((f) => f.path === "c.pkl")?.verdict).toBe("invalid");
  });

  it("is scanned from the CLI as oci-layout:DIR", async () => {
    const dir = await tmp();
    await writeLayout(
      dir,
      { layers: [{ mediaType: "application/octet-stream", bytes: EVIL, title: "evil.pkl" }] },
      "latest",
    );
    const io = fakeIO();
    expect(await runCli(["scan", `oci-layout:${dir}`, "--format", "json"], io)).toBe(1);
    const report = JSON.parse(io.out) as ScanReport;
    expect(report.target.kind).toBe("oci");
    expect(report.files.find((f) => f.path === "evil.pkl")?.verdict).toBe("malicious");
  });
});

describe("an image layout whose reference is an index: every manifest is scanned", () => {
  it("a benign model artifact beside a malicious linux/amd64 image (the review's layout): malicious", async () => {
    const dir = await tmp();
    const shape = artifactBesideImage();
    await writeShapeLayout(dir, shape);
    const report = await scan({ oci: { reference: `oci-layout:${dir}` } });
    expect(report.verdict).toBe("malicious");
    expect(report.complete).toBe(true);
    const art = digestLabel(shape.leaves.artifact!.digest);
    expect(report.files.map((f) => f.path).sort()).toEqual(
      [
        `linux-amd64/blobs/sha256/${shape.leaves.amd64!.blobs[0]!.digest.slice(7)}`,
        "linux-amd64/pytorch_model.bin",
        `${art}/blobs/sha256/${shape.leaves.artifact!.blobs[0]!.digest.slice(7)}`,
        `${art}/README.md`,
      ].sort(),
    );
    expect(report.files.find((f) => f.path === "linux-amd64/pytorch_model.bin")).toMatchObject({
      verdict: "malicious",
      integrity: { status: "verified" },
    });
    expect(report.files.find((f) => f.path === `${art}/README.md`)?.verdict).toBe("clean");
    expect(report.target.oci).toMatchObject({ digest: shape.top.digest, mediaType: MEDIA.ociIndex });
    expect(report.target.oci?.manifestDigest).toBeUndefined(); // two manifests: none singled out
    // the same index by its ref.name, and a runtime's platform asked for: still every manifest
    const amd = await scan({ oci: { reference: `oci-layout:${dir}:latest`, platform: "linux/amd64" } });
    expect(amd.verdict).toBe("malicious");
    expect(amd.target.oci).toMatchObject({ manifestDigest: shape.leaves.amd64!.digest, platform: "linux/amd64" });
    expect(amd.files).toHaveLength(4);
  });

  it("a benign linux/amd64 image beside a malicious linux/arm64 one: malicious, whichever platform is asked for", async () => {
    const dir = await tmp();
    const shape = twoPlatforms();
    await writeShapeLayout(dir, shape);
    for (const platform of [undefined, "linux/amd64", "linux/arm64"]) {
      const report = await scan({ oci: { reference: `oci-layout:${dir}`, ...(platform ? { platform } : {}) } });
      expect(report.verdict, platform).toBe("malicious");
      expect(report.files.find((f) => f.path === "linux-arm64/pytorch_model.bin")?.verdict).toBe("malicious");
      expect(report.files.find((f) => f.path === "linux-amd64/pytorch_model.bin")?.verdict).toBe("clean");
    }
    const none = await scan({ oci: { reference: `oci-layout:${dir}`, platform: "windows/amd64" } });
    expect(none.verdict).toBe("invalid");
    expect(none.errors[0]?.code).toBe("INVALID_ARGUMENT");
  });

  it("index.json with several tags and no ref: every one is scanned; a ref scans only its own", async () => {
    const dir = await tmp();
    const clean = buildManifest({
      layers: [{ mediaType: "application/octet-stream", bytes: CLEAN_TORCH, title: "m.pt" }],
    });
    const evil = buildManifest({
      layers: [{ mediaType: "application/octet-stream", bytes: EVIL_TORCH, title: "m.pt" }],
    });
    await writeShapeLayout(
      dir,
      { blobs: [...clean.blobs, ...evil.blobs].map((b) => b.bytes), docs: [clean], top: evil },
      [
        { doc: clean, tag: "v1" },
        { doc: evil, tag: "v2" },
      ],
    );
    const all = await scan({ oci: { reference: `oci-layout:${dir}` } });
    expect(all.verdict).toBe("malicious");
    expect(
      all.files
        .filter((f) => f.path.endsWith("/m.pt"))
        .map((f) => f.verdict)
        .sort(),
    ).toEqual(["clean", "malicious"]);
    const v1 = await scan({ oci: { reference: `oci-layout:${dir}:v1` } });
    expect(v1.verdict).toBe("clean");
    expect(v1.target.oci).toMatchObject({ digest: clean.digest, mediaType: MEDIA.ociManifest });
    expect(v1.files.map((f) => f.path)).toContain("m.pt"); // a plain manifest: no folder
  });

  it("a ref name on several entries (clients pull different ones) is not scanned as one manifest", async () => {
    const dir = await tmp();
    const clean = buildManifest({
      layers: [{ mediaType: "application/octet-stream", bytes: CLEAN_TORCH, title: "m.pt" }],
    });
    const evil = buildManifest({
      layers: [{ mediaType: "application/octet-stream", bytes: EVIL_TORCH, title: "m.pt" }],
    });
    await writeShapeLayout(
      dir,
      { blobs: [...clean.blobs, ...evil.blobs].map((b) => b.bytes), docs: [clean], top: evil },
      [
        { doc: clean, tag: "latest" },
        { doc: evil, tag: "latest" },
      ],
    );
    const report = await scan({ oci: { reference: `oci-layout:${dir}:latest` } });
    expect(report.verdict).toBe("invalid");
    expect(report.errors[0]?.code).toBe("MALFORMED");
  });

  it("a layer title not in clean form is named as ORAS writes it (./config.yaml is config.yaml)", async () => {
    const dir = await tmp();
    const hydra = text("target:\n  _target_: os.system\n  command: echo x\n");
    for (const [tag, title] of [
      ["a", "./config.yaml"],
      ["b", "x/../config.yaml"],
    ] as const) {
      await writeLayout(
        dir,
        {
          config: { mediaType: MEDIA.ociConfig, bytes: text("{}") },
          layers: [{ mediaType: "application/yaml", bytes: hydra, title }],
        },
        tag,
      );
      const report = await scan({ oci: { reference: `oci-layout:${dir}:${tag}` } });
      expect(report.files.map((f) => f.path)).toContain("config.yaml");
      expect(report.verdict).toBe("malicious");
    }
  });

  it("a manifest of the index missing from the layout: the scan is invalid, the others are still scanned", async () => {
    const dir = await tmp();
    const shape = twoPlatforms();
    await writeShapeLayout(dir, shape);
    await unlink(join(dir, "blobs", "sha256", shape.leaves.arm64!.digest.slice(7)));
    const report = await scan({ oci: { reference: `oci-layout:${dir}` } });
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
    expect(report.errors).toContainEqual(expect.objectContaining({ path: "linux-arm64" }));
    expect(report.files.find((f) => f.path === "linux-amd64/pytorch_model.bin")?.verdict).toBe("clean");
  });
});
