/**
 * A loopback stand-in for S3 (127.0.0.1, port 0, path-style addressing, signatures not checked):
 * `ListObjectsV2` with pagination, `HeadObject` with full-object SHA-256 checksums, ranged
 * `GetObject` honouring `If-Match`. It misbehaves on request: endless pagination, a listing that
 * changes between pages, an object replaced after it was listed, a wrong checksum, redirects,
 * ignored ranges, extra bytes.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Content too large to hold in memory (a sparse file on disk): size and a range reader. */
export interface VirtualObject {
  size: number;
  read(start: number, end: number): Promise<Uint8Array>;
  /** Its SHA-256, base64 (served as the full-object checksum). */
  sha256Base64: string;
}

/** An object of the bucket. */
export interface S3Object {
  /** The bytes; a virtual object is served without faults. */
  content: Uint8Array | VirtualObject;
  /** Give it a full-object SHA-256 checksum (default true); a string is served instead of the real one. */
  checksum?: boolean | string;
  versionId?: string;
}

/** How the stand-in misbehaves. */
export interface S3Faults {
  /** Every listing page is truncated and points at a new page. */
  endlessPagination?: boolean;
  /** The second listing page goes back to keys before the first page's last. */
  listingGoesBack?: boolean;
  /** After this many GetObject requests, objects get new content (and ETag). */
  replaceAfterGets?: number;
  /** Answer each GetObject body one byte per interval. */
  dripMs?: number;
  /** Answer every request with a 307 to this URL (a relative one on this host makes a loop). */
  redirectTo?: string;
  /** Answer a ranged GetObject with the whole object (200). */
  ignoreRange?: boolean;
  /** Send 16 bytes more than the range asked for (Content-Length included). */
  extraBytes?: boolean;
}

/** One request as the stand-in saw it. */
export interface S3Request {
  method: string;
  path: string;
  query: string;
  status: number;
  bodyBytes: number;
  headers: IncomingMessage["headers"];
}

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const etagOf = (b: Uint8Array | VirtualObject) =>
  b instanceof Uint8Array ? `"${createHash("md5").update(b).digest("hex")}"` : `"virtual-${b.size}"`;

/** A loopback S3 for one bucket. */
export class S3Standin {
  readonly log: S3Request[] = [];
  readonly objects: Map<string, S3Object>;
  readonly bucket: string;
  faults: S3Faults;
  readonly #server: Server;
  #gets = 0;
  #port = 0;

  private constructor(bucket: string, objects: Record<string, S3Object>, faults: S3Faults) {
    this.bucket = bucket;
    this.objects = new Map(Object.entries(objects));
    this.faults = faults;
    this.#server = createServer((req, res) => {
      try {
        const done = this.#handle(req, res);
        if (done instanceof Promise) done.catch(() => res.destroy());
      } catch {
        res.destroy();
      }
    });
  }

  /** Starts a stand-in serving one bucket. */
  static async start(bucket: string, objects: Record<string, S3Object>, faults: S3Faults = {}): Promise<S3Standin> {
    const s = new S3Standin(bucket, objects, faults);
    await new Promise<void>((resolve) => s.#server.listen(0, "127.0.0.1", resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  /** The endpoint, `http://127.0.0.1:PORT`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Object body bytes sent by GetObject. */
  get bytesSent(): number {
    return this.log.reduce((n, r) => n + r.bodyBytes, 0);
  }

  /** Stops the server and drops every connection. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): unknown {
    const url = new URL(req.url ?? "/", "http://x");
    const entry: S3Request = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      status: 0,
      bodyBytes: 0,
      headers: req.headers,
    };
    this.log.push(entry);
    const send = (status: number, headers: Record<string, string | number>, body?: Uint8Array | string) => {
      entry.status = status;
      const bytes = typeof body === "string" ? Buffer.from(body) : body === undefined ? undefined : Buffer.from(body);
      if (req.method !== "HEAD") entry.bodyBytes = bytes?.length ?? 0;
      res.writeHead(status, { ...headers, ...(bytes === undefined ? {} : { "content-length": bytes.length }) });
      res.end(req.method === "HEAD" ? undefined : bytes);
    };
    const error = (status: number, code: string) =>
      send(
        status,
        { "content-type": "application/xml" },
        `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
      );
    if (this.faults.redirectTo !== undefined) return send(307, { location: this.faults.redirectTo });
    const parts = url.pathname.split("/").slice(1);
    if (parts[0] !== this.bucket) return error(404, "NoSuchBucket");
    const key = parts.slice(1).map(decodeURIComponent).join("/");
    if (key === "" && url.searchParams.get("list-type") === "2") return this.#list(url, send);
    const object = this.objects.get(key);
    if (object === undefined) return req.method === "HEAD" ? send(404, {}) : error(404, "NoSuchKey");
    if (!(object.content instanceof Uint8Array)) return this.#virtual(req, res, entry, object.content);
    let content = object.content;
    if (req.method === "GET") this.#gets++;
    if (this.faults.replaceAfterGets !== undefined && this.#gets > this.faults.replaceAfterGets) {
      content = new Uint8Array(content);
      content[content.length - 1] = (content[content.length - 1] ?? 0) ^ 0xff;
    }
    const etag = etagOf(content);
    const ifMatch = req.headers["if-match"];
    if (ifMatch !== undefined && ifMatch !== etag) {
      return req.method === "HEAD" ? send(412, {}) : error(412, "PreconditionFailed");
    }
    const headers: Record<string, string | number> = {
      etag,
      "last-modified": "Wed, 21 Oct 2026 07:28:00 GMT",
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
    };
    if (object.versionId !== undefined) headers["x-amz-version-id"] = object.versionId;
    if (req.method === "HEAD") {
      if (object.checksum !== false && req.headers["x-amz-checksum-mode"] === "ENABLED") {
        headers["x-amz-checksum-sha256"] =
          typeof object.checksum === "string"
            ? object.checksum
            : createHash("sha256").update(object.content).digest("base64");
        headers["x-amz-checksum-type"] = "FULL_OBJECT";
      }
      entry.status = 200;
      res.writeHead(200, { ...headers, "content-length": content.length });
      res.end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m === null || this.faults.ignoreRange === true) return send(200, headers, content);
    const start = Number(m[1]);
    const end = Math.min(content.length - 1, Number(m[2]));
    if (start >= content.length) return error(416, "InvalidRange");
    let body = content.subarray(start, end + 1);
    if (this.faults.extraBytes === true) {
      const padded = new Uint8Array(body.length + 16);
      padded.set(body);
      body = padded;
    }
    headers["content-range"] = `bytes ${start}-${end}/${content.length}`;
    if (this.faults.dripMs !== undefined) {
      entry.status = 206;
      res.writeHead(206, { ...headers, "content-length": body.length });
      let at = 0;
      const timer = setInterval(() => {
        if (at >= body.length || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(Buffer.from([body[at++]!]));
        entry.bodyBytes++;
      }, this.faults.dripMs);
      res.on("close", () => clearInterval(timer));
      return;
    }
    send(206, headers, body);
  }

  /** Serves a virtual object: HEAD with its checksum, a range, or the whole of it in pieces. */
  async #virtual(req: IncomingMessage, res: ServerResponse, entry: S3Request, o: VirtualObject): Promise<void> {
    const headers: Record<string, string | number> = { etag: etagOf(o), "accept-ranges": "bytes" };
    if (req.headers["if-match"] !== undefined && req.headers["if-match"] !== headers.etag) {
      entry.status = 412;
      res.writeHead(412).end();
      return;
    }
    if (req.method === "HEAD") {
      entry.status = 200;
      headers["x-amz-checksum-sha256"] = o.sha256Base64;
      headers["x-amz-checksum-type"] = "FULL_OBJECT";
      res.writeHead(200, { ...headers, "content-length": o.size }).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    const start = m === null ? 0 : Number(m[1]);
    const end = m === null ? o.size - 1 : Math.min(o.size - 1, Number(m[2]));
    if (m !== null) headers["content-range"] = `bytes ${start}-${end}/${o.size}`;
    entry.status = m === null ? 200 : 206;
    res.writeHead(entry.status, { ...headers, "content-length": end - start + 1 });
    for (let at = start; at <= end && !res.destroyed; ) {
      const piece = await o.read(at, Math.min(end + 1, at + (8 << 20)));
      entry.bodyBytes += piece.length;
      at += piece.length;
      if (!res.write(piece)) await new Promise((resolve) => res.once("drain", resolve));
    }
    res.end();
  }

  #list(url: URL, send: (status: number, headers: Record<string, string | number>, body?: string) => void): void {
    const prefix = url.searchParams.get("prefix") ?? "";
    const maxKeys = Number(url.searchParams.get("max-keys") ?? 1000);
    const token = url.searchParams.get("continuation-token");
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    let from = token === null ? 0 : Number(token.replace(/^t/, ""));
    if (this.faults.listingGoesBack === true && token !== null) from = 0;
    let page = keys.slice(from, from + maxKeys);
    let truncated = from + maxKeys < keys.length;
    let next = `t${from + maxKeys}`;
    if (this.faults.endlessPagination === true) {
      page = [];
      truncated = true;
      next = `t${from + 1}`;
    }
    const contents = page
      .map((k) => {
        const o = this.objects.get(k)!;
        return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>2026-10-21T07:28:00.000Z</LastModified><ETag>${xmlEscape(etagOf(o.content))}</ETag><Size>${o.content instanceof Uint8Array ? o.content.length : o.content.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join("");
    send(
      200,
      { "content-type": "application/xml" },
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${this.bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${truncated ? `<NextContinuationToken>${next}</NextContinuationToken>` : ""}${contents}</ListBucketResult>`,
    );
  }
}
