/**
 * OCI manifests and indexes as modelgate reads them: strict parsing of untrusted JSON, the choice
 * of one manifest in an index (a model artifact, else a platform), and the files a manifest lists
 * (its config and layers, named by their title annotation or their digest).
 * @module
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { ModelgateError } from "../../core/errors.js";
import { checkDigest, MEDIA } from "./config.js";

/** Budgets of an OCI target. */
export interface OciLimits {
  /** Largest manifest or index accepted, in bytes (default 4 MiB, the distribution registry's own limit). */
  maxManifestBytes?: number;
  /** Most layers in one manifest (default 1024). */
  maxLayers?: number;
  /** Deepest chain of indexes followed (default 4). */
  maxIndexDepth?: number;
  /** Most bytes of blobs listed (sum of descriptor sizes); blobs beyond it are not read (default 256 GiB). */
  maxTotalBytes?: number;
}

/** The defaults of {@link OciLimits}. */
export const DEFAULT_OCI_LIMITS: Required<OciLimits> = {
  maxManifestBytes: 4 << 20,
  maxLayers: 1024,
  maxIndexDepth: 4,
  maxTotalBytes: 256 * 1024 ** 3,
};

const DescriptorSchema = z
  .object({
    mediaType: z.string().max(255),
    digest: z.string().max(200),
    size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    urls: z.array(z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    artifactType: z.string().max(255).optional(),
    platform: z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).loose().optional(),
  })
  .loose();

/** A content descriptor. */
export type Descriptor = z.infer<typeof DescriptorSchema>;

const ManifestSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().max(255).optional(),
    config: DescriptorSchema,
    layers: z.array(DescriptorSchema).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

const IndexSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().max(255).optional(),
    manifests: z.array(DescriptorSchema),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

/** A parsed manifest or index. */
export type Parsed =
  | { kind: "manifest"; mediaType: string; artifactType?: string; config: Descriptor; layers: Descriptor[] }
  | { kind: "index"; mediaType: string; manifests: Descriptor[] };

const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);

/** `sha256:<hex>` of some bytes. */
export const sha256Digest = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/**
 * Parses manifest or index bytes.
 * @param bytes - the document as served
 * @param declared - the media type the response or descriptor gave (may be empty)
 * @param where - what it is, for messages
 * @throws ModelgateError `MALFORMED` for anything that is not a well-formed manifest or index
 */
export function parseManifest(bytes: Uint8Array, declared: string, where: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ModelgateError("MALFORMED", `${where} is not JSON`);
  }
  const inner = (json as { mediaType?: unknown } | null)?.mediaType;
  const bodyType = typeof inner === "string" ? inner : undefined;
  const header = declared.split(";")[0]!.trim().toLowerCase();
  if (bodyType !== undefined && header !== "" && INDEX_TYPES.has(header) !== INDEX_TYPES.has(bodyType)) {
    throw new ModelgateError("MALFORMED", `${where}: served as ${header} but its mediaType is ${bodyType}`);
  }
  const mediaType = bodyType ?? (header === "" ? undefined : header);
  const isIndex =
    (mediaType !== undefined && INDEX_TYPES.has(mediaType)) ||
    (mediaType === undefined && Array.isArray((json as { manifests?: unknown })?.manifests));
  if (isIndex) {
    const parsed = IndexSchema.safeParse(json);
    if (!parsed.success) throw new ModelgateError("MALFORMED", `${where} is not a valid image index`);
    return { kind: "index", mediaType: mediaType ?? MEDIA.ociIndex, manifests: parsed.data.manifests };
  }
  if (mediaType !== undefined && !MANIFEST_TYPES.has(mediaType)) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `${where} has media type ${mediaType.slice(0, 100)}, not an image manifest or index`,
    );
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw new ModelgateError("MALFORMED", `${where} is not a valid image manifest`);
  const m = parsed.data;
  return {
    kind: "manifest",
    mediaType: mediaType ?? MEDIA.ociManifest,
    ...(m.artifactType === undefined ? {} : { artifactType: m.artifactType }),
    config: m.config,
    layers: m.layers ?? [],
  };
}

/** `os/architecture[/variant]` of a descriptor. */
export const platformOf = (d: Descriptor): string | undefined =>
  d.platform === undefined
    ? undefined
    : `${d.platform.os}/${d.platform.architecture}${d.platform.variant === undefined ? "" : `/${d.platform.variant}`}`;

/**
 * The manifest of an index to follow: a model artifact (a descriptor with an `artifactType`, or
 * no platform) first, else the one for `platform` (default `linux/amd64`), else the only one.
 * Attestation manifests (`unknown/unknown`) are never chosen.
 * @param manifests - the index's descriptors
 * @param platform - `os/arch[/variant]` wanted
 * @param where - the index, for messages
 */
export function selectManifest(
  manifests: readonly Descriptor[],
  platform: string | undefined,
  where: string,
): Descriptor {
  const usable = manifests.filter((d) => d.platform?.os !== "unknown");
  if (platform === undefined) {
    const artifact = usable.find((d) => d.artifactType !== undefined) ?? usable.find((d) => d.platform === undefined);
    if (artifact !== undefined) return artifact;
  }
  const want = platform ?? "linux/amd64";
  const match =
    usable.find((d) => platformOf(d) === want) ??
    (want.split("/").length === 2 ? usable.find((d) => platformOf(d)?.startsWith(`${want}/`)) : undefined);
  if (match !== undefined) return match;
  if (platform === undefined && usable.length === 1) return usable[0]!;
  const available = usable.map((d) => platformOf(d) ?? d.artifactType ?? "?").slice(0, 10);
  throw new ModelgateError(
    "INVALID_ARGUMENT",
    `${where} has no manifest for ${want} (it has: ${available.join(", ") || "none"}); choose one with platform`,
  );
}

/** A blob listed as a file. */
export interface BlobEntry {
  /** The path it is reported under. */
  readonly path: string;
  /** Its descriptor. */
  readonly descriptor: Descriptor;
  /** `config` or `layer`. */
  readonly role: "config" | "layer";
  /** Why it is not read, when it is not (a budget, a foreign layer, an unsupported digest). */
  readonly problem?: { readonly error: string; readonly code: "BUDGET_EXCEEDED" | "UNSUPPORTED" | "MALFORMED" };
}

/** The title annotation key (a file name, ORAS and model packagers set it). */
export const TITLE = "org.opencontainers.image.title";

/**
 * A title annotation as a report path, or undefined when it is not a safe relative path (absolute,
 * `..` segments, backslashes, control characters, the member separator `!`, empty segments).
 * @param title - the annotation
 */
export function safeTitle(title: string | undefined): string | undefined {
  if (title === undefined || title === "" || title.length > 1024) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
  if (/[\u0000-\u001f\u007f\\!]/.test(title) || title.startsWith("/")) return undefined;
  const parts = title.replace(/\/+$/, "").split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.length > 255)) return undefined;
  return parts.join("/");
}

/** The path of a blob named by its digest. */
export const blobPath = (digest: string): string => `blobs/${digest.replace(":", "/")}`;

/**
 * The files a manifest lists: its config, then its layers, within the layer and byte budgets.
 * @param manifest - the parsed manifest
 * @param limits - budgets
 */
export function blobEntries(manifest: Extract<Parsed, { kind: "manifest" }>, limits: Required<OciLimits>): BlobEntry[] {
  if (manifest.layers.length > limits.maxLayers) {
    throw new ModelgateError(
      "BUDGET_EXCEEDED",
      `the manifest lists ${manifest.layers.length} layers, more than ${limits.maxLayers}`,
      {
        budget: "oci.maxLayers",
      },
    );
  }
  const out: BlobEntry[] = [];
  const used = new Set<string>();
  let total = 0;
  const all: Array<[Descriptor, "config" | "layer"]> = [
    [manifest.config, "config"],
    ...manifest.layers.map((d): [Descriptor, "layer"] => [d, "layer"]),
  ];
  for (const [descriptor, role] of all) {
    let problem: BlobEntry["problem"];
    try {
      checkDigest(descriptor.digest, `${role} ${descriptor.digest.slice(0, 80)}`);
    } catch (error) {
      problem = { error: (error as Error).message, code: "UNSUPPORTED" };
    }
    const title = safeTitle(descriptor.annotations?.[TITLE]);
    const byDigest = problem === undefined ? blobPath(descriptor.digest) : `blobs/unsupported-${out.length}`;
    let path = title !== undefined && !used.has(title) && !title.startsWith("blobs/") ? title : byDigest;
    if (used.has(path)) {
      if (problem === undefined && out.some((e) => e.descriptor.digest === descriptor.digest)) continue; // the same blob twice
      path = `${byDigest}-${out.length}`;
    }
    used.add(path);
    if (problem === undefined && descriptor.urls !== undefined && descriptor.urls.length > 0) {
      problem = {
        error: "foreign layer (its bytes are served from URLs outside the registry): not fetched",
        code: "UNSUPPORTED",
      };
    }
    if (problem === undefined) {
      total += descriptor.size;
      if (total > limits.maxTotalBytes) {
        problem = {
          error: `the manifest's blobs exceed ${limits.maxTotalBytes} bytes in total; this one was not read`,
          code: "BUDGET_EXCEEDED",
        };
      }
    }
    out.push({ path, descriptor, role, ...(problem === undefined ? {} : { problem }) });
  }
  return out;
}
