// The scan service in-process: the HTTP API round trip (submit, poll, the report in three
// formats), auth, roots (outside, '..', symbolic links out), uploads and their cap, the OpenAPI
// document, metrics and the rate limit.
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../src/service/server.js";
import { REPO_ROOT, SAMPLES } from "../helpers/scan.js";

const TOKEN = "test-token-0123456789abcdef";
let dir: string;
let root: string;
let outside: string;
let uploads: string;
let server: RunningServer;

const api = (path: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> => {
  const headers = new Headers(init.headers);
  if (init.auth !== false) headers.set("authorization", `Bearer ${TOKEN}`);
  return fetch(`${server.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(10_000) });
};
const submit = (body: unknown) =>
  api("/v1/scans", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function waitDone(id: string, query = ""): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await api(`/v1/scans/${id}${query}`);
    const body = (await res.json()) as Record<string, unknown>;
    if (body.state === "completed" || body.state === "failed") return body;
    if (Date.now() > deadline) throw new Error(`job ${id} not done: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mg-serve-"));
  root = join(dir, "root");
  outside = join(dir, "outside");
  uploads = join(dir, "uploads");
  mkdirSync(join(root, "models"), { recursive: true });
  mkdirSync(outside);
  mkdirSync(uploads, { mode: 0o700 });
  copyFileSync(join(SAMPLES, "pickle/malicious/exec_string.pkl"), join(root, "models/evil.pkl"));
  copyFileSync(join(SAMPLES, "safetensors/clean-model.safetensors"), join(root, "models/clean.safetensors"));
  copyFileSync(join(SAMPLES, "pickle/malicious/exec_string.pkl"), join(outside, "secret.pkl"));
  symlinkSync(outside, join(root, "escape"));
  writeFileSync(join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
  chmodSync(join(dir, "token"), 0o600);
  server = await startServer({
    port: 0,
    tokenFile: join(dir, "token"),
    roots: [root],
    uploadDir: uploads,
    maxUploadBytes: 64 * 1024,
    concurrency: 2,
    requestPolicies: true,
  });
}, 20_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}, 20_000);

describe("in-process scan service", () => {
  it("scans a path under a root and serves the report as JSON, SARIF and CycloneDX", async () => {
    const res = await submit({ target: join(root, "models") });
    expect(res.status).toBe(202);
    const { id, duplicate } = (await res.json()) as { id: string; duplicate: boolean };
    expect(id).toMatch(/^mg-[0-9a-f]{40}$/);
    expect(duplicate).toBe(false);
    const done = await waitDone(id);
    expect(done.state).toBe("completed");
    expect(done.verdict).toBe("malicious");
    const report = done.report as { files: { path: string; verdict: string }[]; complete: boolean };
    expect(report.complete).toBe(true);
    expect(report.files.map((f) => f.path).sort()).toEqual(["clean.safetensors", "evil.pkl"]);
    // Progress updates are throttled; a completed job counts every file of its report as done.
    expect(done.progress).toMatchObject({ filesTotal: 2, filesDone: 2, path: "" });
    const sarif = (await (await api(`/v1/scans/${id}?format=sarif`)).json()) as {
      report: { version: string; runs: unknown[] };
    };
    expect(sarif.report.version).toBe("2.1.0");
    expect(sarif.report.runs.length).toBe(1);
    const cdx = (await (await api(`/v1/scans/${id}?format=cyclonedx`)).json()) as {
      report: { bomFormat: string; specVersion: string };
    };
    expect(cdx.report.bomFormat).toBe("CycloneDX");
    expect(cdx.report.specVersion).toBe("1.6");
    const bad = await api(`/v1/scans/${id}?format=xml`);
    expect(bad.status).toBe(400);
  }, 20_000);

  it("accepts a path relative to the first root; an unpinned path is rescanned once finished", async () => {
    const first = (await (await submit({ target: "models/evil.pkl" })).json()) as { id: string };
    const again = (await (await submit({ target: "models/evil.pkl" })).json()) as { id: string; duplicate: boolean };
    expect(again).toEqual({ id: first.id, duplicate: true });
    await waitDone(first.id);
    const later = (await (await submit({ target: "models/evil.pkl" })).json()) as { id: string; duplicate: boolean };
    expect(later.duplicate).toBe(false);
    expect(later.id).not.toBe(first.id);
    await waitDone(later.id);
  }, 20_000);

  it("refuses requests without the bearer token, and answers healthz and the OpenAPI document without it", async () => {
    const none = await api("/v1/scans/mg-x", { auth: false });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
    const wrong = await api("/metrics", { auth: false, headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const submitNoAuth = await api("/v1/scans", {
      auth: false,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: "models" }),
    });
    expect(submitNoAuth.status).toBe(401);
    expect((await api("/healthz", { auth: false })).status).toBe(200);
    const doc = await (await api("/v1/openapi.json", { auth: false })).json();
    // The committed copy: regenerate with UPDATE_OPENAPI=1 npx vitest run test/service/http.test.ts
    const committed = join(REPO_ROOT, "docs/openapi.json");
    if (process.env.UPDATE_OPENAPI === "1") writeFileSync(committed, `${JSON.stringify(doc, null, 2)}\n`);
    expect(doc).toEqual(JSON.parse(readFileSync(committed, "utf8")));
  });

  it("refuses paths outside the roots: elsewhere, '..', a symbolic link out, and missing ones", async () => {
    const cases: [unknown, number, string][] = [
      [{ target: join(outside, "secret.pkl") }, 403, "PATH_OUTSIDE_ROOT"],
      [{ target: `${root}/../outside/secret.pkl` }, 403, "PATH_OUTSIDE_ROOT"],
      [{ target: "models/../../outside/secret.pkl" }, 403, "PATH_OUTSIDE_ROOT"],
      [{ target: join(root, "escape/secret.pkl") }, 403, "PATH_OUTSIDE_ROOT"],
      [{ target: "escape" }, 403, "PATH_OUTSIDE_ROOT"],
      [{ target: "/etc/passwd" }, 403, "PATH_OUTSIDE_ROOT"],
      [{ target: "models/missing.pkl" }, 404, "PATH_NOT_FOUND"],
      [{ target: "file:///etc/passwd" }, 400, "INVALID_TARGET"],
      [{ target: "http://example.com/x" }, 400, "INVALID_TARGET"],
      [{ target: "models", policy: { limits: { maxFileBytes: 1 } } }, 400, "INVALID_POLICY"],
      [{ target: "models", policy: { severity: { "no/such-rule": "low" } } }, 400, "INVALID_POLICY"],
      [{ target: "models", output: "/tmp/x" }, 400, "BAD_REQUEST"],
      [{}, 400, "BAD_REQUEST"],
    ];
    for (const [body, status, code] of cases) {
      const res = await submit(body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), status]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const big = await submit({ target: "x".repeat(70_000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("scans an uploaded file from a private temporary file, removed afterwards, and enforces the cap", async () => {
    const bytes = readFileSync(join(SAMPLES, "pickle/malicious/exec_string.pkl"));
    const res = await api("/v1/scans/upload?name=../../evil%20model.pkl", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = await waitDone(id);
    expect(done.verdict).toBe("malicious");
    expect(done.target).toBe("upload:evil_model.pkl");
    const report = done.report as { files: { path: string; sha256: string }[] };
    expect(report.files[0]?.path).toBe("evil_model.pkl");
    await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(uploads)).toEqual([]);

    // The same bytes under another name are another job (the name is part of what is scanned, and
    // the first uploader's name never reaches the second); under the same name, the same job.
    const upload = async (name: string) =>
      (await (
        await api(`/v1/scans/upload?name=${name}`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: bytes,
        })
      ).json()) as { id: string; duplicate: boolean };
    const other = await upload("weights.pt");
    expect(other.id).not.toBe(id);
    expect(((await waitDone(other.id)).report as { files: { path: string }[] }).files[0]?.path).toBe("weights.pt");
    expect((await upload("weights.pt")).id).toBe(other.id);

    const tooBig = await api("/v1/scans/upload?name=big.bin", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(65 * 1024),
    });
    expect(tooBig.status).toBe(413);
    // Streamed past the cap without a length: refused while spooling, nothing left behind.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(8192));
        c.close();
      },
    });
    const streamed = await api("/v1/scans/upload?name=big.bin", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(readdirSync(uploads)).toEqual([]);
    const wrongType = await api("/v1/scans/upload", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(wrongType.status).toBe(415);
  }, 20_000);

  it("serves Prometheus metrics", async () => {
    const text = await (await api("/metrics")).text();
    expect(text).toMatch(/^modelgate_jobs\{state="completed"\} [1-9]/m);
    expect(text).toMatch(/^modelgate_scan_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^modelgate_bytes_read_total [1-9]/m);
    expect(text).toMatch(/^modelgate_errors_total\{code="PATH_OUTSIDE_ROOT"\} [1-9]/m);
    expect(text).toContain("modelgate_cache_hits_total");
  });

  it("answers unknown jobs with 404 NOT_FOUND", async () => {
    const res = await api("/v1/scans/mg-0000");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });
});

describe("request policies", () => {
  it("are refused unless the operator allows them: the server's policy is the only one", async () => {
    const policy = { signature: { required: true } } as const;
    const strict = await startServer({ port: 0, tokenFile: join(dir, "token"), roots: [root], policy });
    try {
      const post = (body: unknown) =>
        fetch(`${strict.url}/v1/scans`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      for (const requestPolicy of [{ disable: ["pickle/dangerous-global"] }, {}]) {
        const res = await post({ target: "models/evil.pkl", policy: requestPolicy });
        expect(res.status).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("POLICY_NOT_ALLOWED");
      }
      const res = await post({ target: "models/evil.pkl" });
      expect(res.status).toBe(202);
      await res.arrayBuffer();
    } finally {
      await strict.close();
    }
  }, 10_000);
});

describe("rate limit", () => {
  it("answers 429 RATE_LIMITED past the limit", async () => {
    const limited = await startServer({ port: 0, tokenFile: join(dir, "token"), roots: [root], rateLimitPerMinute: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${limited.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await limited.close();
    }
  }, 10_000);

  it("refuses a token file others can write", async () => {
    const loose = join(dir, "loose-token");
    writeFileSync(loose, TOKEN);
    chmodSync(loose, 0o666);
    await expect(startServer({ port: 0, tokenFile: loose, roots: [] })).rejects.toThrow(/writable by group or others/);
  });

  it("refuses a token file others can read (a secret must be mode 0600)", async () => {
    const readable = join(dir, "readable-token");
    writeFileSync(readable, TOKEN);
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(readable, mode);
      await expect(startServer({ port: 0, tokenFile: readable, roots: [] })).rejects.toThrow(
        /readable by group or others/,
      );
    }
  });
});
