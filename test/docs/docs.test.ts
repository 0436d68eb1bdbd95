// Runs every code sample in README.md and docs/: fenced blocks must carry a marker saying how they
// are exercised, example files must match the blocks that show them, scripts and commands run
// against a copy of a fixture with the exit codes the docs state. Commands marked `shell: hub` talk
// to the loopback mock Hub of ./hub-fixture.ts through HF_ENDPOINT; the others run offline.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { loadPolicyFile } from "../../src/policy/load.js";
import { REPO_ROOT } from "../helpers/scan.js";
import type { MockHub } from "../sources/hub/mock-hub.js";
import { startDocsHub } from "./hub-fixture.js";

const DOCS = join(REPO_ROOT, "docs");
const EXAMPLES = join(DOCS, "examples");
const FIXTURE = join(EXAMPLES, "fixtures", "repo");
const BUILT = join(REPO_ROOT, "dist", "index.js");
/** README.md's first block: the set-up commands, which must stay first. */
const README_SETUP = "npm install && npx modelgate scan samples/\nnpm test";

interface Block {
  readonly doc: string;
  readonly line: number;
  readonly lang: string;
  readonly marker: string | undefined;
  readonly body: string;
}

/** Fenced blocks of a Markdown file (path relative to the repository), each with the HTML comment on the line before it. */
function blocksOf(doc: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, doc), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith(open[1]!) && l.trim() === open[1]);
    if (end < 0) throw new Error(`${doc}:${i + 1}: unclosed code fence`);
    const marker = /^<!--\s*(.+?)\s*-->$/.exec(lines[i - 1] ?? "")?.[1];
    blocks.push({ doc, line: i + 1, lang: open[2] ?? "", marker, body: lines.slice(i + 1, end).join("\n") });
    i = end;
  }
  return blocks;
}

const markdown = (dir: string): string[] =>
  readdirSync(join(DOCS, dir))
    .filter((n) => n.endsWith(".md"))
    .map((n) => join("docs", dir, n));
const DOC_FILES = ["README.md", ...markdown(""), ...markdown("guides")];
const ALL_BLOCKS = DOC_FILES.flatMap(blocksOf);
const README_BLOCKS = ALL_BLOCKS.filter((b) => b.doc === "README.md");
/** Every block but README's set-up block, which is checked on its own. */
const BLOCKS = ALL_BLOCKS.filter((b) => b !== README_BLOCKS[0]);
const where = (b: Block) => `${b.doc}:${b.line}`;
const isShell = (b: Block) => b.marker === "shell" || b.marker === "shell: hub";

/** Splits a command line on spaces, keeping double-quoted words together. */
const words = (command: string): string[] =>
  [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!).filter((w) => w !== "");

/** An example script named in a command: `x.ts` (in docs/examples/) or `docs/examples/x.ts`. */
const exampleOf = (word: string): string =>
  relative(EXAMPLES, join(word.startsWith("docs/") ? REPO_ROOT : EXAMPLES, word));

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Where commands run, and with what environment. */
interface Place {
  readonly cwd: string;
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs an example script to its end (asynchronously: the mock Hub serves from this process). */
function runNode(argv: string[], cwd: string, env: NodeJS.ProcessEnv, input: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, argv, { cwd, env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/**
 * Runs `modelgate ARGS` in this process through `runCli`, the function the executable wires to the
 * process's streams, environment and Ctrl-C (starting a Node per command costs half a second).
 */
async function runModelgate(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  let stdout = "";
  let stderr = "";
  const previous = process.cwd();
  process.chdir(cwd); // test files run in forked processes, one test at a time
  try {
    const code = await runCli(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      stdoutIsTTY: false,
      stderrIsTTY: false,
      env,
      signal: AbortSignal.timeout(60_000),
    });
    return { code, stdout, stderr };
  } finally {
    process.chdir(previous);
  }
}

/**
 * Runs one documented command line as sh would: `NAME=value` prefixes, `~/` paths, `> FILE` and
 * pipelines (`a | b`: the exit code is b's). Programs: modelgate, node <example>.ts, npm install.
 */
async function runCommand(command: string, place: Place): Promise<Run | "skipped"> {
  let input = "";
  let output = "";
  let code = 0;
  for (const stage of command.split(/\s+\|\s+/)) {
    let args = words(stage).map((w) => (w.startsWith("~/") ? join(place.home, w.slice(2)) : w));
    const env = { ...place.env };
    while (/^[A-Z_][A-Z0-9_]*=/.test(args[0] ?? "")) {
      const [name, ...value] = args.shift()!.split("=");
      env[name!] = value.join("=");
    }
    const redirect = args.indexOf(">");
    const outFile = redirect < 0 ? undefined : args[redirect + 1];
    if (redirect >= 0) args = args.slice(0, redirect);
    const [program, ...rest] = args;
    let result: { code: number; stdout: string; stderr: string };
    if (program === "modelgate") result = await runModelgate(rest, place.cwd, env);
    else if (program === "npx" && rest[0] === "modelgate") result = await runModelgate(rest.slice(1), place.cwd, env);
    else if (program === "node" && rest[0]?.endsWith(".ts")) {
      const script = join(EXAMPLES, exampleOf(rest[0]));
      const argv = ["--disable-warning=ExperimentalWarning", script, ...rest.slice(1)];
      result = await runNode(argv, place.cwd, env, input);
    } else if (program === "npm" && rest[0] === "install") {
      const name = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).name as string;
      expect(rest.filter((a) => !a.startsWith("-"))).toEqual(["install", name]);
      return "skipped";
    } else {
      throw new Error(`docs run only modelgate, node <example>.ts and npm install; not: ${command}`);
    }
    if (outFile !== undefined) writeFileSync(join(place.cwd, outFile), result.stdout);
    input = outFile === undefined ? result.stdout : "";
    output += result.stderr;
    code = result.code;
  }
  return { code, output: `${input}${output}` };
}

/** `command  # exit N ~ expected text` */
function parseShellLine(line: string): { command: string; exit: number; expect?: string } | undefined {
  const text = line.replace(/^\$\s*/, "").trim();
  if (text === "" || text.startsWith("#")) return undefined;
  const m = /^(.*?)\s+#\s*exit\s+(\d+)(?:\s*~\s*(.+))?$/.exec(text);
  if (m === null) throw new Error(`every documented command states its exit code ("# exit N"): ${text}`);
  return { command: m[1]!, exit: Number(m[2]), ...(m[3] === undefined ? {} : { expect: m[3].trim() }) };
}

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** A fresh copy of a doc's fixture: README.md runs in a copy of samples/, docs/ in docs/examples/fixtures/repo. */
function freshFixture(doc: string): string {
  const dir = tempDir("mg-docs-");
  if (doc === "README.md") cpSync(join(REPO_ROOT, "samples"), join(dir, "samples"), { recursive: true });
  else cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** The environment of documented commands: no Hugging Face settings or token of the machine running the tests. */
function baseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(HF_|HUGGING_FACE_)|^XDG_CACHE_HOME$/.test(k)) env[k] = v;
  }
  return { ...env, HOME: home, CI: "1", NO_COLOR: "1" };
}

const newestMtime = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const path = join(dir, e.name);
    return Math.max(max, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);

let hub: MockHub | undefined;
const offline = process.env.HF_HUB_OFFLINE;
beforeAll(async () => {
  // Commands get their environment explicitly; should anything read this process's instead, it
  // must fail offline rather than reach huggingface.co.
  process.env.HF_HUB_OFFLINE = "1";
  // Examples import the package ("modelgate" resolves to dist/ by self-reference): build when stale.
  if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < newestMtime(join(REPO_ROOT, "src"))) {
    execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs")], { stdio: "ignore" });
  }
  hub = await startDocsHub(REPO_ROOT);
}, 180_000);
afterAll(async () => {
  if (offline === undefined) delete process.env.HF_HUB_OFFLINE;
  else process.env.HF_HUB_OFFLINE = offline;
  await hub?.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe("docs code samples", () => {
  it("README.md starts with the set-up commands", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    expect(README_BLOCKS[0]?.body).toBe(README_SETUP);
    expect(readme.indexOf("```")).toBe(readme.indexOf(`\`\`\`sh\n${README_SETUP}\n\`\`\``));
  });

  it("every fenced block says how it is exercised", () => {
    expect(BLOCKS.length).toBeGreaterThan(10);
    for (const block of BLOCKS) {
      expect(
        block.marker,
        `${where(block)}: add <!-- file: ... -->, <!-- shell -->, <!-- shell: hub -->, <!-- policy --> or <!-- json -->`,
      ).toMatch(/^(file: \S+|shell|shell: hub|policy|json)$/);
    }
  });

  it("blocks that show an example file show it exactly", () => {
    for (const block of BLOCKS.filter((b) => b.marker?.startsWith("file: "))) {
      const path = join(REPO_ROOT, block.marker!.slice(6));
      expect(existsSync(path), `${where(block)}: ${path}`).toBe(true);
      expect(block.body.trimEnd(), where(block)).toBe(readFileSync(path, "utf8").trimEnd());
    }
  });

  it("every example file is shown in the docs, and every example script is run by a documented command", () => {
    const shown = new Set(BLOCKS.flatMap((b) => (b.marker?.startsWith("file: ") ? [b.marker.slice(6)] : [])));
    const run = new Set(
      BLOCKS.filter(isShell)
        .flatMap((b) => b.body.split("\n"))
        .flatMap((line) => [...line.matchAll(/\bnode\s+(\S+\.ts)\s/g)].map((m) => exampleOf(m[1]!))),
    );
    // A module only imported by examples (`from "./x.ts"`) is exercised by the scripts importing it.
    const importers = new Map<string, string[]>();
    for (const name of readdirSync(EXAMPLES).filter((n) => n.endsWith(".ts"))) {
      for (const m of readFileSync(join(EXAMPLES, name), "utf8").matchAll(/from\s+"\.\/([^"]+\.ts)"/g)) {
        importers.set(m[1]!, [...(importers.get(m[1]!) ?? []), name]);
      }
    }
    for (const name of readdirSync(EXAMPLES, { recursive: true }) as string[]) {
      const path = join(EXAMPLES, name);
      if (!/\.(ts|ya?ml)$/.test(name) || statSync(path).isDirectory()) continue;
      expect(shown.has(relative(REPO_ROOT, path)), `${name} is not shown in any doc`).toBe(true);
      if (name.endsWith(".ts")) {
        const exercised = run.has(name) || (importers.get(name) ?? []).some((by) => run.has(by));
        expect(exercised, `${name} is not run by any doc (nor imported by an example that is)`).toBe(true);
      }
    }
  });

  it("relative links point to files and headings that exist", () => {
    // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    const slug = (h: string) =>
      h
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
    const anchors = (doc: string) =>
      new Set(
        readFileSync(join(REPO_ROOT, doc), "utf8")
          .replace(/^(`{3,})[\s\S]*?^\1\s*$/gm, "")
          .split("\n")
          .flatMap((l) => (/^#{1,6}\s/.test(l) ? [slug(l.replace(/^#+\s*/, ""))] : [])),
      );
    let checked = 0;
    for (const doc of DOC_FILES) {
      const text = readFileSync(join(REPO_ROOT, doc), "utf8").replace(/^(`{3,})[\s\S]*?^\1\s*$/gm, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [file, hash] = target!.split("#");
        const path = file === "" ? doc : join(dirname(doc), file!);
        expect(existsSync(join(REPO_ROOT, path)), `${doc}: ${target}`).toBe(true);
        if (hash !== undefined && path.endsWith(".md")) expect(anchors(path).has(hash), `${doc}: ${target}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("README.md and the docs index link every page", () => {
    const linked = (doc: string) =>
      new Set(
        [...readFileSync(join(REPO_ROOT, doc), "utf8").matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) =>
          join(dirname(doc), m[1]!),
        ),
      );
    const pages = DOC_FILES.filter((d) => d.startsWith("docs/"));
    expect(pages).toEqual(expect.arrayContaining(["docs/README.md", "docs/signing.md", "docs/guides/mirror.md"]));
    for (const index of ["README.md", "docs/README.md"]) {
      const links = linked(index);
      for (const page of pages)
        if (page !== index) expect(links.has(page), `${index} does not link ${page}`).toBe(true);
    }
  });

  it("JSON format examples parse", () => {
    for (const block of BLOCKS.filter((b) => b.marker === "json")) {
      expect(() => JSON.parse(block.body), where(block)).not.toThrow();
    }
  });

  it("policy blocks and policy files shown in the docs are valid policies", async () => {
    let checked = 0;
    for (const block of BLOCKS) {
      if (block.marker === "policy") {
        const file = join(tempDir("mg-docs-policy-"), "policy.json");
        writeFileSync(file, block.body);
        await expect(loadPolicyFile(file), where(block)).resolves.toBeTruthy();
        checked++;
      } else if (block.marker?.startsWith("file: ") && block.marker.endsWith(".json")) {
        await expect(loadPolicyFile(join(REPO_ROOT, block.marker.slice(6))), where(block)).resolves.toBeTruthy();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("example scripts type-check against the published types", () => {
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", join(EXAMPLES, "tsconfig.json")], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 60_000);

  for (const doc of DOC_FILES) {
    const shell = BLOCKS.filter((b) => b.doc === doc && isShell(b));
    if (shell.length === 0) continue;
    it(`${doc}: documented commands exit as documented`, async () => {
      const cwd = freshFixture(doc);
      const home = tempDir("mg-docs-home-");
      mkdirSync(join(home, ".cache"));
      const before = hub!.log.length;
      for (const block of shell) {
        // Hub commands reach the mock through HF_ENDPOINT; the others must not reach any Hub.
        const env =
          block.marker === "shell: hub"
            ? { ...baseEnv(home), HF_ENDPOINT: hub!.url }
            : { ...baseEnv(home), HF_HUB_OFFLINE: "1" };
        for (const [i, line] of block.body.split("\n").entries()) {
          const step = parseShellLine(line);
          if (step === undefined) continue;
          const result = await runCommand(step.command, { cwd, home, env });
          if (result === "skipped") continue;
          const at = `${doc}:${block.line + i + 1}: ${step.command}\n${result.output}`;
          expect(result.code, at).toBe(step.exit);
          if (step.expect !== undefined) expect(result.output, at).toContain(step.expect);
        }
      }
      if (shell.some((b) => b.marker === "shell: hub")) expect(hub!.log.length).toBeGreaterThan(before);
    }, 120_000);
  }

  it("the GitHub workflow's scan step runs and writes the SARIF file it uploads", async () => {
    const workflow = readFileSync(join(EXAMPLES, "github", "modelgate.yml"), "utf8");
    const runs = [...workflow.matchAll(/^\s*run:\s*(.*modelgate.*)$/gm)].map((m) => m[1]!);
    const sarifFiles = [...workflow.matchAll(/^\s*sarif_file:\s*(\S+)$/gm)].map((m) => m[1]!);
    expect(runs).toHaveLength(1);
    expect(sarifFiles).toEqual(["modelgate.sarif"]);
    const cwd = freshFixture("docs/guides/ci-github.md");
    const home = tempDir("mg-docs-home-");
    const command = runs[0]!.replace(/^npx\s+(--yes\s+)?modelgate@\S+/, "modelgate");
    const result = await runCommand(command, { cwd, home, env: { ...baseEnv(home), HF_HUB_OFFLINE: "1" } });
    if (result === "skipped") throw new Error("not run");
    expect([0, 1], result.output).toContain(result.code); // 2 would mean the gate could not scan
    const log = JSON.parse(readFileSync(join(cwd, sarifFiles[0]!), "utf8"));
    expect(log.version).toBe("2.1.0");
    const uris = log.runs[0].results.map(
      (r: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        r.locations[0]!.physicalLocation.artifactLocation.uri,
    );
    expect(uris.length).toBeGreaterThan(0);
    for (const uri of uris) expect(existsSync(join(cwd, uri)), uri).toBe(true); // repository-relative
  }, 60_000);
});
