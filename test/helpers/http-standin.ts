/**
 * A loopback stand-in for a plain HTTP file server (127.0.0.1, port 0): serves files with
 * `Range`, `ETag`/`Last-Modified` and `If-Match`, and misbehaves on request (ignores Range, lies in
 * Content-Range, changes its ETag, redirects in a loop or to another origin, drip-feeds, sends
 * extra bytes). Every request is logged with the headers it carried. With `tls` it serves HTTPS
 * with the certificate given (tests make theirs with openssl at test time).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** How a path misbehaves. */
export type HttpFault =
  | { kind: "ignore-range" }
  | { kind: "no-validators" }
  | { kind: "lie-content-range" }
  | { kind: "change-etag"; afterRequests: number }
  | { kind: "replace-content"; afterRequests: number; content: Uint8Array }
  | { kind: "redirect"; to: string }
  | { kind: "redirect-loop" }
  | { kind: "drip"; intervalMs: number }
  | { kind: "extra-bytes" }
  | { kind: "status"; status: number };

/** Content too large to hold in memory (a sparse file on disk): size and a range reader. */
export interface VirtualContent {
  size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

/** A file served at a path. */
export interface StandinFile {
  /** The bytes; virtual content is served without faults, streamed in 8 MiB pieces. */
  content: Uint8Array | VirtualContent;
  /** Served `ETag` (default a strong one derived from the content; null for none). */
  etag?: string | null;
  /** Served `Last-Modified` (default a fixed date; null for none). */
  lastModified?: string | null;
  fault?: HttpFault;
}

/** One request as the stand-in saw it. */
export interface StandinRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  status: number;
  bodyBytes: number;
}

const DATE = "Wed, 21 Oct 2026 07:28:00 GMT";
const etagOf = (b: Uint8Array) => `"${createHash("sha256").update(b).digest("hex").slice(0, 32)}"`;

/** How a stand-in listens. */
export interface StandinOptions {
  /** Serve HTTPS with this PEM key and certificate chain. */
  tls?: { key: string; cert: string };
  /** Host name used in {@link HttpStandin.origin} (default 127.0.0.1; it always listens there). */
  host?: string;
}

/** A loopback HTTP file server. */
export class HttpStandin {
  readonly log: StandinRequest[] = [];
  readonly files: Map<string, StandinFile>;
  readonly #server: Server;
  readonly #hits = new Map<string, number>();
  readonly #scheme: "http" | "https";
  readonly #host: string;
  #port = 0;

  private constructor(files: Record<string, StandinFile>, options: StandinOptions) {
    this.files = new Map(Object.entries(files));
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch(() => res.destroy());
    };
    this.#scheme = options.tls === undefined ? "http" : "https";
    this.#host = options.host ?? "127.0.0.1";
    this.#server =
      options.tls === undefined ? createServer(handler) : (createTlsServer(options.tls, handler) as Server);
  }

  /** Starts a stand-in on 127.0.0.1 and an ephemeral port. */
  static async start(files: Record<string, StandinFile> = {}, options: StandinOptions = {}): Promise<HttpStandin> {
    const s = new HttpStandin(files, options);
    await new Promise<void>((resolve) => s.#server.listen(0, "127.0.0.1", resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  /** Origin, `http://127.0.0.1:PORT` (or `https://HOST:PORT`). */
  get origin(): string {
    return `${this.#scheme}://${this.#host}:${this.#port}`;
  }

  /** URL of a path. */
  url(path: string): string {
    return `${this.origin}${path.startsWith("/") ? "" : "/"}${path}`;
  }

  /** Response body bytes sent. */
  get bytesSent(): number {
    return this.log.reduce((n, r) => n + r.bodyBytes, 0);
  }

  /** Stops the server and drops every connection (drip-feeds included). */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const entry: StandinRequest = { method: req.method ?? "GET", path, headers: req.headers, status: 0, bodyBytes: 0 };
    this.log.push(entry);
    const hits = (this.#hits.get(path) ?? 0) + 1;
    this.#hits.set(path, hits);
    const file = this.files.get(path);
    const send = (status: number, headers: Record<string, string | number>, body?: Uint8Array) => {
      entry.status = status;
      entry.bodyBytes = body?.length ?? 0;
      res.writeHead(status, headers);
      res.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.length));
    };
    if (file === undefined) return send(404, {}, new TextEncoder().encode("not found"));
    const fault = file.fault;
    if (fault?.kind === "status") return send(fault.status, {});
    if (fault?.kind === "redirect") return send(302, { location: fault.to });
    if (fault?.kind === "redirect-loop") return send(302, { location: `${path}?hop=${hits}` });
    if (!(file.content instanceof Uint8Array))
      return this.#virtual(req, res, entry, file.content, file.etag ?? '"virtual"');
    let content = file.content;
    if (fault?.kind === "replace-content" && hits > fault.afterRequests) content = fault.content;
    const headers: Record<string, string | number> = { "accept-ranges": "bytes" };
    let etag = file.etag === undefined ? etagOf(content) : file.etag;
    if (fault?.kind === "change-etag" && hits > fault.afterRequests) etag = `"changed-${hits}"`;
    const lastModified = file.lastModified === undefined ? DATE : file.lastModified;
    if (fault?.kind !== "no-validators") {
      if (etag !== null) headers.etag = etag;
      if (lastModified !== null) headers["last-modified"] = lastModified;
    }
    const ifMatch = req.headers["if-match"];
    if (ifMatch !== undefined && fault?.kind !== "change-etag" && ifMatch !== etag) return send(412, {});
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (m === null || fault?.kind === "ignore-range") {
      headers["content-length"] = content.length;
      if (fault?.kind === "drip") return this.#drip(res, entry, 200, headers, content, fault.intervalMs);
      return send(200, headers, content);
    }
    const start = Number(m[1]);
    const end = Math.min(content.length - 1, m[2] === "" ? content.length - 1 : Number(m[2]));
    if (start >= content.length) return send(416, { "content-range": `bytes */${content.length}` });
    let body = content.subarray(start, end + 1);
    headers["content-range"] = `bytes ${start}-${end}/${content.length}`;
    if (fault?.kind === "lie-content-range" && hits > 1) {
      // Claims the range asked for, sends the bytes that follow it.
      body = content.subarray(Math.min(content.length, start + 1), Math.min(content.length, end + 2));
      if (body.length < end - start + 1) body = content.subarray(0, end - start + 1);
      headers["content-range"] = `bytes ${start + 1}-${end + 1}/${content.length}`;
    }
    if (fault?.kind === "extra-bytes" && hits > 1) {
      const padded = new Uint8Array(body.length + 16);
      padded.set(body);
      body = padded;
    }
    headers["content-length"] = body.length;
    if (fault?.kind === "drip") return this.#drip(res, entry, 206, headers, body, fault.intervalMs);
    return send(206, headers, body);
  }

  /** Serves virtual content: a range, or the whole of it streamed in pieces. */
  async #virtual(
    req: IncomingMessage,
    res: ServerResponse,
    entry: StandinRequest,
    content: VirtualContent,
    etag: string | null,
  ): Promise<void> {
    const headers: Record<string, string | number> = { "accept-ranges": "bytes", "last-modified": DATE };
    if (etag !== null) headers.etag = etag;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = content.size - 1;
    if (m !== null) {
      start = Number(m[1]);
      end = Math.min(content.size - 1, m[2] === "" ? content.size - 1 : Number(m[2]));
      headers["content-range"] = `bytes ${start}-${end}/${content.size}`;
    }
    entry.status = m === null ? 200 : 206;
    res.writeHead(entry.status, { ...headers, "content-length": end - start + 1 });
    for (let at = start; at <= end && !res.destroyed; ) {
      const piece = await content.read(at, Math.min(end + 1, at + (8 << 20)));
      entry.bodyBytes += piece.length;
      at += piece.length;
      if (!res.write(piece)) await new Promise((resolve) => res.once("drain", resolve));
    }
    res.end();
  }

  /** Sends the headers, then one byte per interval until the client goes away. */
  #drip(
    res: ServerResponse,
    entry: StandinRequest,
    status: number,
    headers: Record<string, string | number>,
    body: Uint8Array,
    intervalMs: number,
  ): void {
    entry.status = status;
    res.writeHead(status, headers);
    let at = 0;
    const timer = setInterval(() => {
      if (at >= body.length || res.destroyed) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(Buffer.from([body[at++]!]));
      entry.bodyBytes++;
    }, intervalMs);
    res.on("close", () => clearInterval(timer));
  }
}
