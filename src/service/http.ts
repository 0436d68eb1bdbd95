/**
 * The HTTP API (Fastify): `POST /v1/scans`, `POST /v1/scans/upload`, `GET /v1/scans/:id`,
 * `GET /healthz`, `GET /metrics`, `GET /v1/openapi.json`. Bearer-token auth (constant-time),
 * request size limits, a per-client rate limit, JSON errors with stable codes. Every request has a
 * deadline (socket idle and whole-request timeouts), and uploads an idle and a total deadline of
 * their own and a cap on how many run at once: a client that sends one byte and stalls holds a
 * connection and a spool file for a bounded time only.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { TOOL_VERSION } from "../core/version.js";
import { renderCycloneDx } from "../report/render/cyclonedx.js";
import { renderSarif } from "../report/render/sarif.js";
import { ServiceError } from "./errors.js";
import { type PrepareContext, prepareJob, prepareUploadJob, type UploadRequest } from "./job.js";
import type { Metrics } from "./metrics.js";
import { OPENAPI_DOCUMENT } from "./openapi.js";
import type { ScanQueue } from "./types.js";

/** Options of {@link createServiceApp}. */
export interface ServiceAppOptions {
  /** Where jobs go (in-process or Redis). */
  readonly queue: ScanQueue;
  /** Roots, default policy, caps. */
  readonly prepare: PrepareContext;
  /** The bearer token clients must present. */
  readonly token: string;
  /** Real path of a private (0700) folder for uploads; without it uploads are refused (501). */
  readonly uploadDir?: string | undefined;
  /** Largest upload, bytes (default 1 GiB). */
  readonly maxUploadBytes?: number;
  /** Largest JSON body, bytes (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Requests per client (IP address) per window (default 600 per minute). */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  /** Counters shown at `/metrics`. */
  readonly metrics: Metrics;
  /** Whether the queue is reachable (healthz); default: always. */
  readonly healthy?: () => Promise<boolean>;
  /** Deadlines and the concurrency cap of uploads and requests (defaults: {@link DEFAULT_UPLOAD_LIMITS}). */
  readonly uploadLimits?: Partial<UploadLimits>;
}

/** Deadlines of requests and uploads, and how many uploads may run at once. */
export interface UploadLimits {
  /** An upload that receives no bytes for this long is cut (ms). */
  readonly idleMs: number;
  /** An upload not received whole within this long is cut (ms). */
  readonly totalMs: number;
  /** Uploads received at once; one more is refused (`429 RATE_LIMITED`). */
  readonly maxConcurrent: number;
  /** A connection with no traffic for this long is closed (ms; Fastify `connectionTimeout`). */
  readonly connectionTimeoutMs: number;
  /**
   * A request (headers and body) not received within this long is answered 408 and closed (ms;
   * Fastify `requestTimeout`); kept above `totalMs` so an upload's own deadline answers first.
   */
  readonly requestTimeoutMs: number;
}

/** Default {@link UploadLimits}: 1 GiB at about 1.2 MB/s fits in the total. */
export const DEFAULT_UPLOAD_LIMITS: Readonly<UploadLimits> = Object.freeze({
  idleMs: 30_000,
  totalMs: 15 * 60_000,
  maxConcurrent: 8,
  connectionTimeoutMs: 60_000,
  requestTimeoutMs: 16 * 60_000,
});

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Whether a presented token equals the expected one, in time independent of where they differ. */
export function tokenMatches(presented: string, expected: string): boolean {
  // Digests first: equal lengths, so timingSafeEqual runs whatever the lengths presented.
  return timingSafeEqual(digest(presented), digest(expected)) && expected !== "";
}

/** A file name safe to create: the last component, `[A-Za-z0-9._-]`, no leading dot. */
export function safeUploadName(name: string | undefined): string {
  const last = (name ?? "").split(/[/\\]/).pop() ?? "";
  const clean = last
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^\.+/, "")
    .slice(0, 200);
  return clean === "" ? "upload.bin" : clean;
}

const FORMATS = ["json", "sarif", "cyclonedx"] as const;

/**
 * Builds the Fastify app (not listening: call `listen`, or `inject` in tests).
 * @param options - queue, auth, limits
 */
export function createServiceApp(options: ServiceAppOptions): FastifyInstance {
  const maxUpload = options.maxUploadBytes ?? 1 << 30;
  const limit = options.rateLimit ?? { max: 600, windowMs: 60_000 };
  const metrics = options.metrics;
  const uploads = { ...DEFAULT_UPLOAD_LIMITS, ...options.uploadLimits };
  let uploading = 0;
  const app = Fastify({
    bodyLimit: options.maxBodyBytes ?? 64 << 10,
    connectionTimeout: uploads.connectionTimeoutMs,
    requestTimeout: uploads.requestTimeoutMs,
    logger: false,
    // Ids in URLs are ours; anything longer is not one.
    routerOptions: { maxParamLength: 128 },
  });
  const windows = new Map<string, { start: number; count: number }>();

  // Uploads: the body is handed over as a stream, never parsed or buffered.
  app.addContentTypeParser("application/octet-stream", (_req, payload, done) => done(null, payload));

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0];
    if (path === "/healthz" || path === "/v1/openapi.json") return;
    const now = Date.now();
    const key = request.ip;
    let w = windows.get(key);
    if (w === undefined || now - w.start >= limit.windowMs) {
      if (windows.size > 10_000) windows.clear();
      w = { start: now, count: 0 };
      windows.set(key, w);
    }
    if (++w.count > limit.max) {
      reply.header("retry-after", String(Math.ceil((w.start + limit.windowMs - now) / 1000)));
      throw new ServiceError("RATE_LIMITED", "too many requests; retry later");
    }
    const header = request.headers.authorization ?? "";
    const m = /^Bearer ([^\s]+)$/.exec(header);
    if (m === null || !tokenMatches(m[1]!, options.token)) {
      reply.header("www-authenticate", 'Bearer realm="modelgate"');
      throw new ServiceError("UNAUTHORIZED", "a valid bearer token is required");
    }
  });

  app.addHook("onResponse", async (_request, reply) => {
    metrics.request(reply.statusCode);
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    let e: ServiceError;
    if (error instanceof ServiceError) e = error;
    else {
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 413) e = new ServiceError("PAYLOAD_TOO_LARGE", "the request body is too large");
      else if (status === 415) e = new ServiceError("UNSUPPORTED_MEDIA_TYPE", message);
      else if (status >= 400 && status < 500) e = new ServiceError("BAD_REQUEST", message);
      else e = new ServiceError("INTERNAL", "internal error");
    }
    if (e.code !== "UNAUTHORIZED" && e.code !== "RATE_LIMITED") metrics.error(e.code);
    void reply.status(e.status).send({ error: { code: e.code, message: e.message } });
  });

  app.setNotFoundHandler((_request, reply) => {
    void reply.status(404).send({ error: { code: "NOT_FOUND", message: "no such route" } });
  });

  app.get("/healthz", async (_request, reply) => {
    const ok = (await options.healthy?.().catch(() => false)) ?? true;
    return reply.status(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", version: TOOL_VERSION });
  });

  app.get("/v1/openapi.json", async () => OPENAPI_DOCUMENT);

  app.get("/metrics", async (_request, reply) => {
    const counts = await options.queue.counts();
    return reply.type("text/plain; version=0.0.4").send(await metrics.render(counts));
  });

  app.post("/v1/scans", async (request, reply) => {
    if (!request.headers["content-type"]?.startsWith("application/json")) {
      throw new ServiceError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
    }
    const { data, identity } = await prepareJob(request.body, options.prepare);
    const { id, duplicate } = await options.queue.submit(data, identity);
    return reply.status(202).send({ id, duplicate });
  });

  app.post("/v1/scans/upload", async (request, reply) => {
    if (options.uploadDir === undefined) {
      throw new ServiceError("UPLOAD_UNAVAILABLE", "uploads need an upload folder shared with the workers");
    }
    if (request.headers["content-type"] !== "application/octet-stream") {
      throw new ServiceError("UNSUPPORTED_MEDIA_TYPE", "send the file as application/octet-stream");
    }
    const declared = Number(request.headers["content-length"] ?? Number.NaN);
    if (declared > maxUpload) throw new ServiceError("PAYLOAD_TOO_LARGE", `uploads are limited to ${maxUpload} bytes`);
    const query = request.query as Record<string, string | undefined>;
    const req: UploadRequest = { options: uploadOptions(query) };
    const name = safeUploadName(query.name);
    if (uploading >= uploads.maxConcurrent) {
      reply.header("retry-after", "5");
      throw new ServiceError("RATE_LIMITED", `${uploads.maxConcurrent} uploads are in progress; retry later`);
    }
    uploading++;
    try {
      const dir = await mkdtemp(join(options.uploadDir, "up-"));
      const path = join(dir, name);
      let keep = false;
      try {
        const { sha256, size } = await spool(request.body as Readable, path, maxUpload, uploads);
        const { data, identity } = prepareUploadJob(path, { name, sha256, size }, req, options.prepare);
        const { id, duplicate } = await options.queue.submit(data, identity);
        keep = !duplicate;
        return await reply.status(202).send({ id, duplicate });
      } finally {
        if (!keep) await rm(dir, { recursive: true, force: true });
      }
    } finally {
      uploading--;
    }
  });

  app.get("/v1/scans/:id", async (request, reply) => {
    const { id } = request.params as { id: string };
    const format = (request.query as { format?: string }).format ?? "json";
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new ServiceError("BAD_REQUEST", `format must be one of ${FORMATS.join(", ")}`);
    }
    const status = await options.queue.status(id);
    if (status === undefined) throw new ServiceError("NOT_FOUND", "no such scan (unknown or expired)");
    if (status.state !== "completed") return reply.send(status);
    const report = await options.queue.result(id);
    if (report === undefined) throw new ServiceError("NOT_FOUND", "the report expired");
    const rendered =
      format === "sarif" ? renderSarif(report) : format === "cyclonedx" ? renderCycloneDx([report]) : report;
    return reply.send({ ...status, format, report: rendered });
  });

  return app;
}

function uploadOptions(query: Record<string, string | undefined>): NonNullable<UploadRequest["options"]> {
  const int = (name: string): number | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 86_400)
      throw new ServiceError("BAD_REQUEST", `${name} must be a positive integer`);
    return n;
  };
  const out: { verify?: "read" | "full"; hash?: boolean; timeoutSeconds?: number; concurrency?: number } = {};
  const timeout = int("timeoutSeconds");
  if (timeout !== undefined) out.timeoutSeconds = timeout;
  const concurrency = int("concurrency");
  if (concurrency !== undefined) out.concurrency = concurrency;
  if (query.hash !== undefined) out.hash = query.hash !== "false";
  return out;
}

/** Bytes past the upload cap read and dropped before the connection is cut. */
const DISCARD_BYTES = 1 << 20;

/**
 * Streams a body to a new private file (0600, `O_EXCL | O_NOFOLLOW`), hashing it, at most `max`
 * bytes (more is `PAYLOAD_TOO_LARGE`; the caller removes the folder). A body that stalls for
 * `idleMs` or is not whole within `totalMs` is cut (the connection closed) and refused.
 */
async function spool(
  body: Readable,
  path: string,
  max: number,
  deadlines: Pick<UploadLimits, "idleMs" | "totalMs">,
): Promise<{ sha256: string; size: number }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  const handle = await open(path, flags, 0o600);
  const hash = createHash("sha256");
  let size = 0;
  let cut: ServiceError | undefined;
  const stop = (message: string) => (): void => {
    cut = new ServiceError("BAD_REQUEST", message);
    body.destroy(cut);
  };
  const idle = setTimeout(stop(`the upload sent no data for ${deadlines.idleMs} ms: cut`), deadlines.idleMs);
  const total = setTimeout(stop(`the upload did not finish within ${deadlines.totalMs} ms: cut`), deadlines.totalMs);
  try {
    for await (const chunk of body) {
      idle.refresh();
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > max) {
        // Discard (a little of) the rest so the client reads the answer; then cut the connection.
        if (size > max + DISCARD_BYTES) body.destroy();
        continue;
      }
      hash.update(buf);
      let off = 0;
      while (off < buf.length) off += (await handle.write(buf, off, buf.length - off)).bytesWritten;
    }
  } catch (error) {
    throw cut ?? error;
  } finally {
    clearTimeout(idle);
    clearTimeout(total);
    await handle.close();
  }
  if (cut !== undefined) throw cut;
  if (size > max) throw new ServiceError("PAYLOAD_TOO_LARGE", `uploads are limited to ${max} bytes`);
  return { sha256: hash.digest("hex"), size };
}
