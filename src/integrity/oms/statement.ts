/**
 * The in-toto statement of an OMS signature and the manifest it carries: payload, statement and
 * predicate types, the one subject and its root digest, serialization parameters and resources.
 * @module
 */
import { createHash } from "node:crypto";
import { parsePlainJson } from "../../core/json.js";
import type { HashAlgorithm } from "../hash/core.js";
import { isSafeRelativePath } from "../pins/pins.js";
import { compareCodePoints } from "../walk.js";
import { IN_TOTO_PAYLOAD_TYPE, OmsError } from "./bundle.js";

/** in-toto Statement v1. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** The OMS v1.0 predicate type (the only one modelgate writes). */
export const PREDICATE_TYPE_V1 = "https://model_signing/signature/v1.0";
/** The predicate type of model_signing 0.2 (verification only). */
export const PREDICATE_TYPE_LEGACY = "https://model_signing/Digests/v0.1";
/** Default shard size of the reference implementation. */
export const DEFAULT_SHARD_SIZE = 1_000_000_000;
/** Largest number of resources accepted in one manifest. */
export const MAX_RESOURCES = 1_000_000;

const DIGEST_HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, blake2b: 128, blake3: 64 };

/**
 * JSON budgets of a statement (the DSSE payload, parsed before its signature is checked when a
 * scan has no trust material): an OMS statement is 6 levels deep, and a manifest of several
 * hundred thousand resources fits in 128 MiB of parsed tree; a hostile payload stops there
 * instead of costing gigabytes.
 */
export const STATEMENT_JSON = { maxDepth: 32, maxTreeBytes: 128 << 20 } as const;

/** One signed resource: a whole file, or a shard `[start, end)` of one. */
export interface ManifestResource {
  /** Name as signed (`path` or `path:start:end`). */
  readonly name: string;
  /** File path relative to the model root (`.` for the reference implementation's single-file name). */
  readonly path: string;
  /** Shard start (shards serialization). */
  readonly start?: number;
  /** Shard end, exclusive (shards serialization). */
  readonly end?: number;
  /** Lowercase hex digest. */
  readonly digest: string;
  /** Algorithm as recorded. */
  readonly algorithm: string;
}

/** What a signature says the model is. */
export interface Manifest {
  /** The predicate type. */
  readonly predicateType: string;
  /** The model_signing 0.2 format. */
  readonly legacy: boolean;
  /** The subject's name (informational). */
  readonly subjectName: string;
  /** Root digest (absent in the legacy format). */
  readonly rootDigest?: string;
  /** Serialization method. */
  readonly method: "files" | "shards";
  /** Hash of every resource. */
  readonly hashType: HashAlgorithm;
  /** Whether symbolic links were followed when signing. */
  readonly allowSymlinks: boolean;
  /** Shard size (shards). */
  readonly shardSize?: number;
  /** Ignore paths recorded by the signer. */
  readonly ignorePaths: readonly string[];
  /** Resources sorted by name. */
  readonly resources: readonly ManifestResource[];
  /** Accepted oddities. */
  readonly warnings: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const fail = (message: string): never => {
  throw new OmsError("statement", message);
};

/**
 * SHA-256 over the concatenated raw digests, in the given order.
 * @param digests - hex digests
 */
export function rootDigestOf(digests: readonly string[]): string {
  const hash = createHash("sha256");
  for (const d of digests) hash.update(Buffer.from(d, "hex"));
  return hash.digest("hex");
}

function parseShardName(name: string): { path: string; start: number; end: number } {
  const last = name.lastIndexOf(":");
  const middle = last > 0 ? name.lastIndexOf(":", last - 1) : -1;
  if (middle <= 0) fail(`shard resource ${JSON.stringify(name)} is not path:start:end`);
  const start = name.slice(middle + 1, last);
  const end = name.slice(last + 1);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(start) || !/^(0|[1-9][0-9]{0,15})$/.test(end)) {
    fail(`shard resource ${JSON.stringify(name)} has a malformed range`);
  }
  return { path: name.slice(0, middle), start: Number(start), end: Number(end) };
}

function checkDigest(value: unknown, hashType: HashAlgorithm, what: string, warnings: string[]): string {
  if (typeof value !== "string") return fail(`${what} has no digest`);
  const lower = value.toLowerCase();
  if (!/^[0-9a-f]+$/.test(lower) || lower.length !== DIGEST_HEX_LENGTH[hashType]) {
    fail(`${what} digest is not a ${hashType} hex digest`);
  }
  if (lower !== value) warnings.push(`${what} digest is upper-case hex`);
  return lower;
}

/** Options of {@link parseStatement}. */
export interface ParseStatementOptions {
  /** Accept model_signing 0.2's `Digests/v0.1` predicate (default true). */
  allowLegacy?: boolean;
}

/**
 * Parses and checks the DSSE payload of an OMS signature.
 * @param payloadType - DSSE payload type
 * @param payload - decoded payload bytes
 * @param options - legacy acceptance
 * @throws OmsError at stage `statement`
 */
export function parseStatement(
  payloadType: string,
  payload: Uint8Array,
  options: ParseStatementOptions = {},
): Manifest {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    fail(`DSSE payload type is ${JSON.stringify(payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  let parsed: { readonly value: unknown; readonly duplicates: readonly unknown[] } | undefined;
  try {
    parsed = parsePlainJson(new TextDecoder("utf-8", { fatal: true }).decode(payload), STATEMENT_JSON);
  } catch {
    fail(
      `DSSE payload is not JSON within the budgets (UTF-8, depth ${STATEMENT_JSON.maxDepth}, ${STATEMENT_JSON.maxTreeBytes >> 20} MiB parsed)`,
    );
  }
  if (parsed === undefined) return fail("DSSE payload is not JSON");
  // Two parsers could read different statements from repeated keys: refused.
  if (parsed.duplicates.length > 0) fail("statement repeats a JSON key");
  const statement = parsed.value;
  if (!isObject(statement)) return fail("statement is not a JSON object");
  if (statement._type !== STATEMENT_TYPE)
    fail(`statement type is ${JSON.stringify(statement._type)}, not ${STATEMENT_TYPE}`);
  const predicateType = statement.predicateType;
  if (typeof predicateType !== "string") return fail("statement has no predicateType");
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) return fail("statement has no subject");
  if (predicateType === PREDICATE_TYPE_LEGACY) {
    if (options.allowLegacy === false) fail("legacy predicate https://model_signing/Digests/v0.1 is not accepted");
    return parseLegacy(subjects);
  }
  if (!/^https:\/\/model_signing\/signature\/v1\.[0-9]+$/.test(predicateType)) {
    fail(`unsupported predicate type ${JSON.stringify(predicateType)} (expected ${PREDICATE_TYPE_V1})`);
  }
  const warnings: string[] = [];
  if (subjects.length !== 1) fail(`statement has ${subjects.length} subjects; OMS requires exactly one`);
  const subject: unknown = subjects[0];
  if (!isObject(subject) || !isObject(subject.digest)) return fail("subject has no digest");
  const rootDigest = subject.digest.sha256;
  if (typeof rootDigest !== "string" || !/^[0-9a-f]{64}$/.test(rootDigest))
    fail("subject has no lowercase sha256 digest");
  const subjectName = typeof subject.name === "string" ? subject.name : "";

  const predicate = statement.predicate;
  if (!isObject(predicate)) return fail("statement has no predicate");
  const extra = Object.keys(predicate).filter((k) => k !== "resources" && k !== "serialization");
  if (extra.length > 0) warnings.push(`predicate has unknown fields: ${extra.join(", ")}`);
  const serialization = predicate.serialization;
  if (!isObject(serialization)) return fail("predicate has no serialization");
  const method = serialization.method;
  if (method !== "files" && method !== "shards") return fail(`unknown serialization method ${JSON.stringify(method)}`);
  const hashType = serialization.hash_type;
  if (hashType !== "sha256" && hashType !== "blake2b" && hashType !== "blake3") {
    return fail(`unknown hash type ${JSON.stringify(hashType)}`);
  }
  let allowSymlinks = false;
  if (typeof serialization.allow_symlinks === "boolean") allowSymlinks = serialization.allow_symlinks;
  else if (serialization.allow_symlinks !== undefined) fail("serialization.allow_symlinks is not a boolean");
  else warnings.push("serialization.allow_symlinks is missing (taken as false)");
  const ignoreRaw = serialization.ignore_paths;
  if (ignoreRaw !== undefined && (!Array.isArray(ignoreRaw) || !ignoreRaw.every((p) => typeof p === "string"))) {
    fail("serialization.ignore_paths is not a list of strings");
  }
  const ignorePaths = (ignoreRaw as string[] | undefined) ?? [];
  let shardSize: number | undefined;
  if (method === "shards") {
    const raw = serialization.shard_size;
    if (raw !== undefined) {
      if (typeof raw !== "number" || !Number.isSafeInteger(raw) || raw <= 0)
        fail("serialization.shard_size is not a positive integer");
      shardSize = raw as number;
      if (typeof raw === "number" && !Number.isInteger(raw)) warnings.push("shard_size is a float");
    }
  }

  const resourcesRaw = predicate.resources;
  if (!Array.isArray(resourcesRaw)) return fail("predicate has no resources list");
  if (resourcesRaw.length === 0) fail("signed empty manifest: the predicate lists no resources");
  if (resourcesRaw.length > MAX_RESOURCES) fail(`manifest lists more than ${MAX_RESOURCES} resources`);
  const shardedAlgorithm = new RegExp(`^${hashType}-sharded-([1-9][0-9]*)$`);
  const names = new Set<string>();
  const resources: ManifestResource[] = [];
  for (const item of resourcesRaw as unknown[]) {
    if (!isObject(item) || typeof item.name !== "string") return fail("a resource has no name");
    const name = item.name;
    if (names.has(name)) fail(`resource ${JSON.stringify(name)} is listed twice`);
    names.add(name);
    const algorithm = item.algorithm;
    if (typeof algorithm !== "string") return fail(`resource ${JSON.stringify(name)} has no algorithm`);
    const digest = checkDigest(item.digest, hashType, `resource ${JSON.stringify(name)}`, warnings);
    if (method === "files") {
      if (algorithm !== hashType)
        fail(`resource ${JSON.stringify(name)} uses ${algorithm}, not the recorded ${hashType}`);
      if (name !== "." && !isSafeRelativePath(name)) {
        fail(`resource name ${JSON.stringify(name)} is absolute, contains '..' or is not a normalised relative path`);
      }
      resources.push({ name, path: name, digest, algorithm });
      continue;
    }
    const sharded = shardedAlgorithm.exec(algorithm);
    if (algorithm !== hashType && sharded === null) {
      fail(`resource ${JSON.stringify(name)} uses ${algorithm}, not the recorded ${hashType}`);
    }
    if (sharded !== null) {
      const size = Number(sharded[1]);
      if (shardSize === undefined) shardSize = size;
      else if (size !== shardSize) fail(`resource ${JSON.stringify(name)} names shard size ${size}, not ${shardSize}`);
    }
    const shard = parseShardName(name);
    if (shard.path !== "." && !isSafeRelativePath(shard.path)) {
      fail(`resource name ${JSON.stringify(name)} is absolute, contains '..' or is not a normalised relative path`);
    }
    if (shard.end <= shard.start) fail(`shard ${JSON.stringify(name)} is empty or reversed`);
    resources.push({ name, path: shard.path, start: shard.start, end: shard.end, digest, algorithm });
  }
  if (method === "shards") {
    if (shardSize === undefined) {
      shardSize = DEFAULT_SHARD_SIZE;
      warnings.push(`no shard size recorded: assuming ${DEFAULT_SHARD_SIZE}`);
    }
    for (const r of resources) {
      if ((r.start ?? 0) % shardSize !== 0 || (r.end ?? 0) - (r.start ?? 0) > shardSize) {
        fail(`shard ${JSON.stringify(r.name)} does not fit shard size ${shardSize}`);
      }
    }
  }
  if (resources.some((r) => r.path === ".") && !resources.every((r) => r.path === ".")) {
    fail('resource "." is only valid as the name of a single-file model');
  }
  const canonical = [...resources].sort((a, b) => compareCodePoints(a.name, b.name));
  if (rootDigestOf(canonical.map((r) => r.digest)) !== rootDigest) {
    const byRange = [...resources].sort((a, b) => compareCodePoints(a.path, b.path) || (a.start ?? 0) - (b.start ?? 0));
    const alternatives = [byRange, resources];
    if (alternatives.some((order) => rootDigestOf(order.map((r) => r.digest)) === rootDigest)) {
      warnings.push("root digest computed over resources in a non-canonical order");
    } else {
      fail("root digest does not match the resources (manifest is inconsistent)");
    }
  }
  return {
    predicateType,
    legacy: false,
    subjectName,
    rootDigest: rootDigest as string,
    method,
    hashType,
    allowSymlinks,
    ...(shardSize === undefined ? {} : { shardSize }),
    ignorePaths,
    resources: canonical,
    warnings,
  };
}

function parseLegacy(subjects: unknown[]): Manifest {
  const warnings = ["legacy model_signing 0.2 signature (predicate https://model_signing/Digests/v0.1)"];
  const resources: ManifestResource[] = [];
  const names = new Set<string>();
  if (subjects.length > MAX_RESOURCES) fail(`manifest lists more than ${MAX_RESOURCES} resources`);
  for (const subject of subjects) {
    if (!isObject(subject) || typeof subject.name !== "string" || !isObject(subject.digest)) {
      return fail("legacy subject has no name or digest");
    }
    const name = subject.name;
    const annotations = isObject(subject.annotations) ? subject.annotations : {};
    const kind = annotations.actual_hash_algorithm;
    if (kind !== "file-sha256") fail(`unsupported legacy hash ${JSON.stringify(kind)} (only file-sha256)`);
    if (name !== "." && !isSafeRelativePath(name)) fail(`resource name ${JSON.stringify(name)} is not safe`);
    if (names.has(name)) fail(`resource ${JSON.stringify(name)} is listed twice`);
    names.add(name);
    const digest = checkDigest(subject.digest.sha256, "sha256", `subject ${JSON.stringify(name)}`, warnings);
    resources.push({ name, path: name, digest, algorithm: "sha256" });
  }
  return {
    predicateType: PREDICATE_TYPE_LEGACY,
    legacy: true,
    subjectName: "",
    method: "files",
    hashType: "sha256",
    allowSymlinks: false,
    ignorePaths: [],
    resources: resources.sort((a, b) => compareCodePoints(a.name, b.name)),
    warnings,
  };
}
