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
  // What the fetch parses (WHATWG URL) turns `\` into `/` and drops tabs and line breaks: such a
  // target would be checked as one path and fetched as another, so it never matches.
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return false;
  }
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

// ---------------------------------------------------------------------------------------------
// Redirect hops. The prefixes above check the target a client submits; a server answering for
// that target may still redirect the fetch elsewhere (an internal service, a metadata endpoint).
// The transport asks {@link hopCheck} before every request, each redirect hop included.

/** IPv4 ranges no remote fetch of the service goes to unless the operator names the address. */
const INTERNAL_V4: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], // 0.0.0.0/8 "this network", unspecified
  [0x0a000000, 8], // 10/8 private
  [0x64400000, 10], // 100.64/10 shared (carrier NAT; some clouds' metadata)
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local (cloud metadata)
  [0xac100000, 12], // 172.16/12 private
  [0xc0a80000, 16], // 192.168/16 private
];

function v4Internal(n: number): boolean {
  return INTERNAL_V4.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
}

/** Dotted IPv4 (as URL.hostname normalises every IPv4 form to) to a number, or undefined. */
function parseV4(host: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** A bracketed IPv6 literal (URL.hostname form, compressed, lower case) to its 8 groups, or undefined. */
function parseV6(host: string): number[] | undefined {
  if (!host.startsWith("[") || !host.endsWith("]")) return undefined;
  const text = host.slice(1, -1);
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      const v4 = parseV4(g);
      if (v4 !== undefined) out.push(v4 >>> 16, v4 & 0xffff);
      else if (/^[0-9a-f]{1,4}$/.test(g)) out.push(Number.parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/**
 * Whether a URL host (`URL.hostname`) is `localhost` or an IP literal of a loopback, link-local,
 * private, shared or unspecified address (IPv4 embedded in IPv6 included). Host names that
 * resolve to such addresses are not seen here (no DNS lookup).
 * @param hostname - `URL.hostname`
 */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = parseV4(host);
  if (v4 !== undefined) return v4Internal(v4);
  const g = parseV6(host);
  if (g === undefined) return false;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8) || (zeros(0, 7) && g[7] === 1)) return true; // :: and ::1
  if ((g[0]! & 0xffc0) === 0xfe80 || (g[0]! & 0xffc0) === 0xfec0) return true; // link-local, site-local
  if ((g[0]! & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  const embedded = (hi: number, lo: number) => v4Internal(((hi << 16) | lo) >>> 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64)
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return embedded(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embedded(g[6]!, g[7]!);
  return false;
}

/** Whether an `http(s)://` prefix names this host (any port): the operator allowed that address. */
function namedByPrefix(url: URL, prefixes: readonly RemotePrefix[]): boolean {
  return prefixes.some((p) => {
    if (p.scheme !== "http" && p.scheme !== "https") return false;
    try {
      return new URL(`${p.scheme}://${p.authority}/`).hostname === url.hostname;
    } catch {
      return false;
    }
  });
}

/** What a job's fetches may reach besides the operator's prefixes. */
export interface HopScope {
  /** The job's target (`hf://`, `https://`, `oci://`). */
  readonly target: string;
  /** Origin of the operator's Hub endpoint (`HF_ENDPOINT`), for `hf://` targets. */
  readonly hubOrigin?: string | undefined;
}

/**
 * The URL check of one job's requests (its first request and every redirect hop):
 * - a URL under one of the operator's prefixes is allowed;
 * - `https://` targets: only the target's own origin besides (the operator named that URL: a
 *   redirect to a CDN elsewhere needs that CDN in `--allow-remote`);
 * - `hf://` and `oci://` targets: the Hub endpoint (the registry host) and any other host, since
 *   both hand files out through CDNs on other origins, except `localhost` and internal IP literals
 *   (loopback, link-local, private, unspecified) the operator's prefixes do not name.
 * @param scope - the target, and the Hub endpoint's origin
 * @param prefixes - the operator's prefixes
 * @returns the check: undefined when a URL may be fetched, else why not
 */
export function hopCheck(scope: HopScope, prefixes: readonly RemotePrefix[]): (url: URL) => string | undefined {
  const target = scope.target;
  const scheme = (/^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1] ?? "").toLowerCase();
  let own: string | undefined;
  let ownHost: string | undefined;
  try {
    if (scheme === "https" || scheme === "http") own = new URL(target).origin;
    else if (scheme === "hf") own = scope.hubOrigin;
    else if (scheme === "oci") ownHost = new URL(`https://${split(target)?.authority ?? ""}/`).host;
  } catch {
    // An unparsable target has no own origin: only the prefixes allow anything.
  }
  const list = prefixes.map((p) => p.text).join(", ") || "none";
  return (url) => {
    if (url.protocol !== "https:" && url.protocol !== "http:") return "not an http(s) URL";
    if (url.origin === own || url.host === ownHost) return undefined;
    if (remoteAllowed(url.href, prefixes)) return undefined;
    if (scheme === "https" || scheme === "http") {
      return `not the target's origin nor under an allowed prefix (--allow-remote: ${list})`;
    }
    if (isInternalHost(url.hostname) && !namedByPrefix(url, prefixes)) {
      return `an internal address the allowed prefixes do not name (--allow-remote: ${list})`;
    }
    return undefined;
  };
}
