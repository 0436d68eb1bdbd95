/**
 * Pushing artifacts to an OCI registry (monolithic blob uploads, manifest `PUT`) and writing OCI
 * image layouts: what tests and the docs use to publish model artifacts that modelgate then scans.
 * Not a general-purpose client: no chunked uploads, no cross-repository mounts.
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelgateError } from "../../core/errors.js";
import { HubTransport, type HubTransportOptions, readBody } from "../http/transport.js";
import { RegistryClient } from "./client.js";
import { isLoopback, MEDIA, type OciEnv, parseOciUri, resolveCredentials } from "./config.js";
import { sha256Digest, TITLE } from "./manifest.js";

/** A blob to publish. */
export interface ArtifactBlob {
  /** Media type of its descriptor. */
  mediaType: string;
  /** Its bytes. */
  bytes: Uint8Array;
  /** `org.opencontainers.image.title` (a file name). */
  title?: string;
  /** Further annotations. */
  annotations?: Record<string, string>;
}

/** An artifact (or image) to publish: one manifest, its config and layers. */
export interface Artifact {
  /** `artifactType` of the manifest (OCI 1.1 artifacts). */
  artifactType?: string;
  /** The config blob (default the empty descriptor `{}` as `application/vnd.oci.empty.v1+json`). */
  config?: ArtifactBlob;
  /** The layers, in order. */
  layers: ArtifactBlob[];
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

/** A built manifest: its bytes, digest and the blobs it references. */
export interface BuiltManifest {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly mediaType: string;
  readonly blobs: ReadonlyArray<{ digest: string; bytes: Uint8Array }>;
}

const encoder = new TextEncoder();

/**
 * Builds the OCI image manifest of an artifact.
 * @param artifact - config and layers
 */
export function buildManifest(artifact: Artifact): BuiltManifest {
  const config = artifact.config ?? { mediaType: MEDIA.ociEmpty, bytes: encoder.encode("{}") };
  const descriptor = (b: ArtifactBlob) => {
    const annotations = { ...b.annotations, ...(b.title === undefined ? {} : { [TITLE]: b.title }) };
    return {
      mediaType: b.mediaType,
      digest: sha256Digest(b.bytes),
      size: b.bytes.length,
      ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
    };
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    ...(artifact.artifactType === undefined ? {} : { artifactType: artifact.artifactType }),
    config: descriptor(config),
    layers: artifact.layers.map(descriptor),
    ...(artifact.annotations === undefined ? {} : { annotations: artifact.annotations }),
  };
  const bytes = encoder.encode(JSON.stringify(manifest));
  return {
    bytes,
    digest: sha256Digest(bytes),
    mediaType: MEDIA.ociManifest,
    blobs: [config, ...artifact.layers].map((b) => ({ digest: sha256Digest(b.bytes), bytes: b.bytes })),
  };
}

/**
 * Builds an image index over manifests (each with an optional platform).
 * @param manifests - the manifests and their platforms
 */
export function buildIndex(
  manifests: ReadonlyArray<{
    digest: string;
    size: number;
    mediaType: string;
    platform?: { os: string; architecture: string };
    artifactType?: string;
  }>,
): { bytes: Uint8Array; digest: string; mediaType: string } {
  const bytes = encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests }));
  return { bytes, digest: sha256Digest(bytes), mediaType: MEDIA.ociIndex };
}

/** Where and how to push. */
export interface PushOptions {
  /** Accept plain HTTP for a registry that is not on loopback. */
  allowHttp?: boolean;
  /** Credentials (default `MODELGATE_OCI_AUTH` / the docker config). */
  credentials?: { username: string; password: string };
  /** Transport options. */
  transport?: HubTransportOptions;
  /** Environment for credentials. */
  env?: OciEnv;
  /** Aborts the requests. */
  signal?: AbortSignal;
}

/** A client for pushing to one repository, with its credentials resolved. */
async function pushClient(registry: string, repository: string, options: PushOptions): Promise<RegistryClient> {
  const credentials =
    options.credentials !== undefined
      ? { ...options.credentials, from: "options" }
      : await resolveCredentials(registry, options.env);
  const client = new RegistryClient({
    registry,
    repository,
    transport: new HubTransport({ retries: 1, ...options.transport }),
    credentials,
    allowHttp: options.allowHttp === true && !isLoopback(registry),
    actions: "pull,push",
    signal: options.signal ?? new AbortController().signal,
  });
  await client.ping();
  return client;
}

/**
 * Uploads one blob monolithically (`POST /v2/<name>/blobs/uploads/`, then `PUT <location>?digest=`),
 * unless the registry already has it (`HEAD`).
 * @param client - the repository's client
 * @param bytes - the blob
 * @returns its digest
 */
async function pushBlob(client: RegistryClient, bytes: Uint8Array): Promise<string> {
  const digest = sha256Digest(bytes);
  const base = `${client.base}/v2/${client.repository}`;
  const exists = await client.send({ url: `${base}/blobs/${digest}`, method: "HEAD" }, async ({ response }) => {
    await response.body?.cancel().catch(() => undefined);
    return response.status === 200;
  });
  if (exists) return digest;
  const location = await client.send({ url: `${base}/blobs/uploads/`, method: "POST" }, async ({ response, url }) => {
    await response.body?.cancel().catch(() => undefined);
    const where = response.headers.get("location");
    if (response.status !== 202 || where === null) {
      throw new ModelgateError("NETWORK", `starting a blob upload: HTTP ${response.status}`);
    }
    return new URL(where, url);
  });
  if (location.origin !== new URL(client.base).origin) {
    throw new ModelgateError("NETWORK", `the registry sent the upload to another origin (${location.origin})`);
  }
  location.searchParams.set("digest", digest);
  await client.send(
    {
      url: location.href,
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: bytes as unknown as string,
    },
    async ({ response }) => {
      const text = new TextDecoder().decode(await readBody(response, 64 << 10, client.stats));
      if (response.status !== 201)
        throw new ModelgateError("NETWORK", `uploading blob ${digest}: HTTP ${response.status} ${text.slice(0, 200)}`);
    },
  );
  return digest;
}

/**
 * Puts a manifest or index under a tag (or its digest).
 * @param client - the repository's client
 * @param reference - tag or digest
 * @param manifest - its bytes and media type
 * @returns the digest the registry answered with
 */
async function putManifest(
  client: RegistryClient,
  reference: string,
  manifest: { bytes: Uint8Array; mediaType: string },
): Promise<string> {
  const url = `${client.base}/v2/${client.repository}/manifests/${encodeURIComponent(reference)}`;
  return client.send(
    { url, method: "PUT", headers: { "content-type": manifest.mediaType }, body: manifest.bytes as unknown as string },
    async ({ response }) => {
      const text = new TextDecoder().decode(await readBody(response, 64 << 10, client.stats));
      if (response.status !== 201)
        throw new ModelgateError(
          "NETWORK",
          `putting manifest ${reference}: HTTP ${response.status} ${text.slice(0, 300)}`,
        );
      return response.headers.get("docker-content-digest") ?? sha256Digest(manifest.bytes);
    },
  );
}

/**
 * Pushes an artifact: its blobs, then its manifest under the reference's tag.
 * @param reference - `oci://registry/repository:tag`
 * @param artifact - config and layers
 * @param options - transport, credentials
 * @returns the manifest's digest and bytes
 */
export async function pushArtifact(
  reference: string,
  artifact: Artifact,
  options: PushOptions = {},
): Promise<BuiltManifest> {
  const ref = parseOciUri(reference);
  const client = await pushClient(ref.registry, ref.repository, options);
  const built = buildManifest(artifact);
  for (const blob of built.blobs) await pushBlob(client, blob.bytes);
  await putManifest(client, ref.tag ?? built.digest, built);
  return built;
}

/**
 * Pushes raw documents: blobs, then manifests or indexes in order (each under its tag, or its digest).
 * For tests that need shapes {@link pushArtifact} does not build (indexes, nested indexes).
 * @param reference - `oci://registry/repository` (any tag is ignored)
 * @param content - blobs, then manifests `{ bytes, mediaType, tag? }`
 * @param options - transport, credentials
 */
export async function pushRaw(
  reference: string,
  content: { blobs?: Uint8Array[]; manifests: Array<{ bytes: Uint8Array; mediaType: string; tag?: string }> },
  options: PushOptions = {},
): Promise<string[]> {
  const ref = parseOciUri(reference);
  const client = await pushClient(ref.registry, ref.repository, options);
  for (const blob of content.blobs ?? []) await pushBlob(client, blob);
  const digests: string[] = [];
  for (const m of content.manifests) digests.push(await putManifest(client, m.tag ?? sha256Digest(m.bytes), m));
  return digests;
}

/**
 * Writes an artifact as an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`).
 * @param dir - the directory (created)
 * @param artifact - config and layers
 * @param tag - `org.opencontainers.image.ref.name` of the manifest in `index.json`
 * @returns the manifest
 */
export async function writeLayout(dir: string, artifact: Artifact, tag?: string): Promise<BuiltManifest> {
  const built = buildManifest(artifact);
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const blob of [...built.blobs, { digest: built.digest, bytes: built.bytes }]) {
    await writeFile(join(dir, "blobs", "sha256", blob.digest.slice(7)), blob.bytes);
  }
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const entry = {
    mediaType: built.mediaType,
    digest: built.digest,
    size: built.bytes.length,
    ...(artifact.artifactType === undefined ? {} : { artifactType: artifact.artifactType }),
    ...(tag === undefined ? {} : { annotations: { "org.opencontainers.image.ref.name": tag } }),
  };
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [entry] }),
  );
  return built;
}
