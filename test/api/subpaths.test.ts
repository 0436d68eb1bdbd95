// The package as a consumer sees it: every entry point of `exports` resolves from the built dist/
// through a node_modules/modelgate link (as after `npm install modelgate`), the format readers
// work through it, deep imports are refused, and the published declaration files type-check with
// complete `RuleId`, `Format` and `PolicyOptions` (their registries are filled by declaration
// merging in the format modules).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, SAMPLES } from "../helpers/scan.js";

const BUILT = join(REPO_ROOT, "dist", "index.js");
const SUBPATHS = [
  "report",
  "policy",
  "signing",
  "hub",
  "pickle",
  "safetensors",
  "gguf",
  "onnx",
  "numpy",
  "zip",
  "service",
];

const newestMtime = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const path = join(dir, e.name);
    return Math.max(max, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);

let dir: string;
beforeAll(() => {
  if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < newestMtime(join(REPO_ROOT, "src"))) {
    execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs")], { stdio: "ignore" });
  }
  dir = mkdtempSync(join(tmpdir(), "mg-consumer-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO_ROOT, join(dir, "node_modules", "modelgate"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
}, 180_000);
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Runs an ES module in the consumer directory and returns what it printed as JSON. */
function run(code: string): unknown {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, code);
  const result = spawnSync(process.execPath, [file], { cwd: dir, encoding: "utf8" });
  expect(result.stderr, code).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

describe("the package's entry points, as installed", () => {
  it("resolve to dist/ through the package's exports", () => {
    const specifiers = ["modelgate", ...SUBPATHS.map((s) => `modelgate/${s}`)];
    const resolved = run(`
      const out = {};
      for (const s of ${JSON.stringify(specifiers)}) {
        const url = import.meta.resolve(s);
        const m = await import(s);
        out[s] = { url: new URL(url).pathname, exports: Object.keys(m).length };
      }
      console.log(JSON.stringify(out));
    `) as Record<string, { url: string; exports: number }>;
    expect(resolved.modelgate?.url).toBe(BUILT);
    for (const s of SUBPATHS) {
      expect(resolved[`modelgate/${s}`]?.url).toBe(join(REPO_ROOT, "dist", "entries", `${s}.js`));
      expect(resolved[`modelgate/${s}`]?.exports, s).toBeGreaterThan(0);
    }
  });

  it("refuse deep imports of the engine", () => {
    const out = run(`
      const refused = [];
      for (const s of ["modelgate/dist/formats/pickle/vm.js", "modelgate/entries/input", "modelgate/src/index.ts"]) {
        try { await import(s); } catch (e) { refused.push(e.code); }
      }
      console.log(JSON.stringify(refused));
    `);
    expect(out).toEqual([
      "ERR_PACKAGE_PATH_NOT_EXPORTED",
      "ERR_PACKAGE_PATH_NOT_EXPORTED",
      "ERR_PACKAGE_PATH_NOT_EXPORTED",
    ]);
  });

  it("read through the subpaths, returning plain data", () => {
    const out = run(`
      import { readFileSync } from "node:fs";
      import { readPickle, disassemblePickle } from "modelgate/pickle";
      import { readSafetensors } from "modelgate/safetensors";
      import { readGguf } from "modelgate/gguf";
      import { readOnnx } from "modelgate/onnx";
      import { readNpy } from "modelgate/numpy";
      import { readZip } from "modelgate/zip";
      const S = ${JSON.stringify(`${SAMPLES}/`)};
      const pickle = await readPickle(S + "pickle/malicious/exec_string.pkl");
      const ops = await disassemblePickle(readFileSync(S + "pickle/malicious/exec_string.pkl"), { maxOps: 4 });
      const st = await readSafetensors(S + "safetensors/clean-model.safetensors");
      const gguf = await readGguf(S + "gguf/clean-llama.gguf");
      const onnx = await readOnnx(S + "onnx/clean/mlp_torch.onnx");
      const npy = await readNpy(S + "pickle/numpy/object.npy");
      const zip = await readZip(S + "containers/zip/name-mismatch.zip");
      console.log(JSON.stringify({
        globals: pickle.globals.map((g) => g.name),
        worst: pickle.findings.find((f) => f.ruleId === "pickle/dangerous-global")?.severity,
        ops: ops.ops.map((o) => o.name),
        tensors: st.tensors.length,
        arch: gguf.metadata.find((kv) => kv.key === "general.architecture")?.value,
        onnxOps: onnx.operators.map((o) => o.opType),
        object: npy.dtype.object,
        zipIssues: zip.issues.map((i) => i.ruleId),
      }));
    `);
    expect(out).toEqual({
      globals: ["builtins.exec"],
      worst: "critical",
      ops: ["PROTO", "SHORT_BINUNICODE", "SHORT_BINUNICODE", "STACK_GLOBAL"],
      tensors: expect.any(Number),
      arch: "llama",
      onnxOps: ["Gemm", "Relu", "Softmax"],
      object: true,
      zipIssues: expect.arrayContaining(["zip/name-mismatch"]),
    });
    expect((out as { tensors: number }).tensors).toBeGreaterThan(0);
  });

  it("type-check against the published declarations, with complete rule ids, formats and policy sections", () => {
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2023",
          lib: ["es2023"],
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [join(REPO_ROOT, "node_modules", "@types")],
        },
        include: ["*.ts"],
      }),
    );
    // ioredis's declarations (behind `modelgate/service`) import `redis-errors`, which ships no
    // types; a consumer type-checking libraries declares it, as docs/deployment.md says.
    writeFileSync(join(dir, "redis-errors.d.ts"), `declare module "redis-errors";\n`);
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { type Format, type PolicyOptions, type RuleId, type ScanReport, scan } from "modelgate";
import { type ReaderIssue, readPickle } from "modelgate/pickle";
import type { SafetensorsView } from "modelgate/safetensors";
${SUBPATHS.map((s, i) => `import * as m${i} from "modelgate/${s}";`).join("\n")}
export const modules = [${SUBPATHS.map((_, i) => `m${i}`).join(", ")}];
export const rule: RuleId = "pickle/dangerous-global";
export const format: Format = "safetensors";
// @ts-expect-error not a registered rule
export const badRule: RuleId = "pickle/no-such-rule";
// @ts-expect-error not a format
export const badFormat: Format = "no-such-format";
export const policy: PolicyOptions = { pickle: { allow: ["a.b"] }, signature: { required: true }, limits: { maxDepth: 2 } };
export async function check(): Promise<RuleId | undefined> {
  const report: ScanReport = await scan("x", { policy });
  const issue: ReaderIssue | undefined = (await readPickle(new Uint8Array([0x80, 4, 0x4e, 0x2e]))).findings[0];
  const view: SafetensorsView | undefined = undefined;
  return view ?? issue?.ruleId ?? report.files[0]?.findings[0]?.ruleId;
}
`,
    );
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 60_000);
});

describe("the built CLI, as installed", () => {
  // The built CLI resolves its own imports itself (cli/own-imports.ts); the sources never take that
  // path in tests, so this runs dist/cli/main.js through the node_modules link, as a user's shell does.
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(dir, "node_modules", "modelgate", "dist", "cli", "main.js"), ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: "1", NODE_OPTIONS: "" },
    });

  it("scans the pickle samples with the same verdicts as the sources' engine", async () => {
    const { scan } = await import("../../src/scan/engine.js");
    const target = join(SAMPLES, "pickle");
    const result = cli("scan", target, "--format", "json");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(2); // the samples include malicious pickles
    const built = JSON.parse(result.stdout) as { files: { path: string; verdict: string }[] };
    const direct = await scan(target);
    const verdicts = (files: readonly { path: string; verdict: string }[]) =>
      Object.fromEntries(files.map((f) => [f.path, f.verdict]));
    expect(built.files.length).toBeGreaterThan(10);
    expect(verdicts(built.files)).toEqual(verdicts(direct.files));
  }, 120_000);
});
