/**
 * Which remote targets a service client may ask for. A remote target makes the server fetch with
 * its own network position and credentials (S3 keys, registry tokens, `HF_TOKEN`), and a report
 * quotes what it read: left open, a client could make the server read internal HTTP services or
 * any bucket its credentials reach. The operator names what may be fetched, as URI prefixes
 * (`serve --allow-remote`), matched by scheme, exact authority and whole path segments; `hf://`
 * alone is allowed by default (the operator's `HF_ENDPOINT`).
 * @module
 */

/** One allowed prefix, parsed. */
export interface RemotePrefix {
  readonly scheme: string;
  /** Lower-case authority (`host[:port]`, an S3 bucket, `hf` has none: the repo path follows). */
  readonly authority: string;
  /** Path segments that must open the target's path (possibly none). */
  readonly segments: readonly string[];
  /** As given. */
  readonly text: string;
}

/** The default: Hub repositories, through the operator's Hub endpoint. */
export const DEFAULT_REMOTE_PREFIXES: readonly string[] = ["hf://"];

const SCHEMES = new Set(["hf", "https", "http", "s3", "oci"]);

/** Splits `scheme://authority/path` (no query or fragment kept). */
function split(uri: string): { scheme: string; authority: string; segments: string[] } | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/i.exec(uri);
  if (m === null) return undefined;
  const scheme = (m[1] ?? "").toLowerCase();
  const segments = (m[3] ?? "").split("/").filter((s) => s !== "");
  return { scheme, authority: (m[2] ?? "").toLowerCase(), segments };
}

/**
 * Parses an operator's prefix (`hf://`, `hf://org`, `https://models.example.com/pub`,
 * `s3://bucket/prefix`, `oci://registry.example.com/team`).
 * @throws Error naming what is wrong
 */
export function parseRemotePrefix(text: string): RemotePrefix {
  const parts = split(text);
  if (parts === undefined || !SCHEMES.has(parts.scheme)) {
    throw new Error(
      `--allow-remote ${text}: expected hf://, https://, http://, s3:// or oci:// and an optional prefix`,
    );
  }
  if (parts.scheme !== "hf" && parts.authority === "") {
    throw new Error(`--allow-remote ${text}: name the host (or bucket) it allows`);
  }
  if (parts.segments.some((s) => s === "." || s === "..")) {
    throw new Error(`--allow-remote ${text}: no . or .. segments`);
  }
  return { scheme: parts.scheme, authority: parts.authority, segments: parts.segments, text };
}

/**
 * Whether a remote target lies under one of the prefixes: same scheme, the same authority, and
 * the prefix's path segments opening the target's (`https://a.example/pub` allows
 * `https://a.example/pub/m.bin`, not `https://a.example/public` nor `https://a.example.evil/pub`).
 * A target with `.` or `..` segments never matches.
 */
export function remoteAllowed(target: string, prefixes: readonly RemotePrefix[]): boolean {
  const t = split(target);
  if (t === undefined || t.segments.some((s) => s === "." || s === ".." || /%2e|%2f|%5c/i.test(s))) return false;
  // hf:// has no host: the first path segments are the repository (`hf://org/name`)
  const tSegments = t.scheme === "hf" ? [t.authority, ...t.segments].filter((s) => s !== "") : t.segments;
  return prefixes.some((p) => {
    if (p.scheme !== t.scheme) return false;
    const pSegments = p.scheme === "hf" ? [p.authority, ...p.segments].filter((s) => s !== "") : p.segments;
    if (p.scheme !== "hf" && p.authority !== t.authority) return false;
    return pSegments.every((s, i) => tSegments[i] === s);
  });
}
