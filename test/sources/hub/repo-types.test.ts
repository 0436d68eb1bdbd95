// Hub datasets and Spaces: the same guarantees as model repositories (pinned commit, listing
// budgets, verified digests, ranged reads, cache, lock files) under /api/datasets/, /datasets/...,
// /api/spaces/ and /spaces/..., and a dataset's loading script reported as such.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ScanReport } from "../../../src/report/schema.js";
import { FileVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import { formatHubUri, parseHubUri } from "../../../src/sources/hub/config.js";
import type { HubTarget } from "../../../src/sources/hub/root.js";
import { buildTar } from "../../containers/tar-builder.js";
import { REPO_ROOT } from "../../helpers/scan.js";
import { reportValidator } from "../../helpers/schema.js";
import { type MockFile, MockHub, type MockRepo } from "./mock-hub.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 3 };
const text = (s: string) => new TextEncoder().encode(s);
const EVIL = readFileSync(join(REPO_ROOT, "samples/pickle/malicious/reduce_p2.pkl"));
const SCRIPT = text(
  "import datasets\n\nclass Squad(datasets.GeneratorBasedBuilder):\n    def _info(self):\n        return datasets.DatasetInfo()\n",
);
const APP = text('import gradio as gr\n\ngr.Interface(fn=lambda x: x, inputs="text", outputs="text").launch()\n');

let hub: MockHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function start(repos: MockRepo[], options: ConstructorParameters<typeof MockHub>[0] = {}): Promise<MockHub> {
  hub = await MockHub.start(repos, options);
  return hub;
}

const dataset = (files: MockFile[], extra: Partial<MockRepo> = {}): MockRepo => ({
  name: "datasets/acme/squad",
  refs: { main: A },
  commits: { [A]: files },
  ...extra,
});

function hubScan(h: MockHub, target: Partial<HubTarget> & { repo: string }, options = {}): Promise<ScanReport> {
  return scan({ hub: { hubUrl: h.url, env: {}, transport: FAST, ...target } }, { concurrency: 2, ...options });
}

const file = (r: ScanReport, path: string) => {
  const f = r.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`no report for ${path}`);
  return f;
};
const rules = (r: ScanReport, path: string) => file(r, path).findings.map((f) => f.ruleId);

describe("hf:// URIs of datasets and Spaces", () => {
  it("parse to a prefixed repository and a type, and format back", () => {
    expect(parseHubUri("hf://datasets/acme/squad")).toEqual({ repo: "datasets/acme/squad", repoType: "dataset" });
    expect(parseHubUri("hf://datasets/acme/squad@refs/convert/parquet/default/train")).toEqual({
      repo: "datasets/acme/squad",
      repoType: "dataset",
      revision: "refs/convert/parquet",
      path: "default/train",
    });
    expect(parseHubUri("hf://spaces/acme/demo@v2/app.py")).toEqual({
      repo: "spaces/acme/demo",
      repoType: "space",
      revision: "v2",
      path: "app.py",
    });
    for (const uri of ["hf://datasets/acme/squad@feature%2Fx/a.pkl", "hf://spaces/acme/demo", "hf://acme/tiny@v1"]) {
      expect(formatHubUri(parseHubUri(uri))).toBe(uri);
    }
    expect(formatHubUri({ repo: "acme/squad", repoType: "dataset" })).toBe("hf://datasets/acme/squad");
    for (const bad of ["hf://datasets/acme", "hf://spaces/acme/../x", "hf://datasets/", "hf://spaces/a--b/x"]) {
      expect(() => parseHubUri(bad), bad).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });

  it("a repoType that contradicts the prefix is refused", async () => {
    await expect(
      scan({ hub: { repo: "datasets/acme/squad", repoType: "space", hubUrl: "http://127.0.0.1:9", env: {} } }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("Hub datasets", () => {
  it("are pinned to the commit the branch named when the scan began, under /api/datasets and /datasets", async () => {
    const h = await start([
      dataset([], {
        commits: {
          [A]: [
            { path: "README.md", content: text("# squad\n") },
            { path: "data/train.pkl", content: new Uint8Array([0x80, 0x02, 0x4b, 0x01, 0x2e]), lfs: true },
            // JSON Lines rows are data, not one (invalid) JSON document.
            { path: "data/dev.jsonl", content: text('{"q":"a"}\n{"q":"b"}\n'), lfs: true },
          ],
          [B]: [{ path: "data/train.pkl", content: EVIL, lfs: true }],
        },
      }),
    ]);
    let moved = false;
    const report = await hubScan(
      h,
      { repo: "acme/squad", repoType: "dataset" },
      {
        onProgress: (e: { phase: string }) => {
          if (e.phase === "list" && !moved) {
            moved = true;
            h.setRef("datasets/acme/squad", "main", B);
          }
        },
      },
    );
    expect(moved).toBe(true);
    expect(report.target).toMatchObject({
      kind: "hub",
      name: "hf://datasets/acme/squad@main",
      hub: { repo: "datasets/acme/squad", repoType: "dataset", revision: "main", commit: A },
    });
    expect(report.verdict).toBe("clean");
    expect(file(report, "data/train.pkl").integrity).toMatchObject({ status: "verified", algorithm: "sha256" });
    expect(reportValidator()(report).valid).toBe(true);
    const paths = h.log.filter((e) => e.server === "hub").map((e) => e.path);
    expect(paths[0]).toBe("/api/datasets/acme/squad/revision/main");
    expect(paths).toContain(`/api/datasets/acme/squad/tree/${A}`);
    expect(paths).toContain(`/datasets/acme/squad/resolve/${A}/data/train.pkl`);
    expect(paths.every((p) => p.startsWith("/api/datasets/acme/squad/") || p.startsWith("/datasets/acme/squad/"))).toBe(
      true,
    );
  });

  it("scan a malicious pickle and an archive holding one as usual, and are not the model of the same id", async () => {
    const tar = buildTar([{ name: "shard-0/state.pkl", data: EVIL }]);
    const h = await start([
      dataset([
        { path: "data/train.pkl", content: EVIL, lfs: true },
        { path: "data/shards.tar", content: tar, lfs: true },
      ]),
      { name: "acme/squad", refs: { main: C }, commits: { [C]: [{ path: "README.md", content: text("# model\n") }] } },
    ]);
    const report = await hubScan(h, { repo: "datasets/acme/squad" });
    expect(report.verdict).toBe("malicious");
    expect(rules(report, "data/train.pkl")).toContain("pickle/dangerous-global");
    expect(file(report, "data/train.pkl").integrity?.status).toBe("verified");
    expect(file(report, "data/shards.tar").verdict).toBe("malicious");
    expect(JSON.stringify(file(report, "data/shards.tar"))).toContain("pickle/dangerous-global");
    const model = await hubScan(h, { repo: "acme/squad" });
    expect(model.target.hub).toMatchObject({ repo: "acme/squad", repoType: "model", commit: C });
    expect(model.verdict).toBe("clean");
  });

  it("report the top-level loading script <name>.py, only for datasets", async () => {
    const files: MockFile[] = [
      { path: "squad.py", content: SCRIPT },
      { path: "utils/squad.py", content: SCRIPT },
      { path: "README.md", content: text("# squad\n") },
    ];
    const h = await start([dataset(files), { name: "acme/squad", refs: { main: C }, commits: { [C]: files } }]);
    const report = await hubScan(h, { repo: "datasets/acme/squad" });
    const script = file(report, "squad.py").findings.find((f) => f.ruleId === "repo/dataset-script");
    expect(script).toMatchObject({ severity: "medium", evidence: { dataset: "datasets/acme/squad", commit: A } });
    expect(rules(report, "squad.py")).toContain("repo/python-file");
    expect(rules(report, "utils/squad.py")).not.toContain("repo/dataset-script");
    expect(file(report, "squad.py").integrity).toMatchObject({ status: "verified", algorithm: "git-blob-sha1" });
    const model = await hubScan(h, { repo: "acme/squad" });
    expect(rules(model, "squad.py")).not.toContain("repo/dataset-script");
    expect(reportValidator()(report).valid).toBe(true);
  });

  it("served bytes that contradict the listed oid are a mismatch, as for models", async () => {
    const h = await start([dataset([{ path: "train.pkl", content: EVIL, served: text("x"), lfs: true }])]);
    const report = await hubScan(h, { repo: "datasets/acme/squad" });
    expect(rules(report, "train.pkl")).toContain("hub/integrity-mismatch");
    expect(report.verdict).not.toBe("clean");
  });

  it("keep the listing's budgets", async () => {
    const files = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}.txt`, content: text(`row ${i}\n`) }));
    const h = await start([dataset(files)], { pageSize: 2 });
    const report = await hubScan(h, { repo: "datasets/acme/squad", listing: { maxPages: 3 } });
    expect(report.complete).toBe(false);
    expect(rules(report, ".")).toContain("scan/budget-exceeded");
    expect(report.files.filter((f) => f.path !== ".").length).toBe(6);
  });

  it("read large files by ranges", async () => {
    const big = new Uint8Array(4 << 20);
    const header = text('{"x":{"dtype":"F32","shape":[1048576],"data_offsets":[0,4194304]}}');
    const st = new Uint8Array(8 + header.length + big.length);
    new DataView(st.buffer).setBigUint64(0, BigInt(header.length), true);
    st.set(header, 8);
    const h = await start([dataset([{ path: "emb.safetensors", content: st, lfs: true }])]);
    const report = await hubScan(h, { repo: "datasets/acme/squad" });
    expect(report.verdict).toBe("clean");
    expect(file(report, "emb.safetensors").integrity?.status).toBe("partial");
    expect(h.bodyBytes((e) => e.server === "cdn")).toBeLessThan(st.length / 10);
  });

  it("honour lock files and share the verdict cache with every other source", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-hub-ds-"));
    try {
      const h = await start([
        dataset([{ path: "train.pkl", content: EVIL, lfs: true }]),
        { name: "acme/copy", refs: { main: C }, commits: { [C]: [{ path: "train.pkl", content: EVIL, lfs: true }] } },
      ]);
      const cache = new FileVerdictCache(dir);
      await hubScan(h, { repo: "acme/copy" }, { cache });
      const warm = await hubScan(h, { repo: "datasets/acme/squad" }, { cache });
      expect(file(warm, "train.pkl")).toMatchObject({ cached: true, verdict: "malicious" });
      const pinned = await hubScan(h, { repo: "datasets/acme/squad" }, { pins: { "train.pkl": "0".repeat(64) } });
      expect(rules(pinned, "train.pkl")).toContain("integrity/pin-mismatch");
      const sha = createHash("sha256").update(EVIL).digest("hex");
      const ok = await hubScan(h, { repo: "datasets/acme/squad" }, { pins: { "train.pkl": sha } });
      expect(rules(ok, "train.pkl")).not.toContain("integrity/pin-mismatch");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a private dataset needs the token", async () => {
    const h = await start([dataset([{ path: "a.txt", content: text("a") }], { private: true })], {
      token: "hf_x",
    });
    await expect(hubScan(h, { repo: "datasets/acme/squad" })).rejects.toMatchObject({ code: "NETWORK" });
    const ok = await hubScan(h, { repo: "datasets/acme/squad", token: "hf_x" });
    expect(ok.complete).toBe(true);
  });
});

describe("Hub Spaces", () => {
  it("are listed and read under /api/spaces and /spaces; app.py is Python shipped to be run", async () => {
    const h = await start([
      {
        name: "spaces/acme/demo",
        refs: { main: A },
        commits: {
          [A]: [
            { path: "app.py", content: APP },
            { path: "requirements.txt", content: text("gradio\n") },
            { path: "model/weights.pkl", content: EVIL, lfs: true },
          ],
        },
      },
    ]);
    const report = await hubScan(h, { repo: "acme/demo", repoType: "space", paths: ["app.py", "model"] });
    expect(report.target).toMatchObject({
      name: "hf://spaces/acme/demo@main",
      hub: { repo: "spaces/acme/demo", repoType: "space", commit: A, paths: ["app.py", "model"] },
    });
    expect(rules(report, "app.py")).toContain("repo/python-file");
    expect(rules(report, "app.py")).not.toContain("repo/dataset-script");
    expect(file(report, "model/weights.pkl").verdict).toBe("malicious");
    expect(report.files.some((f) => f.path === "requirements.txt")).toBe(false);
    const paths = h.log.filter((e) => e.server === "hub").map((e) => e.path);
    expect(paths).toContain(`/api/spaces/acme/demo/paths-info/${A}`);
    expect(paths).toContain(`/spaces/acme/demo/resolve/${A}/app.py`);
    expect(reportValidator()(report).valid).toBe(true);
  });
});
