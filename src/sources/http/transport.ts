/**
 * HTTP for remote sources (the Hub, `https://` URLs, S3): bounded connections and bytes in
 * flight, manual redirects (credentials never leave their origin), retries with backoff for
 * transient failures, per-request timeouts, abort, and byte accounting. An optional URL check is
 * consulted before every request, each redirect hop included, so a caller that may only fetch from
 * some places (the service's `--allow-remote`) is not led elsewhere by a redirect.
 * @module
 */
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { TOOL_NAME, TOOL_VERSION } from "../../core/version.js";
import { redactUrl } from "./config.js";

/** Options of a {@link HubTransport}. */
export interface HubTransportOptions {
  /** The fetch implementation (default the global one; pass undici's to tune its connection pool). */
  fetch?: typeof fetch;
  /** HTTP requests in flight at once, across every file and repository using this transport (default 8). */
  maxConnections?: number;
  /** Bytes of range responses in flight at once (default 128 MiB). */
  maxBytesInFlight?: number;
  /** Retries after a transient failure: network error, 408, 429, 5xx, truncated body (default 4). */
  retries?: number;
  /** First retry delay in milliseconds; doubles each time, with jitter (default 250). */
  retryBaseMs?: number;
  /** Longest wait before a retry, `Retry-After` included (default 60 000). */
  maxRetryDelayMs?: number;
  /** Time limit of one attempt, body included (default 60 000 ms). */
  requestTimeoutMs?: number;
  /** `User-Agent` header (default `modelgate/<version>`). */
  userAgent?: string;
  /**
   * Where requests may go: consulted before every request, the first and each redirect hop, with
   * the URL about to be fetched; a refused URL is never fetched (an `IO` error, not retried).
   */
  allowUrl?: UrlCheck | undefined;
}

/**
 * Whether a request may go to a URL: `undefined` when it may, else why not (shown in the error).
 * @param url - the URL about to be fetched
 */
export type UrlCheck = (url: URL) => string | undefined;

/** Counters of what a scan transferred. */
export interface TransferStats {
  /** HTTP requests sent, redirects and retries included. */
  requests: number;
  /** Response body bytes received. */
  bytes: number;
}

/**
 * Who a request is for: the origin credentials belong to (the only one they are sent to), the
 * credentials, abort and counters.
 */
export interface RequestContext {
  /** Origin the credentials belong to (`https://huggingface.co`). */
  readonly origin: string;
  /** Bearer token for that origin. */
  readonly token?: string | undefined;
  /**
   * Further headers for that origin only (`Authorization`, API keys): never sent to another
   * origin, so a redirect elsewhere drops them.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** How a URL is shown in error messages (default {@link redactUrl}: no credentials, no signed-query values). */
  readonly describe?: ((url: string) => string) | undefined;
  /** Aborts the request. */
  readonly signal: AbortSignal;
  /** Counters updated as bytes arrive. */
  readonly stats: TransferStats;
}

/** A request as {@link HubTransport.send} takes it. */
export interface HubRequest {
  /** Absolute URL. */
  url: string;
  /** Method (default GET). */
  method?: string;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** Body (JSON APIs). */
  body?: string;
  /** Bytes expected in the response, reserved against the bytes-in-flight budget. */
  reserve?: number;
}

/** The final response of a request after its redirects. */
export interface HubResponse {
  /** The response (its body not yet read). */
  readonly response: Response;
  /** URL that answered. */
  readonly url: string;
  /** Headers of the redirects on the way, first first. */
  readonly redirects: readonly Headers[];
  /** Ends this attempt: the scan's abort or the per-request timeout. */
  readonly signal: AbortSignal;
}

/** Thrown inside a response handler when the attempt may be retried (truncated body, reset). */
export class TransientError extends Error {
  override name = "TransientError";
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 8;

/** FIFO counting semaphore with abortable waits. */
class Semaphore {
  #free: number;
  readonly #capacity: number;
  readonly #waiters: Array<{ units: number; resolve: () => void }> = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#free = capacity;
  }

  async acquire(units: number, signal: AbortSignal): Promise<number> {
    const n = Math.min(Math.max(1, units), this.#capacity);
    if (this.#waiters.length === 0 && this.#free >= n) {
      this.#free -= n;
      return n;
    }
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        units: n,
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#drain();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
    return n;
  }

  release(units: number): void {
    this.#free += units;
    this.#drain();
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#free >= this.#waiters[0]!.units) {
      const w = this.#waiters.shift()!;
      this.#free -= w.units;
      w.resolve();
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), or undefined.
 * @param value - the header
 * @param now - current time in ms
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A URL as error messages show it: the source's own rendering, else without user info, fragment or
 * credential-like query values (a redirect to storage is often a signed URL).
 */
const show = (ctx: RequestContext, url: string): string => (ctx.describe ?? redactUrl)(url);

const sameOrigin = (url: string, origin: string): boolean => {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
};

/** OpenSSL and Node codes of a server certificate that failed verification (not a transient failure). */
const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/**
 * `code: message` when a fetch failed because the server's certificate was not accepted (expired,
 * self-signed, unknown CA, wrong host name), else undefined.
 */
function tlsFailure(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== null && typeof e === "object" && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TLS_CODES.has(code)) {
      const message = String((e as { message?: unknown }).message ?? "").slice(0, 200);
      return `${code}: ${message}`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Sends Hub requests. One transport can serve many repositories at once (a mirror's pool): its
 * connection and bytes-in-flight budgets are shared by all of them.
 */
export class HubTransport {
  readonly #fetch: typeof fetch;
  // Not readonly: a view made by withUrlCheck shares its parent's budgets.
  #connections: Semaphore;
  #bytes: Semaphore;
  readonly #options: HubTransportOptions;
  readonly #allowUrl: UrlCheck | undefined;
  readonly #retries: number;
  readonly #retryBaseMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #timeoutMs: number;
  readonly #userAgent: string;

  /** @param options - limits, retries and the fetch implementation */
  constructor(options: HubTransportOptions = {}) {
    const positive = (name: string, v: number | undefined, dflt: number, min = 1): number => {
      if (v === undefined) return dflt;
      if (!Number.isFinite(v) || v < min) throw new ModelgateError("INVALID_ARGUMENT", `${name} must be >= ${min}`);
      return Math.floor(v);
    };
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#connections = new Semaphore(positive("maxConnections", options.maxConnections, 8));
    this.#bytes = new Semaphore(positive("maxBytesInFlight", options.maxBytesInFlight, 128 << 20));
    this.#retries = positive("retries", options.retries, 4, 0);
    this.#retryBaseMs = positive("retryBaseMs", options.retryBaseMs, 250, 0);
    this.#maxRetryDelayMs = positive("maxRetryDelayMs", options.maxRetryDelayMs, 60_000, 0);
    this.#timeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs, 60_000);
    this.#userAgent = options.userAgent ?? `${TOOL_NAME}/${TOOL_VERSION}`;
    this.#options = options;
    this.#allowUrl = options.allowUrl;
  }

  /**
   * This transport with one more URL check (after its own, if any): same connection and
   * bytes-in-flight budgets, fetch, retries and timeouts. One job of a shared pool gets its own
   * destinations this way.
   * @param check - refuses a URL by returning why
   */
  withUrlCheck(check: UrlCheck): HubTransport {
    const own = this.#allowUrl;
    const both: UrlCheck = own === undefined ? check : (url) => own(url) ?? check(url);
    const view = new HubTransport({ ...this.#options, allowUrl: both });
    view.#connections = this.#connections;
    view.#bytes = this.#bytes;
    return view;
  }

  /**
   * Sends a request (following redirects, retrying transient failures) and hands the final
   * response to `handle`, which reads the body. The connection and byte budgets are held until
   * `handle` settles; `handle` throws a `TransientError` to ask for a retry.
   * @param request - URL, method, headers, body, bytes to reserve
   * @param ctx - origin, token, abort signal and counters
   * @param handle - reads and checks the response
   */
  async send<T>(request: HubRequest, ctx: RequestContext, handle: (r: HubResponse) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      ctx.signal.throwIfAborted();
      let wait: number | undefined;
      let failure: ModelgateError;
      const reserved = await this.#bytes.acquire(request.reserve ?? 1, ctx.signal);
      try {
        await this.#connections.acquire(1, ctx.signal);
        const timeout = AbortSignal.timeout(this.#timeoutMs);
        const signal = AbortSignal.any([ctx.signal, timeout]);
        try {
          const r = await this.#follow(request, ctx, signal);
          if (RETRYABLE.has(r.response.status)) {
            wait = retryAfterMs(r.response.headers.get("retry-after"));
            await r.response.body?.cancel().catch(() => undefined);
            failure = new ModelgateError("NETWORK", `HTTP ${r.response.status} from ${show(ctx, r.url)}`);
          } else {
            return await handle(r);
          }
        } catch (error) {
          if (ctx.signal.aborted) throw toModelgateError(ctx.signal.reason ?? error);
          const tls = tlsFailure(error);
          if (tls !== undefined) {
            // Not retried: the certificate will not change between attempts.
            throw new ModelgateError(
              "NETWORK",
              `${show(ctx, request.url)}: TLS certificate rejected (${tls}); nothing was sent. To trust a private CA, start modelgate with NODE_EXTRA_CA_CERTS=/path/to/ca.pem`,
              { cause: error },
            );
          }
          const transient =
            error instanceof TransientError ||
            timeout.aborted ||
            (error instanceof TypeError && !(error instanceof ModelgateError)) ||
            (error as { name?: string })?.name === "AbortError";
          if (!transient) throw toModelgateError(error);
          const detail = timeout.aborted ? `no answer within ${this.#timeoutMs} ms` : (error as Error).message;
          failure = new ModelgateError("NETWORK", `${show(ctx, request.url)}: ${detail}`, { cause: error });
        } finally {
          this.#connections.release(1);
        }
      } finally {
        this.#bytes.release(reserved);
      }
      if (attempt >= this.#retries) {
        throw new ModelgateError("NETWORK", `${failure.message} (after ${attempt + 1} attempts)`, { cause: failure });
      }
      const backoff = this.#retryBaseMs * 2 ** attempt;
      const delay = wait ?? backoff / 2 + Math.random() * (backoff / 2);
      await sleep(Math.min(delay, this.#maxRetryDelayMs), ctx.signal).catch((e: unknown) => {
        throw toModelgateError(e);
      });
    }
  }

  /**
   * Runs a request made by another client (the S3 SDK) within this transport's budgets: one
   * connection and `reserve` bytes in flight are held until `run` settles, and `run` gets a signal
   * that fires on abort or after the per-attempt timeout. Retries are the caller's.
   * @param reserve - bytes expected in the response
   * @param signal - aborts the wait and the request
   * @param run - sends the request and reads its body
   */
  async withBudget<T>(reserve: number, signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const reserved = await this.#bytes.acquire(reserve, signal);
    try {
      await this.#connections.acquire(1, signal);
      try {
        return await run(AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]));
      } finally {
        this.#connections.release(1);
      }
    } finally {
      this.#bytes.release(reserved);
    }
  }

  /** Time limit of one attempt, in milliseconds. */
  get requestTimeoutMs(): number {
    return this.#timeoutMs;
  }

  async #follow(request: HubRequest, ctx: RequestContext, signal: AbortSignal): Promise<HubResponse> {
    let url = request.url;
    let method = request.method ?? "GET";
    let body = request.body;
    let redirectedFrom = url;
    const redirects: Headers[] = [];
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { "user-agent": this.#userAgent, ...request.headers };
      if (sameOrigin(url, ctx.origin)) {
        if (ctx.headers !== undefined) Object.assign(headers, ctx.headers);
        if (ctx.token !== undefined) headers.authorization = `Bearer ${ctx.token}`;
      }
      if (this.#allowUrl !== undefined) {
        const why = this.#allowUrl(new URL(url));
        if (why !== undefined) {
          const what = hop === 0 ? "request to" : `redirect from ${show(ctx, redirectedFrom)} to`;
          throw new ModelgateError("IO", `${what} ${show(ctx, url)} refused: ${why}`);
        }
      }
      ctx.stats.requests++;
      const init: RequestInit = { method, headers, redirect: "manual", signal };
      if (body !== undefined) init.body = body;
      const response = await this.#fetch(url, init);
      if (!REDIRECTS.has(response.status)) return { response, url, redirects, signal };
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get("location");
      if (location === null) throw new ModelgateError("NETWORK", `redirect without Location from ${show(ctx, url)}`);
      const next = new URL(location, url);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new ModelgateError("NETWORK", `redirect to a non-HTTP URL from ${show(ctx, url)}`);
      }
      if (new URL(url).protocol === "https:" && next.protocol === "http:") {
        throw new ModelgateError("NETWORK", `redirect from HTTPS to plain HTTP refused (${show(ctx, url)})`);
      }
      redirects.push(response.headers);
      if (response.status === 303) {
        method = "GET";
        body = undefined;
      }
      redirectedFrom = url;
      url = next.href;
    }
    throw new ModelgateError("NETWORK", `more than ${MAX_REDIRECTS} redirects from ${show(ctx, request.url)}`);
  }

  /**
   * A `fetch` for `@huggingface/hub`'s metadata calls, going through this transport: the token is
   * added for the Hub's origin only, bodies are read with a size cap and counted, transient
   * failures are retried.
   * @param ctx - origin, token, abort signal and counters
   * @param maxBodyBytes - largest response body accepted (default 64 MiB)
   */
  apiFetch(ctx: RequestContext, maxBodyBytes = 64 << 20): typeof fetch {
    const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        if (k !== "authorization") headers[k] = v;
      });
      const request: HubRequest = { url, method: init?.method ?? "GET", headers };
      if (typeof init?.body === "string") request.body = init.body;
      return this.send(request, ctx, async ({ response }) => {
        const bytes = await readBody(response, maxBodyBytes, ctx.stats);
        const nullBody = response.status === 204 || response.status === 304 || bytes.length === 0;
        return new Response(nullBody ? null : bytes, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      });
    };
    return f as typeof fetch;
  }
}

/**
 * Reads a whole response body, at most `max` bytes.
 * @param response - the response
 * @param max - cap; a longer body throws `BUDGET_EXCEEDED`
 * @param stats - counters to update
 */
export async function readBody(response: Response, max: number, stats: TransferStats): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(response, stats)) {
    total += chunk.length;
    if (total > max) {
      throw new ModelgateError("BUDGET_EXCEEDED", `response body larger than ${max} bytes`, {
        budget: "maxBodyBytes",
      });
    }
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Reads exactly `length` bytes of body: a shorter body is a {@link TransientError} (the connection
 * dropped), a longer one a `NETWORK` error.
 * @param response - the response
 * @param length - bytes expected
 * @param stats - counters to update
 */
export async function readExactBody(response: Response, length: number, stats: TransferStats): Promise<Uint8Array> {
  const chunks = await readExactChunks(response, length, stats);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * {@link readExactBody}, returning the body's chunks as they arrived (no copy: a range that is
 * only hashed is never copied together).
 * @param response - the response
 * @param length - bytes expected
 * @param stats - counters to update
 */
export async function readExactChunks(response: Response, length: number, stats: TransferStats): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for await (const chunk of bodyChunks(response, stats)) {
    if (at + chunk.length > length) {
      throw new ModelgateError("NETWORK", `server sent more than the ${length} bytes it announced`);
    }
    chunks.push(chunk);
    at += chunk.length;
  }
  if (at < length) throw new TransientError(`body ended after ${at} of ${length} bytes`);
  return chunks;
}

/**
 * {@link readExactChunks}, handing each chunk to a sink as it arrives instead of keeping it (a range
 * that is only hashed). A longer body is a `NETWORK` error before its excess reaches the sink.
 * A sink that returns a promise is waited for before the next chunk is read.
 * @param response - the response
 * @param length - bytes expected
 * @param stats - counters to update
 * @param open - gives the sink once the body may be read (the body is cancelled if it throws)
 */
export async function pipeExactBody(
  response: Response,
  length: number,
  stats: TransferStats,
  open: () => Promise<(chunk: Uint8Array) => void | Promise<void>>,
): Promise<void> {
  let sink: (chunk: Uint8Array) => void | Promise<void>;
  try {
    sink = await open();
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    throw error;
  }
  let at = 0;
  if (response.body !== null) {
    // The reader is read directly (no generator in between): one promise per chunk.
    const reader = response.body.getReader();
    try {
      for (;;) {
        let step: Awaited<ReturnType<typeof reader.read>>;
        try {
          step = await reader.read();
        } catch (error) {
          throw readFailure(error);
        }
        if (step.done) break;
        const chunk = step.value;
        stats.bytes += chunk.length;
        if (at + chunk.length > length) {
          throw new ModelgateError("NETWORK", `server sent more than the ${length} bytes it announced`);
        }
        at += chunk.length;
        const wait = sink(chunk);
        if (wait instanceof Promise) await wait;
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }
  if (at < length) throw new TransientError(`body ended after ${at} of ${length} bytes`);
}

/** What a failed body read throws: an abort or a timeout as is, any other failure as a {@link TransientError}. */
function readFailure(error: unknown): unknown {
  const name = (error as { name?: string })?.name;
  if (name === "AbortError" || name === "TimeoutError") return error;
  return new TransientError(`body read failed: ${(error as Error)?.message ?? String(error)}`);
}

/**
 * Body chunks, counted as they arrive; stream failures become {@link TransientError}.
 * @param response - the response
 * @param stats - counters to update
 */
export async function* bodyChunks(response: Response, stats: TransferStats): AsyncGenerator<Uint8Array> {
  if (response.body === null) return;
  const reader = response.body.getReader();
  try {
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (error) {
        throw readFailure(error);
      }
      if (step.done) return;
      stats.bytes += step.value.length;
      yield step.value;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
