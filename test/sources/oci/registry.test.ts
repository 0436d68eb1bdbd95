// OCI registries as a scan source (issue 16), against a real CNCF distribution registry on
// loopback, fed by our own push code: tags pinned to digests, model artifacts (GGUF, safetensors
// + config), an image-style tar.gz layer holding a malicious pickle, indexes (every manifest
// scanned), and the CLI.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as main } from "../../../src/cli/run.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import { MEDIA } from "../../../src/sources/oci/config.js";
import { digestLabel } from "../../../src/sources/oci/manifest.js";
import { buildIndex, buildManifest, pushArtifact, pushRaw } from "../../../src/sources/oci/push.js";
import type { OciTarget } from "../../../src/sources/oci/root.js";
import { fakeIO } from "../../helpers/cli.js";
import { registryAvailable, startRegistry, type TestRegistry } from "../../helpers/oci-registry.js";
import { SAMPLES } from "../../helpers/scan.js";
import { reportValidator } from "../../helpers/schema.js";
import { artifactBesideImage, pushShape, twoPlatforms } from "./poly.js";
import { tarOf } from "./tar.js";

const GGUF = new Uint8Array(readFileSync(join(SAMPLES, "gguf/clean-llama.gguf")));
const SAFETENSORS = new Uint8Array(readFileSync(join(SAMPLES, "safetensors/clean-model.safetensors")));
const EVIL = new TextEncoder().encode("cos\nsystem\n(S'echo hi'\ntR.");
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const FAST = { retries: 1, retryBaseMs: 1, requestTimeoutMs: 10_000 };

let registry: TestRegistry | undefined;
const available = registryAvailable();

beforeAll(async () => {
  if (available) registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

const ref = (repo: string) => `oci://${registry!.host}/${repo}`;
const ociScan = (reference: string, target: Partial<OciTarget> = {}, options = {}): Promise<ScanReport> =>
  scan({ oci: { reference, env: {}, transport: FAST, ...target } }, options);

describe.skipIf(!available)("an OCI registry on loopback (docker-registry)", () => {
  it("pins a tag to its manifest digest and scans a GGUF model artifact (Docker Model Runner types)", async () => {
    const built = await pushArtifact(
      ref("acme/tiny:v1"),
      {
        config: {
          mediaType: "application/vnd.docker.ai.model.config.v0.1+json",
          bytes: json({ config: { format: "gguf" } }),
        },
        layers: [{ mediaType: MEDIA.dockerGguf, bytes: GGUF, title: "model.gguf" }],
      },
      { env: {} },
    );
    const report = await ociScan(ref("acme/tiny:v1"));
    expect(report.target).toMatchObject({
      kind: "oci",
      name: ref("acme/tiny:v1"),
      oci: {
        registry: registry!.host,
        repository: "acme/tiny",
        reference: "v1",
        digest: built.digest,
        mediaType: MEDIA.ociManifest,
        artifactType: "application/vnd.docker.ai.model.config.v0.1+json",
      },
    });
    expect(report.verdict).toBe("clean");
    expect(report.complete).toBe(true);
    const gguf = report.files.find((f) => f.path === "model.gguf")!;
    expect(gguf).toMatchObject({
      format: "gguf",
      verdict: "clean",
      integrity: { status: "verified", expected: built.blobs[1]!.digest.slice(7) },
    });
    expect(report.files.map((f) => f.path)).toContain(`blobs/sha256/${built.blobs[0]!.digest.slice(7)}`);

    // The tag moves; the digest still names the first artifact.
    await pushArtifact(
      ref("acme/tiny:v1"),
      { layers: [{ mediaType: MEDIA.dockerGguf, bytes: EVIL, title: "model.gguf" }] },
      { env: {} },
    );
    const moved = await ociScan(ref("acme/tiny:v1"));
    expect(moved.target.oci?.digest).not.toBe(built.digest);
    expect(moved.verdict).toBe("malicious");
    // a GGUF media type over pickle bytes is flagged on top of the pickle's own findings
    expect(moved.files.find((f) => f.path === "model.gguf")?.findings.map((f) => f.ruleId)).toContain(
      "oci/media-type-mismatch",
    );
    const pinned = await ociScan(`${ref("acme/tiny")}@${built.digest}`);
    expect(pinned.verdict).toBe("clean");
    expect(pinned.target.oci).toMatchObject({ reference: built.digest, digest: built.digest });
  });

  it("scans a ModelPack safetensors + config artifact, verifying every blob with verify: full", async () => {
    const built = await pushArtifact(
      ref("acme/st:main"),
      {
        artifactType: MEDIA.modelPackManifest,
        config: {
          mediaType: MEDIA.modelPackConfig,
          bytes: json({ descriptor: { name: "st" }, config: { format: "safetensors" } }),
        },
        layers: [
          { mediaType: "application/vnd.cncf.model.weight.v1.raw", bytes: SAFETENSORS, title: "model.safetensors" },
          {
            mediaType: "application/vnd.cncf.model.weight.config.v1.raw",
            bytes: json({ model_type: "llama", architectures: ["LlamaForCausalLM"] }),
            title: "config.json",
          },
        ],
      },
      { env: {} },
    );
    const report = await ociScan(ref("acme/st:main"), { verify: "full" });
    expect(report.target.oci).toMatchObject({ digest: built.digest, artifactType: MEDIA.modelPackManifest });
    expect(report.verdict).toBe("clean");
    expect(report.files.map((f) => f.path)).toEqual([
      `blobs/sha256/${built.blobs[0]!.digest.slice(7)}`,
      "model.safetensors",
      "config.json",
    ]);
    for (const f of report.files) expect(f.integrity?.status).toBe("verified");
    expect(report.files[1]!.format).toBe("safetensors");
  });

  it("finds a malicious pickle inside an image-style tar.gz layer, and caches only verified results", async () => {
    const layer = gzipSync(
      tarOf([
        { name: "app/model.pkl", bytes: EVIL },
        { name: "app/README", bytes: json("hi") },
      ]),
    );
    const built = await pushArtifact(
      ref("acme/image:latest"),
      {
        config: {
          mediaType: MEDIA.ociConfig,
          bytes: json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
        },
        layers: [{ mediaType: MEDIA.ociLayerGzip, bytes: new Uint8Array(layer) }],
      },
      { env: {} },
    );
    const cache = new MemoryVerdictCache();
    const report = await ociScan(ref("acme/image"), {}, { cache });
    expect(report.target.oci?.reference).toBe("latest");
    expect(report.verdict).toBe("malicious");
    const path = `blobs/sha256/${built.blobs[1]!.digest.slice(7)}`;
    const file = report.files.find((f) => f.path === path)!;
    expect(file.verdict).toBe("malicious");
    expect(file.integrity?.status).toBe("verified"); // the decompressor read the whole layer
    expect(JSON.stringify(file)).toContain("app/model.pkl");
    expect(cache.size).toBeGreaterThan(0);
    const again = await ociScan(ref("acme/image"), {}, { cache });
    expect(again.files.find((f) => f.path === path)).toMatchObject({ verdict: "malicious", cached: true });
  });

  it("scans every manifest of an index, once each, under its platform's folder; platform asks only that it be there", async () => {
    const amd = buildManifest({
      config: { mediaType: MEDIA.ociConfig, bytes: json({ os: "linux", architecture: "amd64" }) },
      layers: [],
    });
    const arm = buildManifest({
      config: { mediaType: MEDIA.ociConfig, bytes: json({ os: "linux", architecture: "arm64" }) },
      layers: [
        { mediaType: MEDIA.ociLayerGzip, bytes: new Uint8Array(gzipSync(tarOf([{ name: "x.pkl", bytes: EVIL }]))) },
      ],
    });
    const d = (m: ReturnType<typeof buildManifest>, platform?: { os: string; architecture: string }) => ({
      digest: m.digest,
      size: m.bytes.length,
      mediaType: m.mediaType,
      ...(platform === undefined ? {} : { platform }),
    });
    const index = buildIndex([
      d(arm, { os: "linux", architecture: "arm64" }),
      d(amd, { os: "linux", architecture: "amd64" }),
      d(amd, { os: "unknown", architecture: "unknown" }),
    ]);
    await pushRaw(
      ref("acme/multi"),
      {
        blobs: [...amd.blobs, ...arm.blobs].map((b) => b.bytes),
        manifests: [
          { bytes: amd.bytes, mediaType: amd.mediaType },
          { bytes: arm.bytes, mediaType: arm.mediaType },
          { bytes: index.bytes, mediaType: index.mediaType, tag: "v2" },
        ],
      },
      { env: {} },
    );
    const dflt = await ociScan(ref("acme/multi:v2"));
    expect(dflt.target.oci).toMatchObject({ digest: index.digest, mediaType: MEDIA.ociIndex });
    expect(dflt.target.oci?.manifestDigest).toBeUndefined();
    expect(dflt.verdict).toBe("malicious");
    expect(dflt.files.map((f) => f.path)).toEqual([
      `linux-arm64/blobs/sha256/${arm.blobs[0]!.digest.slice(7)}`,
      `linux-arm64/blobs/sha256/${arm.blobs[1]!.digest.slice(7)}`,
      `linux-amd64/blobs/sha256/${amd.blobs[0]!.digest.slice(7)}`, // listed twice, scanned once
    ]);
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      const one = await ociScan(ref("acme/multi:v2"), { platform });
      expect(one.target.oci).toMatchObject({
        manifestDigest: platform.endsWith("amd64") ? amd.digest : arm.digest,
        platform,
      });
      expect(one.verdict).toBe("malicious");
      expect(one.files).toHaveLength(3);
    }
    const none = await ociScan(ref("acme/multi:v2"), { platform: "windows/amd64" });
    expect(none.verdict).toBe("invalid");
    expect(none.errors[0]).toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("the review's indexes: a benign artifact beside a malicious amd64 image, a benign amd64 beside a malicious arm64", async () => {
    const first = artifactBesideImage();
    await pushShape(ref("acme/model"), first, "latest");
    const report = await ociScan(ref("acme/model:latest"));
    expect(report.verdict).toBe("malicious");
    expect(report.target.oci).toMatchObject({ digest: first.top.digest, mediaType: MEDIA.ociIndex });
    expect(report.target.oci?.manifests).toEqual([
      {
        digest: first.leaves.amd64!.digest,
        mediaType: MEDIA.ociManifest,
        path: "linux-amd64",
        platform: "linux/amd64",
      },
      {
        digest: first.leaves.artifact!.digest,
        mediaType: MEDIA.ociManifest,
        path: digestLabel(first.leaves.artifact!.digest),
        artifactType: "application/vnd.example.model.v1",
      },
    ]);
    expect(reportValidator()(report).errors).toBe("");
    expect(report.files.find((f) => f.path === "linux-amd64/pytorch_model.bin")).toMatchObject({
      verdict: "malicious",
    });
    expect(
      report.files.find((f) => f.path === `${digestLabel(first.leaves.artifact!.digest)}/README.md`)?.verdict,
    ).toBe("clean");
    const second = twoPlatforms();
    await pushShape(ref("acme/model"), second, "multi");
    const pinned = await ociScan(`${ref("acme/model")}@${second.top.digest}`, { platform: "linux/amd64" });
    expect(pinned.verdict).toBe("malicious");
    expect(pinned.target.oci).toMatchObject({ manifestDigest: second.leaves.amd64!.digest, platform: "linux/amd64" });
    expect(pinned.files.find((f) => f.path === "linux-arm64/pytorch_model.bin")?.verdict).toBe("malicious");
    expect(pinned.files.find((f) => f.path === "linux-amd64/pytorch_model.bin")?.verdict).toBe("clean");
  });

  it("names a layer by its digest when its title is unsafe, and reports a missing tag as a typed error", async () => {
    const built = await pushArtifact(
      ref("acme/titles:t"),
      {
        layers: [
          { mediaType: MEDIA.dockerSafetensors, bytes: SAFETENSORS, title: "../../etc/passwd" },
          { mediaType: MEDIA.dockerSafetensors, bytes: SAFETENSORS, title: "/abs" },
        ],
      },
      { env: {} },
    );
    const report = await ociScan(ref("acme/titles:t"));
    expect(report.files.map((f) => f.path)).toEqual([
      `blobs/sha256/${built.blobs[0]!.digest.slice(7)}`,
      `blobs/sha256/${built.blobs[1]!.digest.slice(7)}`,
    ]);
    const missing = await ociScan(ref("acme/titles:nope"));
    expect(missing).toMatchObject({ verdict: "invalid", complete: false });
    expect(missing.errors[0]).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(missing.target.oci).toBeUndefined();
  });

  it("scans oci:// from the CLI, mixed with a local file, over plain HTTP on loopback only", async () => {
    await pushArtifact(
      ref("acme/cli:v1"),
      { layers: [{ mediaType: MEDIA.dockerGguf, bytes: GGUF, title: "model.gguf" }] },
      { env: {} },
    );
    const io = fakeIO();
    const code = await main(
      ["scan", ref("acme/cli:v1"), join(SAMPLES, "gguf/clean-llama.gguf"), "--format", "jsonl"],
      io,
    );
    expect(io.err).not.toMatch(/error/i);
    expect(code).toBe(0);
    const reports = io.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ScanReport);
    const oci = reports.find((r) => r.target.kind === "oci")!;
    expect(oci.target.oci?.repository).toBe("acme/cli");
    expect(oci.files.find((f) => f.path === "model.gguf")?.verdict).toBe("clean");
    const remote = fakeIO();
    expect(await main(["scan", "oci://registry.invalid:5000/acme/cli:v1", "--format", "json"], remote)).toBe(2);
  });
});
