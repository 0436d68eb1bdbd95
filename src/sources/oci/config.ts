/**
 * OCI targets: `oci://registry/repository[:tag][@sha256:…]` references, `oci-layout:DIR[:ref]`
 * image-layout directories, the media types modelgate knows, and registry credentials
 * (`MODELGATE_OCI_AUTH`, else a docker `config.json` `auths` entry).
 * @module
 */

import { homedir } from "node:os";
import { join } from "node:path";
import { ModelgateError } from "../../core/errors.js";
import { readTrustedFile } from "../safe-read.js";

/** Environment variables the OCI source reads. */
export type OciEnv = Readonly<Record<string, string | undefined>>;

/** A registry reference split into its parts. */
export interface OciReference {
  /** `host[:port]` as written (`docker.io` is read from `registry-1.docker.io`). */
  readonly registry: string;
  /** Repository path (`library/ubuntu`, `acme/tiny-llama`). */
  readonly repository: string;
  /** The tag, when the reference has one (default `latest` when it has no digest either). */
  readonly tag?: string;
  /** `sha256:<hex>`, when the reference pins one. */
  readonly digest?: string;
}

/** An image-layout directory and the reference to pick in its `index.json`. */
export interface OciLayoutReference {
  /** The directory holding `oci-layout`, `index.json` and `blobs/`. */
  readonly path: string;
  /** A `org.opencontainers.image.ref.name` of `index.json`, or a `sha256:` digest. */
  readonly reference?: string;
}

/** Media types (OCI image spec, Docker image manifest v2 schema 2). */
export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociLayerTar: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  /**
   * CNCF ModelPack model-spec (github.com/modelpack/model-spec, `specs-go/v1/mediatype.go`):
   * the artifact type and config of a model manifest; weights are
   * `application/vnd.cncf.model.weight.v1.{raw,tar,tar+gzip,tar+zstd}` and likewise
   * `weight.config`, `doc`, `code`, `dataset`.
   */
  modelPackManifest: "application/vnd.cncf.model.manifest.v1+json",
  modelPackConfig: "application/vnd.cncf.model.config.v1+json",
  /**
   * Docker Model Runner (github.com/docker/model-runner, `pkg/distribution/types`): GGUF v3 and
   * safetensors weights, the model config (`application/vnd.docker.ai.model.config.v0.1+json`,
   * `v0.2`), licenses, chat templates, multimodal projectors.
   */
  dockerGguf: "application/vnd.docker.ai.gguf.v3",
  dockerSafetensors: "application/vnd.docker.ai.safetensors",
  dockerModelConfigPrefix: "application/vnd.docker.ai.model.config.",
} as const;

/** Manifest media types asked for (`Accept`). */
export const MANIFEST_TYPES = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList] as const;

/** What the bytes of a blob must look like given its media type (checked on its first bytes). */
export type ExpectedContent = "gguf" | "safetensors" | "json" | "tar" | "gzip" | "zstd";

/**
 * The content a media type announces, or undefined when it promises nothing checkable.
 * @param mediaType - a descriptor's media type
 */
export function expectedContent(mediaType: string): ExpectedContent | undefined {
  const mt = mediaType.toLowerCase();
  if (
    mt === MEDIA.dockerGguf ||
    mt.startsWith(`${MEDIA.dockerGguf}.`) ||
    /^application\/vnd\.cncf\.model\.weight\.v1\.gguf$/.test(mt)
  ) {
    return "gguf";
  }
  if (mt === MEDIA.dockerSafetensors || mt === "application/vnd.cncf.model.weight.v1.safetensors") return "safetensors";
  if (mt.endsWith("+json")) return "json";
  if (mt.endsWith(".tar") || mt === "application/x-tar") return "tar";
  if (mt.endsWith("+gzip") || mt.endsWith(".tar.gzip") || mt.endsWith(".tar.gz")) return "gzip";
  if (mt.endsWith("+zstd")) return "zstd";
  return undefined;
}

/**
 * Whether the first bytes of a blob match what its media type announces.
 * @param expected - what the media type announces
 * @param head - the blob's first bytes (at least 16 when the blob has them)
 * @param size - the blob's size
 */
export function contentMatches(expected: ExpectedContent, head: Uint8Array, size: number): boolean {
  const at = (i: number) => head[i] ?? -1;
  switch (expected) {
    case "gguf":
      return at(0) === 0x47 && at(1) === 0x47 && at(2) === 0x55 && at(3) === 0x46;
    case "safetensors": {
      if (head.length < 9) return false;
      const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
      return n > 0n && n <= BigInt(size - 8) && at(8) === 0x7b;
    }
    case "json": {
      let i = 0;
      if (at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) i = 3;
      while (i < head.length && (at(i) === 0x20 || at(i) === 0x0a || at(i) === 0x0d || at(i) === 0x09)) i++;
      return at(i) === 0x7b || at(i) === 0x5b;
    }
    case "tar":
      // An empty tar is 1024 zero bytes; otherwise "ustar" at 257, or a v7 header (checked by the tar reader).
      return size >= 512 || size === 0;
    case "gzip":
      return at(0) === 0x1f && at(1) === 0x8b;
    case "zstd":
      return at(0) === 0x28 && at(1) === 0xb5 && at(2) === 0x2f && at(3) === 0xfd;
  }
}

const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?)(?::\d{1,5})?$/;

/**
 * Checks a digest as modelgate verifies it (`sha256:<64 lowercase hex>`).
 * @param digest - the digest
 * @param what - where it came from, for the message
 */
export function checkDigest(digest: string, what: string): string {
  if (!DIGEST.test(digest)) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `${what}: "${digest.slice(0, 80)}" is not a sha256:<64 hex> digest (only SHA-256 is verified)`,
    );
  }
  return digest;
}

/**
 * Parses `oci://registry[:port]/repository[:tag][@sha256:<hex>]`.
 * @param uri - the reference, with or without the `oci://` prefix
 * @throws ModelgateError `INVALID_ARGUMENT` for anything else
 */
export function parseOciUri(uri: string): OciReference {
  const rest = uri.startsWith("oci://") ? uri.slice(6) : uri;
  const bad = (why: string) =>
    new ModelgateError("INVALID_ARGUMENT", `not an OCI reference (${why}): "${uri.slice(0, 200)}"`);
  const slash = rest.indexOf("/");
  if (slash <= 0) throw bad("expected registry/repository");
  const registry = rest.slice(0, slash);
  if (!HOST.test(registry)) throw bad("bad registry host");
  let path = rest.slice(slash + 1);
  let digest: string | undefined;
  const at = path.indexOf("@");
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!DIGEST.test(digest)) throw bad("the digest must be sha256:<64 lowercase hex>");
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(":");
  if (colon > path.lastIndexOf("/")) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw bad("bad tag");
  }
  if (path.length > 255 || !REPOSITORY.test(path)) throw bad("bad repository name");
  if (tag === undefined && digest === undefined) tag = "latest";
  return {
    registry,
    repository: path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/**
 * Formats a reference back as `oci://…`.
 * @param ref - the parts
 */
export function formatOciUri(ref: OciReference): string {
  return `oci://${ref.registry}/${ref.repository}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/**
 * Parses `oci-layout:DIR[:REF]` (REF: a `org.opencontainers.image.ref.name` or a `sha256:` digest).
 * @param uri - the target
 */
export function parseOciLayoutUri(uri: string): OciLayoutReference {
  const rest = uri.replace(/^oci-layout:(\/\/)?/, "");
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(rest);
  if (digest !== null) return { path: rest.slice(0, digest.index), reference: digest[1]! };
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/") && colon > 0 && TAG.test(rest.slice(colon + 1))) {
    return { path: rest.slice(0, colon), reference: rest.slice(colon + 1) };
  }
  if (rest === "") throw new ModelgateError("INVALID_ARGUMENT", "oci-layout: needs a directory");
  return { path: rest };
}

/**
 * Whether a registry host is a loopback address (plain HTTP is allowed for those).
 * @param registry - `host[:port]`
 */
export function isLoopback(registry: string): boolean {
  const host = registry
    .replace(/:\d+$/, "")
    .replace(/^\[|\]$/g, "")
    .toLowerCase();
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Where the distribution API of a registry is served (`docker.io` → `registry-1.docker.io`).
 * @param registry - `host[:port]`
 * @param scheme - `https` or `http`
 */
export function registryBase(registry: string, scheme: "https" | "http"): string {
  return `${scheme}://${DOCKER_HUB.has(registry.toLowerCase()) ? "registry-1.docker.io" : registry}`;
}

/** A user name and password (or token) for one registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
  /** Where they came from (never their value), for messages. */
  readonly from: string;
}

/** The key a registry is matched under: lowercase host[:port], Docker Hub's names folded. */
function registryKey(raw: string): string {
  const host = raw
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return DOCKER_HUB.has(host) ? "docker.io" : host;
}

/**
 * Parses `MODELGATE_OCI_AUTH`: one entry per line, `<registry>=<user>:<password>` (the registry
 * as in the reference, `host[:port]`); blank lines and `#` comments are ignored.
 * @param text - the variable's value
 * @returns credentials by registry key
 * @throws ModelgateError `INVALID_ARGUMENT` naming the bad line (never its value)
 */
export function parseOciAuthEnv(text: string | undefined): Map<string, RegistryCredentials> {
  const out = new Map<string, RegistryCredentials>();
  if (text === undefined) return out;
  text.split(/\r?\n/).forEach((line, i) => {
    const entry = line.trim();
    if (entry === "" || entry.startsWith("#")) return;
    const eq = entry.indexOf("=");
    const colon = entry.indexOf(":", eq + 1);
    if (eq <= 0 || colon < 0) {
      throw new ModelgateError(
        "INVALID_ARGUMENT",
        `MODELGATE_OCI_AUTH line ${i + 1}: expected <registry>=<user>:<password>`,
      );
    }
    const username = entry.slice(eq + 1, colon);
    const password = entry.slice(colon + 1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
    if (/[\u0000-\u001f\u007f]/.test(username + password)) {
      throw new ModelgateError(
        "INVALID_ARGUMENT",
        `MODELGATE_OCI_AUTH line ${i + 1}: control character in the credentials`,
      );
    }
    out.set(registryKey(entry.slice(0, eq)), { username, password, from: "MODELGATE_OCI_AUTH" });
  });
  return out;
}

/**
 * The credentials for a registry: `MODELGATE_OCI_AUTH` first, else the `auths` entry of the docker
 * `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; its `auth` field
 * `base64(user:password)` or `username`/`password`). Credential helpers (`credsStore`,
 * `credHelpers`) and `identitytoken` are not used.
 * @param registry - `host[:port]` of the reference
 * @param env - environment (default `process.env`)
 * @param dockerConfig - path of a docker `config.json` to read instead
 */
export async function resolveCredentials(
  registry: string,
  env: OciEnv = process.env,
  dockerConfig?: string,
): Promise<RegistryCredentials | undefined> {
  const key = registryKey(registry);
  const fromEnv = parseOciAuthEnv(env.MODELGATE_OCI_AUTH).get(key);
  if (fromEnv !== undefined) return fromEnv;
  const home = env.HOME ?? homedir();
  const path = dockerConfig ?? join(env.DOCKER_CONFIG ?? join(home, ".docker"), "config.json");
  let text: string;
  try {
    // No link, FIFO or other user's file: the project's one reader for files we trust.
    text = (await readTrustedFile(path, { maxBytes: 1 << 20, what: "docker config" })).bytes.toString("utf8");
  } catch {
    return undefined; // absent, too large, or not safely ours: its credentials are not used
  }
  let auths: unknown;
  try {
    auths = (JSON.parse(text) as { auths?: unknown }).auths;
  } catch {
    throw new ModelgateError("INVALID_ARGUMENT", `${path} is not JSON`);
  }
  if (auths === null || typeof auths !== "object") return undefined;
  for (const [name, value] of Object.entries(auths as Record<string, unknown>)) {
    if (registryKey(name) !== key || value === null || typeof value !== "object") continue;
    const v = value as { auth?: unknown; username?: unknown; password?: unknown };
    if (typeof v.auth === "string" && v.auth !== "") {
      const decoded = Buffer.from(v.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from: path };
    }
    if (typeof v.username === "string" && typeof v.password === "string") {
      return { username: v.username, password: v.password, from: path };
    }
  }
  return undefined;
}
