/**
 * `https://` targets: the URL and its pinned digest (`#sha256=<hex>`), credentials from the
 * environment scoped to an origin (`MODELGATE_HTTP_HEADERS`), and URLs as reports show them
 * (credentials stripped).
 * @module
 */
import { ModelgateError } from "../../core/errors.js";

/** Environment variables a source reads. */
export type SourceEnv = Readonly<Record<string, string | undefined>>;

/** A URL target split into what is fetched and what is pinned. */
export interface ParsedUrl {
  /** The URL to fetch: no fragment, no user info. */
  readonly url: URL;
  /** `#sha256=<hex>`, lowercase. */
  readonly sha256?: string;
  /** `user:password@` of the URL, turned into a Basic `Authorization` header for its origin. */
  readonly basicAuth?: string;
}

const HEX64 = /^[0-9a-f]{64}$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers a credential entry may not set: they would change what is read or how. */
const RESERVED = new Set([
  "host",
  "range",
  "content-length",
  "transfer-encoding",
  "connection",
  "accept-encoding",
  "if-match",
  "if-none-match",
  "if-range",
  "if-modified-since",
  "if-unmodified-since",
  "te",
  "upgrade",
]);

/**
 * Parses an `https://` (or, with `allowHttp`, `http://`) target URL.
 * @param raw - the URL, optionally ending in `#sha256=<hex>`
 * @param allowHttp - accept plain `http://`
 * @throws ModelgateError `INVALID_ARGUMENT` for another scheme, plain HTTP without `allowHttp`, or
 *   a fragment other than `sha256=<64 hex>`
 */
export function parseTargetUrl(raw: string, allowHttp = false): ParsedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ModelgateError("INVALID_ARGUMENT", `not a URL: "${redactUrl(raw)}"`);
  }
  if (url.protocol === "http:" && !allowHttp) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `plain http:// is refused (the bytes could be altered in transit): use https://, or allow it explicitly (--allow-http) for ${redactUrl(raw)}`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ModelgateError("INVALID_ARGUMENT", `not an http(s) URL: "${redactUrl(raw)}"`);
  }
  let sha256: string | undefined;
  if (url.hash !== "") {
    const m = /^#sha256=([0-9a-fA-F]{64})$/.exec(url.hash);
    if (m === null) {
      throw new ModelgateError(
        "INVALID_ARGUMENT",
        `the only fragment a target URL may carry is #sha256=<64 hex digits>`,
      );
    }
    sha256 = m[1]!.toLowerCase();
  }
  let basicAuth: string | undefined;
  if (url.username !== "" || url.password !== "") {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    basicAuth = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  }
  const clean = new URL(url.href);
  clean.hash = "";
  clean.username = "";
  clean.password = "";
  return { url: clean, ...(sha256 === undefined ? {} : { sha256 }), ...(basicAuth === undefined ? {} : { basicAuth }) };
}

/** Query parameters whose values are credentials (signed URLs, API keys). */
const SECRET_PARAM = /sig|signature|token|key|credential|secret|auth|password|session/i;

/**
 * A URL as reports and error messages show it: no user info, no fragment, and the values of query
 * parameters that look like credentials (`X-Amz-Signature`, `token`, `sig` ...) replaced.
 * @param raw - any URL (an unparseable one is cut at its first `?`, `#` or `@`)
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const cut = raw.search(/[?#@]/);
    return cut < 0 ? raw.slice(0, 300) : `${raw.slice(0, Math.min(cut, 300))}…`;
  }
  url.username = "";
  url.password = "";
  url.hash = "";
  const params = [...url.searchParams.keys()];
  if (params.some((k) => SECRET_PARAM.test(k))) {
    const search = new URLSearchParams();
    for (const [k, v] of url.searchParams) search.append(k, SECRET_PARAM.test(k) ? "REDACTED" : v);
    url.search = search.toString();
  }
  return url.href;
}

/**
 * Parses `MODELGATE_HTTP_HEADERS`: one entry per line, `<origin>=<Header-Name>: <value>`, for
 * example `https://models.example.com=Authorization: Bearer abc`. Blank lines and lines starting
 * with `#` are ignored; an origin may have several headers. Each header is sent only to requests
 * whose origin (scheme, host, port) is exactly that origin: never after a redirect elsewhere.
 * @param text - the variable's value
 * @returns headers by origin
 * @throws ModelgateError `INVALID_ARGUMENT` naming the bad line (never its value)
 */
export function parseHeaderEnv(text: string | undefined): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  if (text === undefined) return out;
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const entry = line.trim();
    if (entry === "" || entry.startsWith("#")) return;
    const bad = (why: string) =>
      new ModelgateError(
        "INVALID_ARGUMENT",
        `MODELGATE_HTTP_HEADERS line ${i + 1}: ${why} (expected <origin>=<Name>: <value>)`,
      );
    const eq = entry.indexOf("=");
    if (eq < 0) throw bad("no '='");
    let origin: string;
    try {
      const u = new URL(entry.slice(0, eq).trim());
      if ((u.protocol !== "https:" && u.protocol !== "http:") || u.username !== "" || u.password !== "") {
        throw bad("the origin must be http(s)://host[:port]");
      }
      if ((u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "") {
        throw bad("an origin has no path, query or fragment");
      }
      origin = u.origin;
    } catch (error) {
      if (error instanceof ModelgateError) throw error;
      throw bad("the origin is not a URL");
    }
    const header = entry.slice(eq + 1);
    const colon = header.indexOf(":");
    if (colon < 0) throw bad("no ':' after the header name");
    const name = header.slice(0, colon).trim().toLowerCase();
    const value = header.slice(colon + 1).trim();
    if (!TOKEN.test(name)) throw bad("invalid header name");
    if (RESERVED.has(name)) throw bad(`header "${name}" may not be set`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) throw bad("control character in the value");
    const headers = out.get(origin) ?? {};
    headers[name] = value;
    out.set(origin, headers);
  });
  return out;
}

/**
 * Checks a SHA-256 given as a pin.
 * @param digest - hex digest
 * @param what - where it came from, for the message
 */
export function checkSha256(digest: string, what: string): string {
  if (!HEX64.test(digest)) throw new ModelgateError("INVALID_ARGUMENT", `${what}: not a SHA-256 (64 hex digits)`);
  return digest.toLowerCase();
}

/**
 * The name a remote object is listed under: the last segment of its path, decoded, with
 * characters a report path may not hold replaced (`download` when nothing is left).
 * @param pathname - URL path or object key
 */
export function objectName(pathname: string): string {
  const last =
    pathname
      .split("/")
      .filter((s) => s !== "")
      .pop() ?? "";
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  name = name.replace(/[\u0000-\u001f\u007f!\\/]/g, "_").slice(0, 255);
  return name === "" || name === "." || name === ".." ? "download" : name;
}
