// A loopback mock of the Hugging Face Hub endpoints modelgate (and @huggingface/hub) call:
//   GET  /api/models/{repo}/revision/{rev}              (commit sha; ?securityStatus=true)
//   GET  /api/models/{repo}/tree/{rev}[/{path}]         (Link-paginated, ?recursive, ?expand)
//   POST /api/models/{repo}/paths-info/{rev}
//   GET  /{repo}/resolve/{rev}/{path}                   (LFS: 302 to a CDN on another origin,
//                                                        X-Linked-Etag/X-Linked-Size/X-Repo-Commit;
//                                                        git files served directly)
//   GET  /cdn/{id}                                      (on the CDN server: 200/206/416)
// Datasets and Spaces the same under /api/datasets/, /datasets/{repo}/resolve/, /api/spaces/ and
// /spaces/{repo}/resolve/ (their MockRepo.name is datasets/owner/name or spaces/owner/name).
// Plain TypeScript without relative imports or non-erasable syntax, so bench/ can import it with
// Node's type stripping. Loopback only.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Content generated on demand (large files without allocating them). */
export interface VirtualContent {
  readonly size: number;
  read(start: number, end: number): Uint8Array | Promise<Uint8Array>;
}

/** A file of a commit. */
export interface MockFile {
  path: string;
  content: Uint8Array | VirtualContent;
  /** Stored in LFS (sha256 oid, served through the CDN redirect). Default false. */
  lfs?: boolean;
  /** LFS oid to advertise instead of hashing the content (large virtual files). */
  sha256?: string;
  /** Bytes served instead of `content` (a tampering CDN): the tree still advertises `content`. */
  served?: Uint8Array | VirtualContent;
  /** `securityFileStatus` returned with `expand=true`. */
  security?: unknown;
}

/** A repository: refs and commits. */
export interface MockRepo {
  /** `owner/name` for a model, `datasets/owner/name` or `spaces/owner/name` otherwise. */
  name: string;
  refs: Record<string, string>;
  commits: Record<string, MockFile[]>;
  private?: boolean;
  securityRepoStatus?: unknown;
}

/** What the server answered to one request. */
export interface LogEntry {
  server: "hub" | "cdn";
  method: string;
  path: string;
  range?: string;
  auth?: string;
  status: number;
  bodyBytes: number;
}

/** A fault injected in place of the normal answer. */
export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer normally but cut the body after this many bytes (connection reset). */
  truncateAfter?: number;
  /** Never answer (until the client gives up or the server closes). */
  hang?: boolean;
  /** Answer normally but send the body one byte every this many milliseconds (a drip-feeding server). */
  dripMs?: number;
}

/** Options of the mock. */
export interface MockHubOptions {
  /** Tree entries per page (default 50). */
  pageSize?: number;
  /** Ignore `Range` headers and always send whole files. */
  ignoreRange?: boolean;
  /** Token that grants access to private repositories. */
  token?: string;
  /** Delay before every answer, in ms (so that concurrent requests overlap). */
  latencyMs?: number;
  /** Headers added to (or replacing those of) every resolve answer: a lying Hub. */
  resolveHeaders?: Record<string, string>;
  /** Called for every request; a returned fault replaces the answer. */
  fault?: (req: { server: "hub" | "cdn"; method: string; path: string; range?: string }) => Fault | undefined;
  /**
   * Replaces the tree listing (a hostile Hub): given the folder and the page's cursor (null for
   * the first page), the page's items and the next cursor, if any (sent as `Link: rel="next"`).
   */
  tree?: (page: { path: string; cursor: string | null }) => { items: unknown[]; next?: string };
}

const bytesOf = async (c: Uint8Array | VirtualContent, start: number, end: number): Promise<Uint8Array> =>
  c instanceof Uint8Array ? c.subarray(start, end) : await c.read(start, end);

async function hashContent(c: Uint8Array | VirtualContent, algo: "sha256" | "sha1", prefix = ""): Promise<string> {
  const h = createHash(algo).update(prefix);
  const size = c instanceof Uint8Array ? c.length : c.size;
  for (let at = 0; at < size; at += 8 << 20) h.update(await bytesOf(c, at, Math.min(size, at + (8 << 20))));
  return h.digest("hex");
}

interface Prepared {
  file: MockFile;
  size: number;
  sha256?: string;
  gitOid: string;
  cdnId: string;
}

/** The mock Hub (and its CDN on a second origin). */
export class MockHub {
  readonly log: LogEntry[] = [];
  /** Most requests in progress at once, on both servers. */
  maxConcurrent = 0;
  #concurrent = 0;
  url = "";
  cdnUrl = "";
  readonly #repos = new Map<string, MockRepo>();
  readonly #prepared = new Map<string, Prepared>();
  readonly #cdn = new Map<string, Prepared>();
  readonly #options: MockHubOptions;
  #hub: Server | undefined;
  #cdnServer: Server | undefined;

  constructor(options: MockHubOptions = {}) {
    this.#options = options;
  }

  /** Starts both servers on 127.0.0.1 with ephemeral ports. */
  static async start(repos: MockRepo[], options: MockHubOptions = {}): Promise<MockHub> {
    const hub = new MockHub(options);
    for (const r of repos) await hub.addRepo(r);
    hub.#hub = createServer((req, res) => void hub.#handle("hub", req, res));
    hub.#cdnServer = createServer((req, res) => void hub.#handle("cdn", req, res));
    hub.url = await listen(hub.#hub);
    hub.cdnUrl = await listen(hub.#cdnServer);
    return hub;
  }

  /** Adds (or replaces) a repository, hashing its files. */
  async addRepo(repo: MockRepo): Promise<void> {
    this.#repos.set(repo.name, repo);
    for (const [commit, files] of Object.entries(repo.commits)) {
      for (const file of files) {
        const size = file.content instanceof Uint8Array ? file.content.length : file.content.size;
        const p: Prepared = { file, size, gitOid: "", cdnId: "" };
        if (file.lfs === true) {
          p.sha256 = file.sha256 ?? (await hashContent(file.content, "sha256"));
          const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${p.sha256}\nsize ${size}\n`;
          p.gitOid = createHash("sha1").update(`blob ${pointer.length}\0${pointer}`).digest("hex");
        } else {
          p.gitOid = await hashContent(file.content, "sha1", `blob ${size}\0`);
        }
        p.cdnId = createHash("sha256").update(`${repo.name}\0${commit}\0${file.path}`).digest("hex").slice(0, 32);
        this.#prepared.set(`${repo.name}\0${commit}\0${file.path}`, p);
        this.#cdn.set(p.cdnId, p);
      }
    }
  }

  /** Moves a ref (a push while a scan runs). */
  setRef(repo: string, ref: string, commit: string): void {
    this.#repos.get(repo)!.refs[ref] = commit;
  }

  /** Body bytes sent, optionally only for requests matching a predicate. */
  bodyBytes(filter: (e: LogEntry) => boolean = () => true): number {
    return this.log.filter(filter).reduce((n, e) => n + e.bodyBytes, 0);
  }

  /** Stops both servers. */
  async close(): Promise<void> {
    await Promise.all([this.#hub, this.#cdnServer].map((s) => close(s)));
  }

  async #handle(server: "hub" | "cdn", req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const entry: LogEntry = { server, method: req.method ?? "GET", path: url.pathname, status: 0, bodyBytes: 0 };
    if (typeof req.headers.range === "string") entry.range = req.headers.range;
    if (typeof req.headers.authorization === "string") entry.auth = req.headers.authorization;
    this.log.push(entry);
    this.#concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.#concurrent);
    res.once("close", () => this.#concurrent--);
    const body = await readRequestBody(req);
    if (this.#options.latencyMs !== undefined) await new Promise((r) => setTimeout(r, this.#options.latencyMs));
    const send = async (status: number, headers: Record<string, string>, payload?: Uint8Array | string) => {
      entry.status = status;
      const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
      res.writeHead(status, { ...headers, ...(bytes === undefined ? {} : { "content-length": String(bytes.length) }) });
      if (bytes !== undefined && req.method !== "HEAD") {
        entry.bodyBytes += bytes.length;
        res.end(bytes);
      } else res.end();
    };
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      send(status, { "content-type": "application/json", ...headers }, JSON.stringify(value));
    try {
      const fault = this.#options.fault?.({
        server,
        method: entry.method,
        path: url.pathname,
        ...(entry.range === undefined ? {} : { range: entry.range }),
      });
      if (fault?.hang === true) return;
      if (fault !== undefined && fault.truncateAfter === undefined && fault.dripMs === undefined) {
        await send(
          fault.status,
          { "content-type": "application/json", ...fault.headers },
          fault.body ?? '{"error":"fault"}',
        );
        return;
      }
      if (server === "cdn") {
        const m = /^\/cdn\/([0-9a-f]+)$/.exec(url.pathname);
        const p = m === null ? undefined : this.#cdn.get(m[1]!);
        if (p === undefined) return await json(404, { error: "no such object" });
        await this.#serveContent(req, res, entry, p, {}, fault?.truncateAfter, fault?.dripMs);
        return;
      }
      await this.#hubRoute(req, res, url, body, entry, json, fault?.truncateAfter, fault?.dripMs);
    } catch (error) {
      if (!res.headersSent) await json(500, { error: String(error) });
      else res.destroy();
    }
  }

  #auth(req: IncomingMessage, repo: MockRepo): boolean {
    return repo.private !== true || req.headers.authorization === `Bearer ${this.#options.token}`;
  }

  #resolveRev(repo: MockRepo, rev: string): string | undefined {
    if (repo.commits[rev] !== undefined) return rev;
    const c = repo.refs[rev];
    return c !== undefined && repo.commits[c] !== undefined ? c : undefined;
  }

  async #hubRoute(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: string,
    entry: LogEntry,
    json: (status: number, value: unknown, headers?: Record<string, string>) => Promise<void>,
    truncateAfter: number | undefined,
    dripMs?: number,
  ): Promise<void> {
    const all = url.pathname.split("/").slice(1);
    // /api/{models|datasets|spaces}/owner/name/..., /{datasets|spaces}/owner/name/resolve/..., /owner/name/resolve/...
    const api = all[0] === "api" && /^(models|datasets|spaces)$/.test(all[1] ?? "");
    const typed = api ? all[1]! : /^(datasets|spaces)$/.test(all[0] ?? "") ? all[0]! : "models";
    const parts = api ? all.slice(2) : typed === "models" ? all : all.slice(1);
    const repoName = `${typed === "models" ? "" : `${typed}/`}${parts[0]}/${parts[1]}`;
    const repo = this.#repos.get(decodeURIComponent(repoName));
    if (repo === undefined) return json(404, { error: "Repository not found" }, { "x-error-code": "RepoNotFound" });
    if (!this.#auth(req, repo)) return json(401, { error: "Invalid credentials in Authorization header" });
    const action = parts[2];
    const rev = decodeURIComponent(parts[3] ?? "");
    const rest = parts.slice(4).map(decodeURIComponent).join("/");
    const commit = this.#resolveRev(repo, rev);
    if (commit === undefined)
      return json(404, { error: `Invalid rev id: ${rev}` }, { "x-error-code": "RevisionNotFound" });
    const files = repo.commits[commit]!;
    const prep = (f: MockFile) => this.#prepared.get(`${repo.name}\0${commit}\0${f.path}`)!;
    const expand = url.searchParams.get("expand") === "true";
    const item = (f: MockFile) => {
      const p = prep(f);
      return {
        type: "file",
        oid: p.gitOid,
        size: p.size,
        path: f.path,
        ...(p.sha256 === undefined ? {} : { lfs: { oid: p.sha256, size: p.size, pointerSize: 134 } }),
        ...(expand
          ? {
              lastCommit: { id: commit, title: "upload", date: "2026-01-01T00:00:00.000Z" },
              securityFileStatus: f.security ?? { status: "unscanned" },
            }
          : {}),
      };
    };
    const dirs = new Set<string>();
    for (const f of files) {
      const segs = f.path.split("/");
      for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join("/"));
    }
    const dirItem = (d: string) => ({ type: "directory", oid: "0".repeat(40), size: 0, path: d });

    if (api && action === "revision" && req.method === "GET") {
      const info: Record<string, unknown> = {
        _id: createHash("md5").update(repo.name).digest("hex").slice(0, 24),
        id: repo.name,
        modelId: repo.name,
        sha: commit,
        private: repo.private === true,
        gated: false,
        downloads: 0,
        likes: 0,
        pipeline_tag: "text-generation",
        lastModified: "2026-01-01T00:00:00.000Z",
        siblings: files.map((f) => ({ rfilename: f.path })),
      };
      if (url.searchParams.get("securityStatus") === "true")
        info.securityRepoStatus = repo.securityRepoStatus ?? { scansDone: true, filesWithIssues: [] };
      return json(200, info);
    }
    if (api && action === "tree" && req.method === "GET" && this.#options.tree !== undefined) {
      const page = this.#options.tree({ path: rest, cursor: url.searchParams.get("cursor") });
      const headers: Record<string, string> = {};
      if (page.next !== undefined) {
        const next = new URL(url.href.replace("http://x", this.url));
        next.searchParams.set("cursor", page.next);
        headers.link = `<${next.href}>; rel="next"`;
      }
      return json(200, page.items, headers);
    }
    if (api && action === "tree" && req.method === "GET") {
      const recursive = url.searchParams.get("recursive") === "true";
      const prefix = rest === "" ? "" : `${rest}/`;
      if (rest !== "" && !dirs.has(rest))
        return json(404, { error: "not a directory" }, { "x-error-code": "EntryNotFound" });
      const inside = (p: string) => p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes("/"));
      const all = [...[...dirs].filter(inside).map(dirItem), ...files.filter((f) => inside(f.path)).map(item)].sort(
        (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
      );
      const pageSize = this.#options.pageSize ?? 50;
      const cursor = Number(url.searchParams.get("cursor") ?? "0");
      const page = all.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = {};
      if (cursor + pageSize < all.length) {
        const next = new URL(url.href.replace("http://x", this.url));
        next.searchParams.set("cursor", String(cursor + pageSize));
        headers.link = `<${next.href}>; rel="next"`;
      }
      return json(200, page, headers);
    }
    if (api && action === "paths-info" && req.method === "POST") {
      const parsed = JSON.parse(body) as { paths?: string[]; expand?: boolean };
      const out: unknown[] = [];
      for (const p of parsed.paths ?? []) {
        const f = files.find((x) => x.path === p);
        if (f !== undefined) out.push(item(f));
        else if (dirs.has(p)) out.push(dirItem(p));
      }
      return json(200, out);
    }
    if (!api && action === "resolve" && (req.method === "GET" || req.method === "HEAD")) {
      const f = files.find((x) => x.path === rest);
      if (f === undefined) return json(404, { error: "Entry not found" }, { "x-error-code": "EntryNotFound" });
      const p = prep(f);
      const common = { "x-repo-commit": commit, etag: `"${p.gitOid}"`, ...this.#options.resolveHeaders };
      if (p.sha256 !== undefined) {
        entry.status = 302;
        res.writeHead(302, {
          ...common,
          location: `${this.cdnUrl}/cdn/${p.cdnId}`,
          "x-linked-etag": `"${p.sha256}"`,
          "x-linked-size": String(p.size),
          "content-length": "0",
          ...this.#options.resolveHeaders,
        });
        res.end();
        return;
      }
      return this.#serveContent(req, res, entry, p, common, truncateAfter, dripMs);
    }
    return json(404, { error: "no such endpoint" });
  }

  async #serveContent(
    req: IncomingMessage,
    res: ServerResponse,
    entry: LogEntry,
    p: Prepared,
    headers: Record<string, string>,
    truncateAfter: number | undefined,
    dripMs?: number,
  ): Promise<void> {
    const content = p.file.served ?? p.file.content;
    const size = content instanceof Uint8Array ? content.length : content.size;
    let start = 0;
    let end = size;
    let status = 200;
    const range = req.headers.range;
    if (typeof range === "string" && this.#options.ignoreRange !== true) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m !== null && (m[1] !== "" || m[2] !== "")) {
        if (m[1] === "") {
          start = Math.max(0, size - Number(m[2]));
        } else {
          start = Number(m[1]);
          end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1);
        }
        if (start >= size || end <= start) {
          entry.status = 416;
          res.writeHead(416, { ...headers, "content-range": `bytes */${size}`, "content-length": "0" });
          res.end();
          return;
        }
        status = 206;
      }
    }
    entry.status = status;
    res.writeHead(status, {
      ...headers,
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "content-length": String(end - start),
      ...(status === 206 ? { "content-range": `bytes ${start}-${end - 1}/${size}` } : {}),
    });
    if (req.method === "HEAD") return void res.end();
    const limit = truncateAfter === undefined ? end : Math.min(end, start + truncateAfter);
    for (let at = start; at < limit; ) {
      if (dripMs !== undefined) await new Promise((r) => setTimeout(r, dripMs));
      if (res.destroyed) return;
      const n = Math.min(dripMs === undefined ? 1 << 20 : 1, limit - at);
      const chunk = await bytesOf(content, at, at + n);
      entry.bodyBytes += chunk.length;
      at += n;
      if (!res.write(chunk)) await new Promise<void>((resolve) => res.once("drain", () => resolve()));
      if (res.destroyed) return;
    }
    if (limit < end) {
      res.destroy();
      return;
    }
    res.end();
  }
}

function readRequestBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      s += c;
    });
    req.on("end", () => resolve(s));
    req.on("error", reject);
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (server === undefined) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A safetensors-like file: an 8-byte length, a JSON header, then `dataSize` bytes of zeros. */
export function safetensorsLike(tensors: number, dataSize: number): VirtualContent & { headerLength: number } {
  const per = Math.max(1, Math.floor(dataSize / tensors / 4)) * 4;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  for (let i = 0; i < tensors; i++) {
    const begin = i * per;
    const end = i === tensors - 1 ? dataSize : begin + per;
    header[`layer.${i}.weight`] = { dtype: "F32", shape: [(end - begin) / 4], data_offsets: [begin, end] };
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const head = new Uint8Array(8 + text.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  head.set(new TextEncoder().encode(text), 8);
  const size = head.length + dataSize;
  return {
    size,
    headerLength: head.length,
    read(start, end) {
      const out = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      if (start < head.length) out.set(head.subarray(start, Math.min(end, head.length)), 0);
      return out;
    },
  };
}
