/**
 * The OCI distribution API as modelgate speaks it: `/v2/` ping, token authentication from a
 * `WWW-Authenticate` challenge, bounded manifest reads, checked blob ranges. Everything goes
 * through the shared remote transport (retries, per-request deadline, redirects that drop
 * credentials when they leave the registry's origin).
 * @module
 */
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { STREAM_RESERVE } from "../http/range-reader.js";
import {
  type HubRequest,
  type HubResponse,
  type HubTransport,
  pipeExactBody,
  type RequestContext,
  readBody,
  readExactChunks,
  type TransferStats,
} from "../http/transport.js";
import { isLoopback, MANIFEST_TYPES, type RegistryCredentials, registryBase } from "./config.js";

/** How a registry client is set up. */
export interface RegistryClientOptions {
  /** `host[:port]`. */
  readonly registry: string;
  /** Repository path. */
  readonly repository: string;
  /** The shared transport. */
  readonly transport: HubTransport;
  /** Credentials for this registry (sent to it and to the token service it names, nowhere else). */
  readonly credentials?: RegistryCredentials | undefined;
  /** Accept plain HTTP for a registry that is not on loopback (https is tried first). */
  readonly allowHttp?: boolean | undefined;
  /** Token scope actions (default `pull`). */
  readonly actions?: string;
  /** Aborts every request. */
  readonly signal: AbortSignal;
  /** Counters. */
  readonly stats?: TransferStats;
}

/** A manifest as served. */
export interface ServedManifest {
  readonly bytes: Uint8Array;
  /** `Content-Type` of the response. */
  readonly contentType: string;
  /** `Docker-Content-Digest` of the response, when sent. */
  readonly digestHeader?: string;
}

type MutableContext = { -readonly [K in keyof RequestContext]: RequestContext[K] };

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;
const MAX_TOKEN_RESPONSE = 64 << 10;

/**
 * Parses a `WWW-Authenticate` challenge (`Bearer realm="…",service="…",scope="…"`).
 * @param header - the header
 */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (m === null) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2] ?? "";
  re.lastIndex = 0;
  for (let p = re.exec(rest); p !== null && p[0] !== ""; p = re.exec(rest)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** Distribution API calls against one repository of one registry. */
export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  readonly stats: TransferStats;
  #base: string;
  readonly #transport: HubTransport;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #allowHttp: boolean;
  readonly #actions: string;
  readonly #ctx: MutableContext;

  /** @param options - registry, repository, transport, credentials */
  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.repository = options.repository;
    this.#transport = options.transport;
    this.#credentials = options.credentials;
    this.#allowHttp = options.allowHttp === true;
    this.#actions = options.actions ?? "pull";
    this.#base = registryBase(options.registry, isLoopback(options.registry) ? "http" : "https");
    this.stats = options.stats ?? { requests: 0, bytes: 0 };
    this.#ctx = { origin: new URL(this.#base).origin, signal: options.signal, stats: this.stats };
  }

  /** The registry's base URL (`https://host[:port]`). */
  get base(): string {
    return this.#base;
  }

  /** Replaces the abort signal (the scan's). */
  set signal(signal: AbortSignal) {
    this.#ctx.signal = signal;
  }

  /**
   * `GET /v2/`: checks that the registry speaks the distribution API (and, with `allowHttp`,
   * falls back to plain HTTP when HTTPS cannot connect). A 401 is fine: it tells how to log in.
   */
  async ping(): Promise<void> {
    try {
      await this.#ping();
    } catch (error) {
      const e = toModelgateError(error);
      if (!this.#allowHttp || !this.#base.startsWith("https:") || e.code !== "NETWORK" || this.#ctx.signal.aborted)
        throw e;
      this.#base = registryBase(this.registry, "http");
      this.#ctx.origin = new URL(this.#base).origin;
      await this.#ping();
    }
  }

  async #ping(): Promise<void> {
    await this.send({ url: `${this.#base}/v2/` }, async ({ response }) => {
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) throw statusError(response.status, `${this.registry}: the /v2/ endpoint`);
    });
  }

  /**
   * Fetches a manifest or index by tag or digest.
   * @param reference - tag or `sha256:` digest
   * @param maxBytes - largest body accepted
   * @throws ModelgateError `INVALID_ARGUMENT` (404), `NETWORK`, `BUDGET_EXCEEDED`
   */
  manifest(reference: string, maxBytes: number): Promise<ServedManifest> {
    const url = `${this.#base}/v2/${this.repository}/manifests/${encodeURIComponent(reference)}`;
    return this.send(
      { url, headers: { accept: MANIFEST_TYPES.join(", ") }, reserve: Math.min(maxBytes, 1 << 20) },
      async ({ response }) => {
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined);
          throw statusError(response.status, `manifest ${this.repository}:${reference.slice(0, 80)}`);
        }
        const declared = Number(response.headers.get("content-length") ?? Number.NaN);
        if (Number.isFinite(declared) && declared > maxBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw manifestTooLarge(maxBytes);
        }
        const bytes = await readBody(response, maxBytes, this.stats).catch((error: unknown) => {
          throw toModelgateError(error).code === "BUDGET_EXCEEDED" ? manifestTooLarge(maxBytes) : error;
        });
        const digestHeader = response.headers.get("docker-content-digest")?.trim();
        return {
          bytes,
          contentType: response.headers.get("content-type") ?? "",
          ...(digestHeader === undefined || digestHeader === "" ? {} : { digestHeader }),
        };
      },
    );
  }

  /**
   * Fetches `[start, end)` of a blob, checked against the descriptor's size. A registry that ignores
   * `Range` answers 200: the whole blob is returned (when it is at most `maxWhole` bytes).
   * @param digest - the blob's digest
   * @param size - its size per the descriptor
   * @param start - first byte
   * @param end - one past the last byte
   * @param options - abort signal, counters, largest whole blob accepted; `begin`, to stream a
   *   ranged answer's body to the sink it gives (called per attempt with the attempt's signal)
   *   instead of returning it
   * @returns the range as the body's chunks (none when streamed), or the whole blob (`whole: true`)
   */
  blobRange(
    digest: string,
    size: number,
    start: number,
    end: number,
    options: {
      signal: AbortSignal;
      stats: TransferStats;
      maxWhole: number;
      begin?: (attempt: AbortSignal) => Promise<(chunk: Uint8Array) => void>;
    },
  ): Promise<{ chunks: Uint8Array[]; whole: boolean }> {
    const url = `${this.#base}/v2/${this.repository}/blobs/${digest}`;
    const ctx: MutableContext = { ...this.#ctx, signal: options.signal, stats: options.stats };
    return this.send(
      {
        url,
        headers: { range: `bytes=${start}-${end - 1}`, "accept-encoding": "identity" },
        reserve: options.begin === undefined ? end - start : Math.min(end - start, STREAM_RESERVE),
      },
      async ({ response, redirects, signal }) => {
        const cancel = () => response.body?.cancel().catch(() => undefined);
        if (!response.ok) {
          await cancel();
          throw statusError(response.status, `blob ${digest.slice(0, 19)}…`);
        }
        for (const headers of [...redirects, response.headers]) {
          const announced = headers.get("docker-content-digest")?.trim();
          if (announced !== undefined && announced !== "" && announced !== digest) {
            await cancel();
            throw new ModelgateError("MALFORMED", `the registry serves blob ${digest} as ${announced.slice(0, 80)}`);
          }
        }
        const encoding = response.headers.get("content-encoding");
        if (encoding !== null && encoding !== "identity") {
          await cancel();
          throw new ModelgateError("NETWORK", `blob response is ${encoding}-encoded; byte offsets would be wrong`);
        }
        if (response.status === 200) {
          if (size > options.maxWhole) {
            await cancel();
            throw new ModelgateError(
              "NETWORK",
              `the registry ignores Range requests and the blob (${size} bytes) is larger than ${options.maxWhole} bytes`,
            );
          }
          const whole = await readBody(response, size, ctx.stats).catch((error: unknown) => {
            throw toModelgateError(error).code === "BUDGET_EXCEEDED"
              ? sizeMismatch(digest, size, `more than ${size}`)
              : error;
          });
          if (whole.length !== size) throw sizeMismatch(digest, size, String(whole.length));
          return { chunks: [whole], whole: true };
        }
        if (response.status !== 206) {
          await cancel();
          throw new ModelgateError("NETWORK", `unexpected HTTP ${response.status} to a blob range request`);
        }
        const m = CONTENT_RANGE.exec(response.headers.get("content-range") ?? "");
        if (m === null) {
          await cancel();
          throw new ModelgateError("NETWORK", "206 response without a valid Content-Range");
        }
        if (m[3] !== "*" && Number(m[3]) !== size) {
          await cancel();
          throw sizeMismatch(digest, size, m[3]!);
        }
        if (Number(m[1]) !== start || Number(m[2]) !== end - 1) {
          await cancel();
          throw new ModelgateError("NETWORK", `asked for bytes ${start}-${end - 1} of a blob, got ${m[1]}-${m[2]}`);
        }
        const { begin } = options;
        if (begin === undefined)
          return { chunks: await readExactChunks(response, end - start, ctx.stats), whole: false };
        await pipeExactBody(response, end - start, ctx.stats, () => begin(signal));
        return { chunks: [], whole: false };
      },
      ctx,
    );
  }

  /**
   * Sends a request to the registry; on a first 401 answers its challenge (a bearer token from the
   * token service, or Basic credentials) and sends it again.
   * @param request - the request
   * @param handle - reads the response
   * @param ctx - the request context (default the client's)
   */
  async send<T>(
    request: HubRequest,
    handle: (r: HubResponse) => Promise<T>,
    ctx: RequestContext = this.#ctx,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const context: RequestContext = { ...ctx, token: this.#ctx.token, headers: this.#ctx.headers };
      const result = await this.#transport.send(request, context, async (r) => {
        if (r.response.status === 401 && attempt === 0 && r.url.startsWith(`${this.#ctx.origin}/`)) {
          const challenge = r.response.headers.get("www-authenticate") ?? "";
          await r.response.body?.cancel().catch(() => undefined);
          return { challenge };
        }
        return { value: await handle(r) };
      });
      if ("value" in result) return result.value;
      await this.#authenticate(result.challenge, ctx.signal);
    }
  }

  async #authenticate(header: string, signal: AbortSignal): Promise<void> {
    const challenge = parseChallenge(header);
    const hint = this.#credentials === undefined ? " (set MODELGATE_OCI_AUTH or log in with docker login)" : "";
    if (challenge === undefined)
      throw new ModelgateError("NETWORK", `${this.registry} asks for authentication without a usable challenge${hint}`);
    if (challenge.scheme === "basic") {
      if (this.#credentials === undefined)
        throw new ModelgateError("NETWORK", `${this.registry} requires credentials${hint}`);
      this.#ctx.headers = { authorization: basic(this.#credentials) };
      return;
    }
    if (challenge.scheme !== "bearer")
      throw new ModelgateError(
        "NETWORK",
        `${this.registry} asks for ${challenge.scheme} authentication, which is not supported`,
      );
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? "");
    } catch {
      throw new ModelgateError("NETWORK", `${this.registry}: the token service is not a URL`);
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && (isLoopback(url.host) || this.#allowHttp))) {
      throw new ModelgateError("NETWORK", `${this.registry}: refusing a token service over plain HTTP (${url.origin})`);
    }
    if (challenge.params.service !== undefined) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set("scope", `repository:${this.repository}:${this.#actions}`);
    // The credentials of this registry go to the token service it names (that is the protocol), and
    // only to that origin: the transport drops them on a redirect elsewhere.
    const tokenCtx: RequestContext = {
      origin: url.origin,
      ...(this.#credentials === undefined ? {} : { headers: { authorization: basic(this.#credentials) } }),
      signal,
      stats: this.stats,
    };
    const token = await this.#transport.send(
      { url: url.href, headers: { accept: "application/json" } },
      tokenCtx,
      async ({ response }) => {
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined);
          throw new ModelgateError(
            "NETWORK",
            `${this.registry}: the token service refused (HTTP ${response.status})${hint}`,
          );
        }
        const body = await readBody(response, MAX_TOKEN_RESPONSE, this.stats);
        let json: { token?: unknown; access_token?: unknown };
        try {
          json = JSON.parse(new TextDecoder().decode(body)) as typeof json;
        } catch {
          throw new ModelgateError(
            "NETWORK",
            `${this.registry}: the token service answered with something else than JSON`,
          );
        }
        const t = typeof json?.token === "string" ? json.token : json?.access_token;
        if (typeof t !== "string" || t === "" || t.length > 16_384 || !/^[\x21-\x7e]+$/.test(t)) {
          throw new ModelgateError("NETWORK", `${this.registry}: the token service returned no usable token`);
        }
        return t;
      },
    );
    this.#ctx.token = token;
    this.#ctx.headers = undefined;
  }
}

const basic = (c: RegistryCredentials): string =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

const manifestTooLarge = (max: number) =>
  new ModelgateError("BUDGET_EXCEEDED", `manifest larger than ${max} bytes`, { budget: "oci.maxManifestBytes" });

/** A blob served with another size than its descriptor's: `NETWORK`, with `servedSize` set. */
const sizeMismatch = (digest: string, expected: number, actual: string) =>
  Object.assign(
    new ModelgateError("NETWORK", `blob ${digest} is ${actual} bytes as served; its descriptor says ${expected}`),
    {
      servedSize: actual,
    },
  );

/** A typed error for a failed status. */
function statusError(status: number, what: string): ModelgateError {
  if (status === 401 || status === 403) {
    return new ModelgateError(
      "NETWORK",
      `${what}: HTTP ${status}, access denied (set MODELGATE_OCI_AUTH or log in with docker login)`,
    );
  }
  if (status === 404) return new ModelgateError("INVALID_ARGUMENT", `${what}: not found (HTTP 404)`);
  return new ModelgateError("NETWORK", `${what}: HTTP ${status}`);
}
