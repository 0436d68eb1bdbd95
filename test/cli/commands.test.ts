// The commands of issue 18: `rules`, `init`, `cache`, and the top-level help and version.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { STARTER_POLICY } from "../../src/cli/commands/init.js";
import { runCli } from "../../src/cli/run.js";
import { TOOL_VERSION } from "../../src/core/version.js";
import { loadPolicyFile } from "../../src/policy/load.js";
import { RULES } from "../../src/registry/rules.js";
import type { ScanReport } from "../../src/report/schema.js";
import { fakeIO } from "../helpers/cli.js";

const POSIX = process.platform !== "win32";
let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "mg-cmds-"));
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe("modelgate --help and --version", () => {
  it("-v, --version and -V print the version; the help lists both and every command", async () => {
    for (const flag of ["-v", "--version", "-V"]) {
      const io = fakeIO();
      expect(await runCli([flag], io)).toBe(0);
      expect(io.out).toBe(`${TOOL_VERSION}\n`);
    }
    const io = fakeIO();
    expect(await runCli(["--help"], io)).toBe(0);
    expect(io.out).toMatch(/^ {2}-v, --version {2,}print the version$/m);
    expect(io.out).toMatch(/^ {2}-h, --help {2,}show this help/m);
    for (const name of ["scan", "rules", "init", "cache"]) expect(io.out).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
  });

  it("no command is a usage error: the help goes to stderr, exit 2", async () => {
    const io = fakeIO();
    expect(await runCli([], io)).toBe(2);
    expect(io.out).toBe("");
    expect(io.err).toContain("Usage: modelgate <command>");
  });

  it("'help COMMAND' prints that command's usage", async () => {
    const io = fakeIO();
    expect(await runCli(["help", "rules"], io)).toBe(0);
    expect(io.out).toContain("Usage: modelgate rules");
  });

  it("the summaries --help shows without loading the commands are the commands' own", async () => {
    for (const [name, entry] of Object.entries(COMMANDS)) {
      expect(entry.summary, name).toBe((await entry.load()).summary);
    }
  });
});

describe("modelgate rules", () => {
  it("lists every rule of the registry: id, severity, title", async () => {
    const io = fakeIO();
    expect(await runCli(["rules"], io)).toBe(0);
    const lines = io.out.trimEnd().split("\n");
    expect(lines).toHaveLength(RULES.length);
    const first = RULES[0]!;
    expect(lines[0]).toMatch(new RegExp(`^${first.id} +${first.severity} +${first.title.replace(/[()]/g, "\\$&")}$`));
    expect(io.out).toMatch(/^pickle\/dangerous-global +critical +\S/m);
  });

  it("filters by area and severity; --format json gives the registry's records", async () => {
    const area = fakeIO();
    expect(await runCli(["rules", "pickle", "--severity", "critical"], area)).toBe(0);
    const ids = area.out
      .trimEnd()
      .split("\n")
      .map((l) => l.split(/ +/)[0]);
    expect(ids).toEqual(RULES.filter((r) => r.id.startsWith("pickle/") && r.severity === "critical").map((r) => r.id));
    const json = fakeIO();
    expect(await runCli(["rules", "--format", "json"], json)).toBe(0);
    expect(JSON.parse(json.out)).toEqual(JSON.parse(JSON.stringify(RULES)));
  });

  it("explains one rule: title, description, how a policy treats it, references", async () => {
    const rule = RULES.find((r) => r.references !== undefined && r.references.length > 0 && r.invalidates !== true)!;
    const io = fakeIO();
    expect(await runCli(["rules", rule.id], io)).toBe(0);
    expect(io.out.split("\n")[0]).toBe(`${rule.id}  (${rule.severity})`);
    expect(io.out.replace(/\s+/g, " ")).toContain(rule.description.trim().replace(/\s+/g, " "));
    const prose = io.out.split("\n").filter((l) => !l.startsWith("  http"));
    expect(Math.max(...prose.map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(io.out.replace(/\s+/g, " ")).toContain(`"disable": ["${rule.id}"] drops it`);
    for (const ref of rule.references!) expect(io.out).toContain(ref);
    const invalidating = RULES.find((r) => r.invalidates === true)!;
    const inv = fakeIO();
    expect(await runCli(["rules", invalidating.id], inv)).toBe(0);
    expect(inv.out).toContain("cannot disable or suppress it");
  });

  it("an unknown id or area: did-you-mean, exit 2, one line on stderr", async () => {
    for (const [typed, hint] of [
      ["pickle/dangerous-globl", "pickle/dangerous-global"],
      ["pickel", "pickle"],
      ["dangerous-global", "pickle/dangerous-global"],
    ]) {
      const io = fakeIO();
      expect(await runCli(["rules", typed!], io)).toBe(2);
      expect(io.out).toBe("");
      expect(io.err.trim().split("\n")).toHaveLength(1);
      expect(io.err).toContain(`(did you mean ${hint}`);
    }
    const none = fakeIO();
    expect(await runCli(["rules", "zzzz/qqqq"], none)).toBe(2);
    expect(none.err).not.toContain("did you mean");
  });
});

describe("modelgate init", () => {
  it("writes a starter policy the policy loader accepts, which changes no verdict", async () => {
    const dir = await mkdtemp(join(base, "init-"));
    const io = fakeIO({ cwd: dir });
    expect(await runCli(["init"], io)).toBe(0);
    const path = join(dir, ".modelgate.json");
    expect(io.out).toBe(`Wrote ${path}\n`);
    const text = await readFile(path, "utf8");
    expect(JSON.parse(text)).toEqual(STARTER_POLICY);
    expect(text).toContain('"$comment"');
    expect((await stat(path)).mode & 0o022).toBe(0); // the loader refuses group/other-writable policies
    const policy = await loadPolicyFile(path);
    expect(policy.source).toBe(path);
    expect(policy).not.toHaveProperty("$comment");

    // The same verdicts and findings with the starter policy as with none.
    const model = join(base, "init-model");
    await mkdir(model);
    await writeFile(join(model, "evil.pkl"), "cposix\nsystem\n(S'id'\ntR.");
    await writeFile(join(model, "README.md"), "# hi\n");
    const scan = async (...flags: string[]) => {
      const out = fakeIO({ cwd: dir });
      await runCli(["scan", model, "--format", "json", "--no-hash", ...flags], out);
      const report = JSON.parse(out.out) as ScanReport;
      return report.files.map((f) => [f.path, f.verdict, f.findings.map((x) => `${x.ruleId}:${x.severity}`)]);
    };
    const withPolicy = await scan("--policy", path);
    expect(withPolicy).toEqual(await scan("--no-policy"));
    expect(withPolicy.find((f) => f[0] === "evil.pkl")?.[1]).toBe("malicious");
  });

  it("refuses to replace a file without --force; --force replaces it; -o names the file", async () => {
    const dir = await mkdtemp(join(base, "init-"));
    const path = join(dir, "policy.json");
    await writeFile(path, "{}\n");
    const refused = fakeIO({ cwd: dir });
    expect(await runCli(["init", "-o", "policy.json"], refused)).toBe(2);
    expect(refused.err).toMatch(/policy\.json exists; pass --force/);
    expect(await readFile(path, "utf8")).toBe("{}\n");
    expect(await runCli(["init", "--output", path, "--force"], fakeIO())).toBe(0);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual(STARTER_POLICY);
  });

  it.skipIf(!POSIX)("never writes through a symbolic link, even with --force; checks the folder first", async () => {
    const dir = await mkdtemp(join(base, "init-"));
    const victim = join(base, "victim.txt");
    await writeFile(victim, "keep");
    await symlink(victim, join(dir, ".modelgate.json"));
    const io = fakeIO({ cwd: dir });
    expect(await runCli(["init", "--force"], io)).toBe(2);
    expect(io.err).toMatch(/symbolic link/);
    expect(await readFile(victim, "utf8")).toBe("keep");
    const missing = fakeIO();
    expect(await runCli(["init", "-o", join(dir, "no", "such", "p.json")], missing)).toBe(2);
    expect(missing.err).toMatch(/does not exist/);
  });
});

describe("modelgate cache", () => {
  const sha = (c: string) => c.repeat(64);
  const policyHash = "ab".repeat(32);

  /** A cache folder made by a real scan, plus other versions' entries, leftovers and strangers. */
  async function makeCache() {
    const dir = await mkdtemp(join(base, "cache-"));
    const cache = join(dir, "cache");
    const model = join(dir, "model");
    await mkdir(model);
    await writeFile(join(model, "a.json"), '{"a": 1}');
    await writeFile(join(model, "evil.pkl"), "cposix\nsystem\n(S'id'\ntR.");
    expect(await runCli(["scan", model, "--no-policy", "--cache-dir", cache], fakeIO())).toBe(1);
    const old = join(cache, "v1", "0.0.1-old", policyHash, "11");
    await mkdir(old, { recursive: true });
    await writeFile(join(old, `${sha("1")}.json`), "{}");
    const shard = join(cache, "v1", TOOL_VERSION, policyHash, "22");
    await mkdir(shard, { recursive: true });
    await writeFile(join(shard, `.${sha("2")}.0123456789ab.tmp`), "partial"); // a write in progress
    const stale = join(shard, `.${sha("2")}.ba9876543210.tmp`);
    await writeFile(stale, "leftover");
    const hoursAgo = new Date(Date.now() - 3 * 3600_000);
    await utimes(stale, hoursAgo, hoursAgo);
    // Not the cache's: a note, an entry-named file in the wrong shard, and an entry-named link.
    const outside = join(dir, "outside.json");
    await writeFile(outside, "precious");
    await writeFile(join(cache, "NOTES.txt"), "mine");
    await writeFile(join(shard, `${sha("3")}.json`), "{}");
    if (POSIX) await symlink(outside, join(shard, `${sha("2")}.json`));
    return { dir, cache, outside, shard };
  }

  const run = async (...args: string[]) => {
    const io = fakeIO();
    const code = await runCli(["cache", ...args, "--format", "json"], io);
    return { code, io, stats: code === 0 ? JSON.parse(io.out) : undefined };
  };

  it("stats counts this version's entries and bytes, other versions, writes in progress and strangers", async () => {
    const { cache } = await makeCache();
    const { code, stats } = await run("stats", "--cache-dir", cache);
    expect(code).toBe(0);
    expect(stats.entries).toEqual({ current: 2, other: 1 });
    expect(stats.bytes.current).toBeGreaterThan(100);
    expect(stats.bytes.other).toBe(2);
    expect(stats.otherVersions).toEqual(["0.0.1-old"]);
    expect(stats.policies).toBe(1);
    expect(stats.temporary).toBe(2);
    expect(stats.foreign).toBe(POSIX ? 3 : 2);
    expect(stats.removed).toBe(0);
    const text = fakeIO({ env: { MODELGATE_CACHE_DIR: cache } });
    expect(await runCli(["cache", "stats"], text)).toBe(0);
    expect(text.out).toMatch(
      /^Entries: 3 \(.+\): 2 for modelgate .+ under 1 policy, 1 for other versions \(0\.0\.1-old\)$/m,
    );
  });

  it("prune drops other versions' entries and leftovers, keeps this version's and writes in progress", async () => {
    const { cache, shard } = await makeCache();
    const dry = await run("prune", "--cache-dir", cache, "--dry-run");
    expect(dry.stats.removed).toBe(2);
    expect((await run("stats", "--cache-dir", cache)).stats.entries).toEqual({ current: 2, other: 1 });
    const pruned = await run("prune", "--cache-dir", cache);
    expect(pruned.stats.removed).toBe(2);
    const after = (await run("stats", "--cache-dir", cache)).stats;
    expect(after.entries).toEqual({ current: 2, other: 0 });
    expect(after.temporary).toBe(1);
    expect(await readdir(join(cache, "v1"))).toEqual([TOOL_VERSION]); // the emptied version folder is gone
    expect((await readdir(shard)).some((n) => n.endsWith(".0123456789ab.tmp"))).toBe(true);
    // --older-than 0: every entry of this version too; a scan still hits nothing then.
    expect((await run("prune", "--cache-dir", cache, "--older-than", "0")).stats.removed).toBe(2);
    expect((await run("stats", "--cache-dir", cache)).stats.entries).toEqual({ current: 0, other: 0 });
  });

  it("clear removes every entry and nothing that is not the cache's (links are not followed)", async () => {
    const { cache, outside, shard } = await makeCache();
    const { code, stats } = await run("clear", "--cache-dir", cache);
    expect(code).toBe(0);
    expect(stats.removed).toBe(5);
    expect(await readFile(outside, "utf8")).toBe("precious");
    expect(await readFile(join(cache, "NOTES.txt"), "utf8")).toBe("mine");
    expect((await readdir(shard)).sort()).toEqual(
      POSIX ? [`${sha("2")}.json`, `${sha("3")}.json`] : [`${sha("3")}.json`],
    );
    expect((await run("stats", "--cache-dir", cache)).stats.entries).toEqual({ current: 0, other: 0 });
  });

  it.skipIf(!POSIX)("never empties a folder others can write to (a name there could become a link)", async () => {
    const { cache, shard } = await makeCache();
    await chmod(shard, 0o777);
    const before = (await readdir(shard)).sort();
    const cleared = await run("clear", "--cache-dir", cache);
    expect(cleared.code).toBe(0);
    expect((await readdir(shard)).sort()).toEqual(before);
    await chmod(cache, 0o777);
    const refused = await run("clear", "--cache-dir", cache);
    expect(refused.code).toBe(2);
    expect(refused.io.err).toMatch(/others can write to it/);
  });

  it.skipIf(!POSIX)("refuses a cache folder that is a link; usage errors exit 2 with did-you-mean", async () => {
    const { dir, cache } = await makeCache();
    await symlink(cache, join(dir, "link"));
    const linked = await run("clear", "--cache-dir", join(dir, "link"));
    expect(linked.code).toBe(2);
    expect(linked.io.err).toMatch(/symbolic link/);
    expect((await run("stats", "--cache-dir", cache)).stats.entries.current).toBe(2);
    for (const [args, message] of [
      [["cache", "stat", "--cache-dir", cache], "(did you mean stats?)"],
      [["cache", "stats"], "needs --cache-dir"],
      [["cache"], "needs an action"],
      [["cache", "stats", "--cache-dir", join(dir, "nope")], "does not exist"],
      [["cache", "clear", "--cache-dir", cache, "--older-than", "3"], "--older-than applies to prune"],
    ] as const) {
      const io = fakeIO();
      expect(await runCli(args, io), args.join(" ")).toBe(2);
      expect(io.err.trim().split("\n")).toHaveLength(1);
      expect(io.err).toContain(message);
    }
  });

  it("scan takes the cache folder from MODELGATE_CACHE_DIR when --cache-dir is not given", async () => {
    const dir = await mkdtemp(join(base, "cache-env-"));
    await writeFile(join(dir, "a.json"), "[1]");
    const cache = join(base, "cache-env-store");
    expect(await runCli(["scan", dir, "--no-policy"], fakeIO({ env: { MODELGATE_CACHE_DIR: cache } }))).toBe(0);
    expect((await run("stats", "--cache-dir", cache)).stats.entries.current).toBe(1);
  });
});
