/**
 * OCI manifests and indexes as modelgate reads them: strict parsing of untrusted JSON, the
 * platform matching of index entries, the names of an index's manifests in the report, and the
 * files a manifest lists (its config and layers, named by their title annotation or their digest).
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
  /** Most entries of indexes followed, every index of the reference together (default 256). */
  maxManifests?: number;
  /** Most bytes of manifests and indexes fetched in all (default 64 MiB). */
  maxManifestTotalBytes?: number;
  /**
   * Most bytes of blobs listed (sum of descriptor sizes, every manifest of an index together);
   * blobs beyond it are not read (default 256 GiB).
   */
  maxTotalBytes?: number;
}

/** The defaults of {@link OciLimits}. */
export const DEFAULT_OCI_LIMITS: Required<OciLimits> = {
  maxManifestBytes: 4 << 20,
  maxLayers: 1024,
  maxIndexDepth: 4,
  maxManifests: 256,
  maxManifestTotalBytes: 64 << 20,
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
 * The entry of an index a runtime on `platform` pulls: the one for exactly that platform, else (for
 * `os/arch`) one of its variants. Attestation manifests (`unknown/unknown`) never match.
 * @param manifests - the descriptors (every manifest of the index and of the indexes it lists)
 * @param platform - `os/arch[/variant]`
 * @param where - the index, for messages
 * @throws ModelgateError `INVALID_ARGUMENT` when none matches
 */
export function selectManifest(manifests: readonly Descriptor[], platform: string, where: string): Descriptor {
  const usable = manifests.filter((d) => d.platform?.os !== "unknown");
  const match =
    usable.find((d) => platformOf(d) === platform) ??
    (platform.split("/").length === 2 ? usable.find((d) => platformOf(d)?.startsWith(`${platform}/`)) : undefined);
  if (match !== undefined) return match;
  const available = usable.map((d) => platformOf(d) ?? d.artifactType ?? "?").slice(0, 10);
  throw new ModelgateError(
    "INVALID_ARGUMENT",
    `${where} has no manifest for ${platform} (it has: ${available.join(", ") || "none"})`,
  );
}

/** One segment of a platform label: letters, digits, `.` and `_` (no `-`, the separator). */
const PLATFORM_PART = /^[A-Za-z0-9._]{1,64}$/;

/**
 * The report folder of a manifest listed by an index: `os-arch[-variant]` of its descriptor when
 * that is made of plain names (and is not `sha256-…`), else undefined (then its digest names it).
 * @param d - the index entry
 */
export function platformLabel(d: Descriptor): string | undefined {
  const p = d.platform;
  if (p === undefined) return undefined;
  const parts = [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])];
  if (!parts.every((x) => PLATFORM_PART.test(x))) return undefined;
  const label = parts.join("-");
  return label.startsWith("sha256-") || label === "." || label === ".." ? undefined : label;
}

/** The report folder of a manifest named by its digest: `sha256-<hex>`. */
export const digestLabel = (digest: string): string => digest.replace(":", "-");

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
  // Cleaned as ORAS's file store cleans it (Go's filepath.Clean under the output folder):
  // `./config.yaml` and `x/../config.yaml` are written as `config.yaml`, so they are named that.
  const parts: string[] = [];
  for (const p of title.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (parts.length === 0) return undefined; // above the output folder
      parts.pop();
    } else if (p.length > 255) return undefined;
    else parts.push(p);
  }
  return parts.length === 0 ? undefined : parts.join("/");
}

/** The path of a blob named by its digest. */
export const blobPath = (digest: string): string => `blobs/${digest.replace(":", "/")}`;

/**
 * The files a manifest lists: its config, then its layers, within the layer and byte budgets.
 * @param manifest - the parsed manifest
 * @param limits - budgets
 * @param shared - the bytes already listed by other manifests of the same index (updated), and
 *   the folder of this manifest in the report (`""` for a manifest named by the reference)
 */
export function blobEntries(
  manifest: Extract<Parsed, { kind: "manifest" }>,
  limits: Required<OciLimits>,
  shared: { listed: number; folder: string } = { listed: 0, folder: "" },
): BlobEntry[] {
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
      shared.listed += descriptor.size;
      if (shared.listed > limits.maxTotalBytes) {
        problem = {
          error: `the blobs listed exceed ${limits.maxTotalBytes} bytes in total; this one was not read`,
          code: "BUDGET_EXCEEDED",
        };
      }
    }
    out.push({ path, descriptor, role, ...(problem === undefined ? {} : { problem }) });
  }
  if (shared.folder === "") return out;
  return out.map((e) => ({ ...e, path: `${shared.folder}/${e.path}` }));
}
