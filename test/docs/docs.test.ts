// Runs every code sample in docs/: fenced blocks must carry a marker saying how they are
// exercised, example files must match the blocks that show them, scripts and commands run against
// a copy of docs/examples/fixtures/repo with the exit codes the docs state.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicyFile } from "../../src/policy/load.js";
import { REPO_ROOT } from "../helpers/scan.js";

const DOCS = join(REPO_ROOT, "docs");
const EXAMPLES = join(DOCS, "examples");
const FIXTURE = join(EXAMPLES, "fixtures", "repo");
const CLI = join(REPO_ROOT, "dist", "cli", "main.js");

interface Block {
  readonly doc: string;
  readonly line: number;
  readonly lang: string;
  readonly marker: string | undefined;
  readonly body: string;
}

/** Fenced blocks of a Markdown file, each with the HTML comment on the line before it. */
function blocksOf(doc: string): Block[] {
  const lines = readFileSync(join(DOCS, doc), "utf8").split("\n");
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
    .map((n) => (dir === "" ? n : `${dir}/${n}`));
const DOC_FILES = [...markdown(""), ...markdown("guides")];
const BLOCKS = DOC_FILES.flatMap(blocksOf);
const where = (b: Block) => `${b.doc}:${b.line}`;

/** Splits a command line on spaces, keeping double-quoted words together. */
const words = (command: string): string[] =>
  [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!).filter((w) => w !== "");

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs one documented command in a fixture copy. */
function runCommand(command: string, cwd: string): Run | "skipped" {
  const [program, ...args] = words(command);
  let argv: string[];
  if (program === "modelgate") argv = [CLI, ...args];
  else if (program === "npx" && args[0] === "modelgate") argv = [CLI, ...args.slice(1)];
  else if (program === "node" && args[0]?.endsWith(".ts")) {
    argv = ["--disable-warning=ExperimentalWarning", join(EXAMPLES, args[0]), ...args.slice(1)];
  } else if (program === "npm" && args[0] === "install") {
    const name = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).name as string;
    expect(args.filter((a) => !a.startsWith("-"))).toEqual(["install", name]);
    return "skipped";
  } else {
    throw new Error(`docs run only modelgate, node <example>.ts and npm install; not: ${command}`);
  }
  const result = spawnSync(process.execPath, argv, {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
  });
  return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/** `command  # exit N ~ expected text` */
function parseShellLine(line: string): { command: string; exit: number; expect?: string } | undefined {
  const text = line.replace(/^\$\s*/, "").trim();
  if (text === "" || text.startsWith("#")) return undefined;
  const m = /^(.*?)\s+#\s*exit\s+(\d+)(?:\s*~\s*(.+))?$/.exec(text);
  if (m === null) throw new Error(`every documented command states its exit code ("# exit N"): ${text}`);
  return { command: m[1]!, exit: Number(m[2]), ...(m[3] === undefined ? {} : { expect: m[3].trim() }) };
}

function freshFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), "mg-docs-"));
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

const newestMtime = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const path = join(dir, e.name);
    return Math.max(max, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);

const temps: string[] = [];
beforeAll(() => {
  // Examples import the package ("modelgate" resolves to dist/ by self-reference): build when stale.
  if (!existsSync(CLI) || statSync(join(REPO_ROOT, "dist", "index.js")).mtimeMs < newestMtime(join(REPO_ROOT, "src"))) {
    execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs")], { stdio: "ignore" });
  }
}, 180_000);
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe("docs code samples", () => {
  it("every fenced block says how it is exercised", () => {
    expect(BLOCKS.length).toBeGreaterThan(10);
    for (const block of BLOCKS) {
      expect(
        block.marker,
        `${where(block)}: add <!-- file: ... -->, <!-- shell -->, <!-- policy --> or <!-- json -->`,
      ).toMatch(/^(file: \S+|shell|policy|json)$/);
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
    const commands = BLOCKS.filter((b) => b.marker === "shell").flatMap((b) => b.body.split("\n"));
    for (const name of readdirSync(EXAMPLES, { recursive: true }) as string[]) {
      const path = join(EXAMPLES, name);
      if (!/\.(ts|ya?ml)$/.test(name) || statSync(path).isDirectory()) continue;
      expect(shown.has(relative(REPO_ROOT, path)), `${name} is not shown in any doc`).toBe(true);
      if (name.endsWith(".ts")) {
        expect(
          commands.some((c) => c.includes(`node ${name} `)),
          `${name} is not run by any doc`,
        ).toBe(true);
      }
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
        const dir = mkdtempSync(join(tmpdir(), "mg-docs-policy-"));
        temps.push(dir);
        const file = join(dir, "policy.json");
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
    const shell = BLOCKS.filter((b) => b.doc === doc && b.marker === "shell");
    if (shell.length === 0) continue;
    it(`${doc}: documented commands exit as documented`, () => {
      const cwd = freshFixture();
      temps.push(cwd);
      for (const block of shell) {
        for (const [i, line] of block.body.split("\n").entries()) {
          const step = parseShellLine(line);
          if (step === undefined) continue;
          const run = runCommand(step.command, cwd);
          if (run === "skipped") continue;
          const at = `${doc}:${block.line + i + 1}: ${step.command}\n${run.output}`;
          expect(run.code, at).toBe(step.exit);
          if (step.expect !== undefined) expect(run.output, at).toContain(step.expect);
        }
      }
    }, 120_000);
  }

  it("the GitHub workflow's scan step runs and writes the SARIF file it uploads", () => {
    const workflow = readFileSync(join(EXAMPLES, "github", "modelgate.yml"), "utf8");
    const runs = [...workflow.matchAll(/^\s*run:\s*(.*modelgate.*)$/gm)].map((m) => m[1]!);
    const sarifFiles = [...workflow.matchAll(/^\s*sarif_file:\s*(\S+)$/gm)].map((m) => m[1]!);
    expect(runs).toHaveLength(1);
    expect(sarifFiles).toEqual(["modelgate.sarif"]);
    const cwd = freshFixture();
    temps.push(cwd);
    const command = runs[0]!.replace(/^npx\s+(--yes\s+)?modelgate@\S+/, "modelgate");
    const run = runCommand(command, cwd);
    if (run === "skipped") throw new Error("not run");
    expect([0, 1], run.output).toContain(run.code); // 2 would mean the gate could not scan
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
