/**
 * Resolving an OCI reference to the files a scan reads. A manifest gives its config and layers. An
 * index gives those of EVERY manifest it lists, nested indexes included, each manifest under its
 * own folder of the report (`os-arch[-variant]/…` or `sha256-<hex>/…`): a container runtime picks
 * the manifest of its node's platform, so a scan that read one manifest of its own choosing would
 * pass an index whose other manifests are malicious. Every document is checked against the digest
 * that names it; entries, depth and bytes are budgeted, and a manifest that cannot be read is an
 * unreadable entry of the report (the scan is `invalid`), never dropped.
 * @module
 */
import { pushAll } from "../../core/arrays.js";
import { type ErrorCode, ModelgateError, toModelgateError } from "../../core/errors.js";
import { checkDigest } from "./config.js";
import {
  type BlobEntry,
  blobEntries,
  type Descriptor,
  digestLabel,
  type OciLimits,
  type Parsed,
  parseManifest,
  platformLabel,
  platformOf,
  selectManifest,
  sha256Digest,
} from "./manifest.js";

/** A manifest an index listed, as scanned. */
export interface ScannedManifest {
  /** Its digest. */
  digest: string;
  /** Its media type. */
  mediaType: string;
  /** The report folder its files are under. */
  path: string;
  /** `os/arch[/variant]` of its index entry, when it has one. */
  platform?: string;
  /** Its `artifactType` (or, for older artifacts, its config media type). */
  artifactType?: string;
}

/** What the reference resolved to. */
export interface Resolved {
  /** Digest the reference resolved to (a tag's pin). */
  digest: string;
  mediaType: string;
  /** The manifest scanned, when an index listed exactly one (or `platform` was asked for and is there). */
  manifestDigest?: string;
  platform?: string;
  artifactType?: string;
  /** Every manifest scanned, when the reference named an index. */
  manifests?: ScannedManifest[];
  /** The files. */
  entries: BlobEntry[];
  /** Manifests of the index that could not be read: their folder, why, and the error code. */
  unreadable: Array<{ path: string; error: string; code: ErrorCode }>;
}

/** A manifest or index as fetched, before any check. */
export interface Fetched {
  bytes: Uint8Array;
  contentType: string;
  digestHeader?: string;
}

/** Fetches a manifest or index by tag or digest, reading at most `maxBytes` (default the manifest budget). */
export type FetchDocument = (reference: string, maxBytes?: number) => Promise<Fetched>;

/** Budgets and options of a resolution. */
export interface ResolveOptions {
  limits: Required<OciLimits>;
  /** The platform a runtime will pull: the index must list a manifest for it. */
  platform: string | undefined;
  /** Aborts: an abort is never turned into an unreadable manifest. */
  signal: AbortSignal;
}

/** The artifact type of a manifest: its `artifactType`, else a config media type that is not an image's. */
function artifactTypeOf(parsed: Extract<Parsed, { kind: "manifest" }>): string | undefined {
  if (parsed.artifactType !== undefined) return parsed.artifactType;
  const config = parsed.config.mediaType;
  return config !== "" && !/image\.config|container\.image/.test(config) ? config : undefined;
}

/**
 * Checks a fetched document against the budget, the digest asked for, the registry's header and
 * the descriptor's size.
 * @returns its digest
 */
function checkDocument(
  doc: Fetched,
  expected: { digest?: string | undefined; size?: number },
  where: string,
  limits: Required<OciLimits>,
): string {
  if (doc.bytes.length > limits.maxManifestBytes) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${where} is larger than ${limits.maxManifestBytes} bytes`, {
      budget: "oci.maxManifestBytes",
    });
  }
  const digest = sha256Digest(doc.bytes);
  if (expected.digest !== undefined && digest !== expected.digest) {
    throw new ModelgateError("MALFORMED", `${where}: the bytes served hash to ${digest}, not to ${expected.digest}`);
  }
  if (doc.digestHeader !== undefined && doc.digestHeader !== digest) {
    throw new ModelgateError(
      "MALFORMED",
      `${where}: Docker-Content-Digest says ${doc.digestHeader.slice(0, 80)}, the bytes served hash to ${digest}`,
    );
  }
  if (expected.size !== undefined && doc.bytes.length !== expected.size) {
    throw new ModelgateError(
      "MALFORMED",
      `${where} is ${doc.bytes.length} bytes; its descriptor says ${expected.size}`,
    );
  }
  return digest;
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** A manifest reached through an index, or one that could not be read. */
type Leaf =
  | { descriptor: Descriptor; parsed: Extract<Parsed, { kind: "manifest" }> }
  | { descriptor: Descriptor; error: ModelgateError };

/**
 * Walks an index and the indexes it lists, depth first, collecting every manifest once (by digest).
 * @throws ModelgateError `BUDGET_EXCEEDED` past the entry, depth or byte budgets
 */
async function walkIndex(
  fetch: FetchDocument,
  root: { digest: string; manifests: readonly Descriptor[] },
  options: ResolveOptions,
  spent: { bytes: number },
): Promise<Leaf[]> {
  const { limits } = options;
  const seen = new Set([root.digest]);
  const leaves: Leaf[] = [];
  let entries = 0;
  const visit = async (manifests: readonly Descriptor[], level: number): Promise<void> => {
    for (const child of manifests) {
      entries++;
      if (entries > limits.maxManifests) {
        throw new ModelgateError("BUDGET_EXCEEDED", `the index lists more than ${limits.maxManifests} manifests`, {
          budget: "oci.maxManifests",
        });
      }
      if (seen.has(child.digest)) continue; // listed twice (or by two indexes): scanned once
      seen.add(child.digest);
      if (level + 1 > limits.maxIndexDepth) {
        throw new ModelgateError("BUDGET_EXCEEDED", `indexes nested deeper than ${limits.maxIndexDepth} levels`, {
          budget: "oci.maxIndexDepth",
        });
      }
      const where = `manifest ${child.digest.slice(0, 80)}`;
      let parsed: Parsed;
      try {
        checkDigest(child.digest, "an index entry");
        if (child.size > limits.maxManifestBytes) {
          throw new ModelgateError("BUDGET_EXCEEDED", `${where} is larger than ${limits.maxManifestBytes} bytes`, {
            budget: "oci.maxManifestBytes",
          });
        }
        spent.bytes += child.size;
        if (spent.bytes > limits.maxManifestTotalBytes) {
          throw new ModelgateError(
            "BUDGET_EXCEEDED",
            `the manifests of the index exceed ${limits.maxManifestTotalBytes} bytes in all`,
            { budget: "oci.maxManifestTotalBytes" },
          );
        }
        // At most the descriptor's size is read: the byte budget above holds for what is transferred.
        const doc = await fetch(child.digest, child.size).catch((error: unknown) => {
          const e = toModelgateError(error);
          if (e.code !== "BUDGET_EXCEEDED") throw e;
          throw new ModelgateError("MALFORMED", `${where} is larger than its descriptor's ${child.size} bytes`);
        });
        checkDocument(doc, { digest: child.digest, size: child.size }, where, limits);
        parsed = parseManifest(doc.bytes, child.mediaType || doc.contentType, where);
      } catch (error) {
        const e = toModelgateError(error);
        if (options.signal.aborted || e.code === "ABORTED" || e.code === "BUDGET_EXCEEDED") throw e;
        leaves.push({ descriptor: child, error: e });
        continue;
      }
      if (parsed.kind === "index") await visit(parsed.manifests, level + 1);
      else leaves.push({ descriptor: child, parsed });
    }
  };
  await visit(root.manifests, 0);
  return leaves;
}

/**
 * The report folder of each leaf: its platform label when no other leaf has the same one, else its digest.
 * @param leaves - the manifests, deduplicated by digest
 */
function folders(leaves: readonly Leaf[]): string[] {
  const labels = leaves.map((l) => platformLabel(l.descriptor));
  const count = new Map<string, number>();
  for (const l of labels) if (l !== undefined) count.set(l, (count.get(l) ?? 0) + 1);
  return leaves.map((l, i) => {
    const label = labels[i];
    if (label !== undefined && count.get(label) === 1) return label;
    // An entry whose digest is not sha256 is unreadable; its own string never names a folder.
    return SHA256.test(l.descriptor.digest) ? digestLabel(l.descriptor.digest) : `sha256-unsupported-${i}`;
  });
}

/**
 * Follows a reference to its manifests, checking every document against the digest that names it.
 * @param fetch - fetches a document by tag or digest
 * @param top - the reference, and the digest it pins when it pins one
 * @param options - budgets, platform, abort signal
 */
export async function resolveReference(
  fetch: FetchDocument,
  top: { reference: string; digest?: string | undefined; where: string },
  options: ResolveOptions,
): Promise<Resolved> {
  const { limits } = options;
  const doc = await fetch(top.reference);
  const digest = checkDocument(doc, { digest: top.digest }, top.where, limits);
  const parsed: Parsed = parseManifest(doc.bytes, doc.contentType, top.where);
  if (parsed.kind === "manifest") {
    const artifactType = artifactTypeOf(parsed);
    return {
      digest,
      mediaType: parsed.mediaType,
      ...(artifactType === undefined ? {} : { artifactType }),
      entries: blobEntries(parsed, limits),
      unreadable: [],
    };
  }
  const spent = { bytes: doc.bytes.length };
  const leaves = await walkIndex(fetch, { digest, manifests: parsed.manifests }, options, spent);
  if (leaves.length === 0)
    throw new ModelgateError("INVALID_ARGUMENT", `${top.where} is an index that lists no manifest`);
  const wanted =
    options.platform === undefined
      ? undefined
      : selectManifest(
          leaves.map((l) => l.descriptor),
          options.platform,
          `index ${digest}`,
        );
  const names = folders(leaves);
  const resolved: Resolved = { digest, mediaType: parsed.mediaType, manifests: [], entries: [], unreadable: [] };
  const shared = { listed: 0, folder: "" };
  for (const [i, leaf] of leaves.entries()) {
    const path = names[i]!;
    const platform = platformOf(leaf.descriptor);
    if ("error" in leaf) {
      resolved.unreadable.push({ path, error: leaf.error.message, code: leaf.error.code });
      continue;
    }
    const artifactType = artifactTypeOf(leaf.parsed);
    resolved.manifests!.push({
      digest: leaf.descriptor.digest,
      mediaType: leaf.parsed.mediaType,
      path,
      ...(platform === undefined ? {} : { platform }),
      ...(artifactType === undefined ? {} : { artifactType }),
    });
    shared.folder = path;
    try {
      pushAll(resolved.entries, blobEntries(leaf.parsed, limits, shared));
    } catch (error) {
      const e = toModelgateError(error);
      resolved.unreadable.push({ path, error: `manifest ${leaf.descriptor.digest}: ${e.message}`, code: e.code });
    }
  }
  // The manifest a runtime on the platform asked for pulls, or the only one.
  const scanned = resolved.manifests!;
  const pick =
    wanted === undefined
      ? leaves.length === 1
        ? scanned[0]
        : undefined
      : scanned.find((m) => m.digest === wanted.digest);
  if (pick !== undefined) {
    resolved.manifestDigest = pick.digest;
    if (pick.platform !== undefined) resolved.platform = pick.platform;
    if (pick.artifactType !== undefined) resolved.artifactType = pick.artifactType;
  }
  return resolved;
}
