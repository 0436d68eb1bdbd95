// Multi-manifest OCI indexes for tests: the two shapes a review found passing a scan that read
// one manifest of the index (a benign model artifact next to a malicious linux/amd64 image, and a
// benign amd64 image next to a malicious arm64 one), with real torch files from samples/, written
// as an image layout or pushed to a registry.
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MEDIA } from "../../../src/sources/oci/config.js";
import { sha256Digest } from "../../../src/sources/oci/manifest.js";
import { type BuiltManifest, buildIndex, buildManifest, pushRaw } from "../../../src/sources/oci/push.js";
import { SAMPLES } from "../../helpers/scan.js";

/** torch.save zip whose pickle calls os.system (samples/pickle/malicious). */
export const EVIL_TORCH = new Uint8Array(readFileSync(join(SAMPLES, "pickle/malicious/torch_zip_payload.pt")));
/** A real torch.save state dict (samples/pickle/torch). */
export const CLEAN_TORCH = new Uint8Array(readFileSync(join(SAMPLES, "pickle/torch/state_dict.pt")));

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** A document (manifest or index) with its digest. */
export interface Doc {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly mediaType: string;
}

/** An index and everything under it. */
export interface Shape {
  /** Every blob of every manifest. */
  readonly blobs: Uint8Array[];
  /** Manifests and nested indexes, children before parents (the top excluded). */
  readonly docs: Doc[];
  /** The index the reference names. */
  readonly top: Doc;
  /** The leaf manifests by role. */
  readonly leaves: Record<string, BuiltManifest>;
}

const descriptor = (
  m: Doc,
  extra: { platform?: { os: string; architecture: string }; artifactType?: string } = {},
) => ({
  digest: m.digest,
  size: m.bytes.length,
  mediaType: m.mediaType,
  ...extra,
});

/** An image manifest for a platform, whose one layer is a torch file named pytorch_model.bin. */
function image(architecture: string, torch: Uint8Array): BuiltManifest {
  return buildManifest({
    config: {
      mediaType: MEDIA.ociConfig,
      bytes: json({ architecture, os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    },
    layers: [{ mediaType: "application/octet-stream", bytes: torch, title: "pytorch_model.bin" }],
  });
}

/**
 * The review's first shape: an index listing a malicious linux/amd64 image and a benign model
 * artifact (artifactType, no platform), itself under a layout's index.json.
 */
export function artifactBesideImage(): Shape {
  const artifact = buildManifest({
    artifactType: "application/vnd.example.model.v1",
    layers: [{ mediaType: "application/octet-stream", bytes: json("a harmless readme"), title: "README.md" }],
  });
  const amd64 = image("amd64", EVIL_TORCH);
  const inner = buildIndex([
    descriptor(amd64, { platform: { os: "linux", architecture: "amd64" } }),
    descriptor(artifact, { artifactType: "application/vnd.example.model.v1" }),
  ]);
  return {
    blobs: [...artifact.blobs, ...amd64.blobs].map((b) => b.bytes),
    docs: [amd64, artifact],
    top: inner,
    leaves: { artifact, amd64 },
  };
}

/** The review's second shape: a benign linux/amd64 image and a malicious linux/arm64 one. */
export function twoPlatforms(): Shape {
  const amd64 = image("amd64", CLEAN_TORCH);
  const arm64 = image("arm64", EVIL_TORCH);
  const index = buildIndex([
    descriptor(amd64, { platform: { os: "linux", architecture: "amd64" } }),
    descriptor(arm64, { platform: { os: "linux", architecture: "arm64" } }),
  ]);
  return {
    blobs: [...amd64.blobs, ...arm64.blobs].map((b) => b.bytes),
    docs: [amd64, arm64],
    top: index,
    leaves: { amd64, arm64 },
  };
}

/**
 * Writes an image layout whose index.json lists the shape's top index under a ref.name (or
 * several documents, each under its ref.name).
 * @param dir - the layout directory
 * @param shape - what to write
 * @param entries - the index.json entries: documents and their ref.name (default the top, `latest`)
 */
export async function writeShapeLayout(
  dir: string,
  shape: Pick<Shape, "blobs" | "docs" | "top">,
  entries: Array<{ doc: Doc; tag: string }> = [{ doc: shape.top, tag: "latest" }],
): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const all = [...shape.blobs.map((bytes) => ({ bytes, digest: sha256Digest(bytes) })), ...shape.docs, shape.top];
  for (const d of all) await writeFile(join(blobs, d.digest.slice(7)), d.bytes);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const manifests = entries.map((e) => ({
    ...descriptor(e.doc),
    annotations: { "org.opencontainers.image.ref.name": e.tag },
  }));
  await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests }));
}

/**
 * Pushes the shape to a registry, its top index under a tag.
 * @param reference - `oci://registry/repository`
 * @param shape - what to push
 * @param tag - the tag of the top index
 */
export async function pushShape(reference: string, shape: Shape, tag: string): Promise<void> {
  await pushRaw(
    reference,
    {
      blobs: shape.blobs,
      manifests: [
        ...shape.docs.map((d) => ({ bytes: d.bytes, mediaType: d.mediaType })),
        { bytes: shape.top.bytes, mediaType: shape.top.mediaType, tag },
      ],
    },
    { env: {} },
  );
}
