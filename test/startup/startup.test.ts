/**
 * Start-up guards (issue 18): what a process loads to import the library and to scan one small
 * pickle with the default policy. Each case runs a child node on the TypeScript sources with a
 * resolve hook that records every module it loads (`record-hooks.mjs`), then checks that heavy
 * packages a command does not need stay unloaded: analyzers load on first use (`lazyAnalyzer`),
 * and Sigstore, protobuf, YAML and the Hub client only with the command or format that uses them.
 * The time figures themselves come from `npm run bench -- startup`, not from here.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { findPolicyFile } from "../../src/policy/load.js";
import { REPO_ROOT } from "../helpers/scan.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "mg-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** pickle.dumps({"weights": [1.0, 2.5], "name": "small", "layers": (3, 4)}, protocol=4), as in bench/startup.bench.mjs */
const SMALL_PICKLE =
  "80049543000000000000007d94288c0777656967687473945d9428473ff0000000000000474004000000000000658c046e616d65948c05736d616c6c948c066c6179657273944b034b048694752e";

const SRC_URL = `${pathToFileURL(join(REPO_ROOT, "src")).href}/`;
const src = (path: string) => SRC_URL + path;

interface Loaded {
  /** npm packages loaded (`@scope/name` or `name`). */
  readonly packages: Set<string>;
  /** Source files loaded (file URLs under src/). */
  readonly sources: string[];
  /** Every module loaded from a file (sources and npm packages; `node:` built-ins excluded). */
  readonly modules: number;
  /** Node's built-in modules loaded by the time the process exited (public and internal names). */
  readonly builtins: Set<string>;
  /** The child's standard output and error. */
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs node in a child process on the sources with the recording hook and reports what it loaded:
 * `args` is an ES module script (`-e`) or a script file and its arguments. Fails unless the child
 * exits with `exitCode`.
 */
async function loaded(name: string, args: readonly string[], cwd = REPO_ROOT, exitCode = 0): Promise<Loaded> {
  const log = join(dir, `${name}.log`);
  writeFileSync(log, "");
  const { code, stdout, stderr } = await run(
    process.execPath,
    [
      "--experimental-transform-types",
      "--no-warnings",
      "--import",
      pathToFileURL(join(REPO_ROOT, "test/helpers/ts-register.mjs")).href,
      "--import",
      pathToFileURL(join(REPO_ROOT, "test/startup/record-hooks.mjs")).href,
      ...args,
    ],
    { cwd, env: { ...process.env, MODELGATE_RECORD_MODULES: log, NODE_OPTIONS: "" }, timeout: 60_000 },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (error: { code?: unknown; stdout?: string; stderr?: string }) => {
      if (typeof error.code !== "number") throw error;
      return { code: error.code, stdout: error.stdout ?? "", stderr: error.stderr ?? "" };
    },
  );
  if (code !== exitCode) throw new Error(`${name}: exit ${code}, expected ${exitCode}\n${stderr}`);
  const urls = [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))];
  const packages = new Set<string>();
  for (const url of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m !== null) packages.add(m[1]!);
  }
  const sources = urls.filter((u) => u.startsWith(SRC_URL));
  const builtins = new Set(urls.filter((u) => u.startsWith("builtin:")).map((u) => u.slice("builtin:".length)));
  return { packages, sources, modules: urls.filter((u) => u.startsWith("file:")).length, builtins, stdout, stderr };
}

/** `loaded` for an ES module script. */
const loadedBy = (name: string, script: string): Promise<Loaded> => loaded(name, ["--input-type=module", "-e", script]);

/** Packages that no import of the library and no scan of a plain pickle may load. */
const HEAVY = [
  "protobufjs",
  "@sigstore/core",
  "@sigstore/verify",
  "@sigstore/tuf",
  "@sigstore/bundle",
  "@sigstore/protobuf-specs",
  "yaml",
  "@huggingface/hub",
  "@huggingface/jinja",
  "saxes",
  "flatbuffers",
  "fastify",
  "bullmq",
  "ioredis",
  "@aws-sdk/client-s3",
];

/**
 * Most modules `import("modelgate")` may load (11 when this was written: errors, limits, severity,
 * version, verdict ranks, the verdict cache, the Hub settings and transport). The main entry's
 * asynchronous functions load the engine on their first call; a ceiling keeps a new export from
 * quietly pulling the registry back in.
 */
const MAIN_ENTRY_MAX_MODULES = 25;

/**
 * Most modules `modelgate scan small.pkl --format json` may load from the sources: 132 when this
 * was written (167 before each format's detector moved into its `index.ts`, 241 before the rules
 * files, the detectors' readers and the repository analyzers left the default path; 342 before
 * zod did), about 60 of them the registry's format modules (index files, which detection needs
 * eagerly) and the pickle engine. A new format adds one, and so does a new pickle profile (the
 * policy loads every profile's JSON: 146 with xgboost's; 148 with the CNTK and DVC formats; 151 with
 * the pickle engine's bound-method table and module, and PyTorch's record-name rules the pickle
 * analyzer shares; 152 with the pandas profile; 156 with the networkx, gensim, nltk and
 * statsmodels profiles; 162 with the pickle engine's protocol-method tables and module, the shared
 * pickle claim table, and core's array helpers and archive name lists; 165 with the sweep after a
 * stopped analysis and its names-only reading on, which the pickle analysis loads with the sweep).
 */
const CLI_SCAN_MAX_MODULES = 165;

/**
 * Files of the format, container and integrity folders other than `index.ts` and detectors that a
 * scan of one small pickle may load: the pickle engine and analyzer (the file is a pickle), the
 * small tables some detectors share (the pyc header, R's integer words, torch.package's layout and record names,
 * the strict Sigstore bundle shape), the version-control names the directory walk skips, and the
 * engine's hashing.
 */
const SCAN_SUPPORT_FILES =
  /^formats\/pickle\/|^formats\/marshal\/(?:marshal|pyc)\.ts$|^formats\/(?:media\/signatures|r\/header|r\/ints|skops\/names|torch7\/cursor|joblib\/layout|pytorch\/package-layout|pytorch\/record-names)\.ts$|^integrity\/hash\/|^integrity\/oms\/(?:requirement|shape)\.ts$|^integrity\/vcs\.ts$/;

/** A small policy file, mode 0600 (a policy writable by others is refused). */
function writePolicy(name: string, policy: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(policy), { mode: 0o600 });
  return path;
}

/** Repository analyzers in an `analyzer.ts`: they run on every scan (their heavy parts load on use). */
const REPO_ANALYZER_FILES = ["formats/license/analyzer.ts"];

/** Source files of file-format analyzers among `sources`, relative to src/. */
const analyzerFiles = (sources: readonly string[]): string[] =>
  sources
    .map((u) => u.slice(SRC_URL.length))
    .filter((f) => /^(?:formats|containers)\/[^/]+\/analyzer\.ts$/.test(f) && !REPO_ANALYZER_FILES.includes(f))
    .sort();

/** Source files under these folders of src/, relative to src/. */
const under = (sources: readonly string[], ...folders: string[]): string[] =>
  sources.map((u) => u.slice(SRC_URL.length)).filter((f) => folders.some((d) => f.startsWith(`${d}/`)));

describe("start-up", () => {
  it("sanity: the recorder sees packages a script loads", async () => {
    const { packages, modules, builtins } = await loadedBy(
      "sanity",
      'await import("yaml"); await import("protobufjs/minimal.js"); process.getBuiltinModule("node:zlib");',
    );
    expect(packages.has("yaml")).toBe(true);
    expect(packages.has("protobufjs")).toBe(true);
    expect(modules).toBeGreaterThanOrEqual(2);
    // built-ins are seen however they are loaded, and those a bare start has are told apart
    expect(builtins.has("zlib")).toBe(true);
    expect(builtins.has("worker_threads")).toBe(false);
  }, 60_000);

  it("importing the main entry loads no zod, Sigstore, registry, format or engine module, and few modules", async () => {
    const { packages, sources, modules } = await loadedBy(
      "import",
      `const m = await import(${JSON.stringify(src("index.ts"))});
       for (const f of ["scan", "scanMany", "loadPolicyFile", "verifyModel", "verifyAttestation"])
         if (typeof m[f] !== "function") process.exit(3);`,
    );
    expect([...packages]).toEqual([]);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
    expect(under(sources, "registry", "formats", "containers", "integrity", "policy", "service")).toEqual([]);
    expect(under(sources, "scan").map((f) => f.slice("scan/".length))).toEqual(["cache.ts"]);
    expect(modules).toBeGreaterThan(3);
    expect(modules).toBeLessThanOrEqual(MAIN_ENTRY_MAX_MODULES);
  }, 60_000);

  it("a scan through the main entry loads the engine on first call", async () => {
    const pkl = join(dir, "small.pkl");
    writeFileSync(pkl, Buffer.from(SMALL_PICKLE, "hex"));
    const { packages, sources } = await loadedBy(
      "import-scan",
      `const { scan } = await import(${JSON.stringify(src("index.ts"))});
       const r = await scan(${JSON.stringify(pkl)});
       if (r.verdict !== "clean") process.exit(3);`,
    );
    expect(under(sources, "registry").length).toBeGreaterThan(0);
    expect(analyzerFiles(sources)).toEqual(["formats/pickle/analyzer.ts"]);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
    // the default policy needs no validation, so no schema
    expect(packages.has("zod")).toBe(false);
  }, 60_000);

  it("scanning a small pickle with the default policy loads the pickle analyzer only, and no Sigstore, protobuf, YAML or Jinja", async () => {
    const pkl = join(dir, "small.pkl");
    writeFileSync(pkl, Buffer.from(SMALL_PICKLE, "hex"));
    const { packages, sources } = await loadedBy(
      "scan",
      `const { scan } = await import(${JSON.stringify(src("scan/engine.ts"))});
       const r = await scan(${JSON.stringify(pkl)});
       if (r.verdict !== "clean") process.exit(3);`,
    );
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
    expect(packages.has("zod")).toBe(false);
    // repository analyzers run on every scan: they load YAML, Jinja, semver's ranges and the
    // TorchServe manifest judgement only when a model card, chat template, tool version or
    // manifest is there
    expect(analyzerFiles(sources)).toEqual(["formats/pickle/analyzer.ts"]);
  }, 60_000);

  it("`modelgate scan small.pkl --format json` loads no zod, Sigstore, protobuf, YAML, Jinja, renderer or attestation code", async () => {
    const pkl = join(dir, "small.pkl");
    writeFileSync(pkl, Buffer.from(SMALL_PICKLE, "hex"));
    // the default policy: the search from the working directory finds no policy file
    expect(await findPolicyFile({ cwd: dir })).toBeUndefined();
    const { packages, sources, modules, builtins, stdout } = await loaded(
      "cli-scan",
      [join(REPO_ROOT, "src/cli/main.ts"), "scan", "small.pkl", "--format", "json"],
      dir,
    );
    expect(JSON.parse(stdout).verdict).toBe("clean");
    expect(packages.has("zod")).toBe(false);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
    expect(analyzerFiles(sources)).toEqual(["formats/pickle/analyzer.ts"]);
    const files = sources.map((u) => u.slice(SRC_URL.length));
    expect(files.filter((f) => /^report\/render\/(?:text|sarif|cyclonedx)\.ts$/.test(f))).toEqual([]);
    expect(under(sources, "integrity/attest", "service")).toEqual([]);
    expect(files).not.toContain("cli/commands/attest.ts");
    // schemas, lock files and the signature verifier load only when a scan needs them
    expect(files.filter((f) => /^(?:report|policy)\/schema\.ts$|^policy\/policy\.ts$/.test(f))).toEqual([]);
    expect(files).not.toContain("integrity/pins/lock.ts");
    expect(files).not.toContain("integrity/oms/verify.ts");
    expect(packages.has("hash-wasm")).toBe(false);
    // rules load with the first finding that names one, the sources' as any format's
    expect(files.filter((f) => /(?:^|\/)rules\.ts$/.test(f))).toEqual(["registry/rules.ts"]);
    // detection loads index and detector files, no reader; repository analyzers with nothing to
    // look at (one file, no lock file, no directory) do not load
    expect(
      under(sources, "formats", "containers", "integrity").filter(
        (f) => !/\/index\.ts$|\/(?:data-)?detect\.ts$/.test(f) && !SCAN_SUPPORT_FILES.test(f),
      ),
    ).toEqual([]);
    expect(modules).toBeLessThanOrEqual(CLI_SCAN_MAX_MODULES);
    // built-ins that cost milliseconds to load and that a small file does not need: worker threads
    // (the hash pool starts them for files from 4 MiB; an ES import of `node:util` loads them too),
    // zlib (compressed members and payloads), perf_hooks (the `performance` global loads it),
    // crypto (its first digest also sets up OpenSSL; small digests are hashed by core/sha256.ts)
    expect(["worker_threads", "zlib", "perf_hooks", "crypto"].filter((b) => builtins.has(b))).toEqual([]);
  }, 60_000);

  it("a policy file is validated by the schema: zod loads, and an invalid one is still a usage error", async () => {
    const pkl = join(dir, "small.pkl");
    writeFileSync(pkl, Buffer.from(SMALL_PICKLE, "hex"));
    const good = writePolicy("good-policy.json", { disable: ["pickle/unknown-global"] });
    const valid = await loaded(
      "cli-scan-policy",
      [join(REPO_ROOT, "src/cli/main.ts"), "scan", "small.pkl", "--format", "json", "--policy", good],
      dir,
    );
    expect(valid.packages.has("zod")).toBe(true);
    const report = JSON.parse(valid.stdout) as { verdict: string; policy?: { source?: string } };
    expect(report.verdict).toBe("clean");
    expect(report.policy?.source).toMatch(/good-policy\.json$/);

    const bad = writePolicy("bad-policy.json", { disable: ["pickle/no-such-rule"] });
    const invalid = await loaded(
      "cli-scan-bad-policy",
      [join(REPO_ROOT, "src/cli/main.ts"), "scan", "small.pkl", "--format", "json", "--policy", bad],
      dir,
      2,
    );
    expect(invalid.packages.has("zod")).toBe(true);
    expect(invalid.stdout).toBe("");
    const lines = invalid.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^modelgate scan: POLICY: .*bad-policy\.json: disable\[0\]: unknown rule "pickle\/no-such-rule"/,
    );
  }, 60_000);

  it("policy options passed to the library's scan are validated by the schema", async () => {
    const pkl = join(dir, "small.pkl");
    writeFileSync(pkl, Buffer.from(SMALL_PICKLE, "hex"));
    const { packages } = await loadedBy(
      "scan-options-policy",
      `const { scan } = await import(${JSON.stringify(src("scan/engine.ts"))});
       const r = await scan(${JSON.stringify(pkl)}, { policy: { disable: ["pickle/unknown-global"] } });
       if (r.verdict !== "clean") process.exit(3);
       const error = await scan(${JSON.stringify(pkl)}, { policy: { disable: ["no/such-rule"] } }).then(() => undefined, (e) => e);
       if (error?.code !== "POLICY") process.exit(4);`,
    );
    expect(packages.has("zod")).toBe(true);
  }, 60_000);
});
