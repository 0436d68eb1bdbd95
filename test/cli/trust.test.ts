// Trust boundaries of `modelgate scan` (issue 13, items 1 and 3): the scanned input never chooses
// the policy; --policy and key files are checked like configuration; --output is checked before any
// scan work and written atomically, never through a link.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import type { ScanReport } from "../../src/report/schema.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";

const POSIX = process.platform !== "win32";

function fakeIO(cwd: string): RecordingIO {
  return recordingIO({ cwd });
}

async function scan(cwd: string, ...args: string[]) {
  const io = fakeIO(cwd);
  const code = await runCli(["scan", ...args], io);
  return { code, io };
}

async function scanJson(cwd: string, ...args: string[]) {
  const { code, io } = await scan(cwd, ...args, "--format", "json");
  return { code, io, report: JSON.parse(io.out) as ScanReport };
}

/** What an attacker ships: a pickle running os.system and a policy that waves it (and missing signatures) through. */
const HOSTILE_POLICY = {
  pickle: { allow: ["posix.system", "os.system"] },
  severity: {
    "pickle/dangerous-global": "info",
    "integrity/signature-missing": "info",
    "policy/signature-required": "info",
  },
};

let base: string;
/** A neutral working directory without any policy. */
let elsewhere: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "mg-cli-trust-"));
  elsewhere = join(base, "elsewhere");
  await mkdir(elsewhere, { mode: 0o755 });
});
afterAll(() => rm(base, { recursive: true, force: true }));

async function hostileModel(folder: string): Promise<string> {
  await mkdir(folder, { recursive: true, mode: 0o755 });
  // posix.system("id"), protocol 0: GLOBAL, MARK, STRING, TUPLE, REDUCE, STOP
  await writeFile(join(folder, "model.pkl"), "cposix\nsystem\n(S'id'\ntR.", { mode: 0o644 });
  return folder;
}

describe("the scanned input never chooses its policy", () => {
  it("a .modelgate.json inside the scanned directory is ignored (the pickle stays malicious)", async () => {
    const model = await hostileModel(join(base, "download"));
    await writeFile(join(model, ".modelgate.json"), JSON.stringify(HOSTILE_POLICY), { mode: 0o644 });
    const { code, report } = await scanJson(elsewhere, model);
    expect(report.verdict).toBe("malicious");
    expect(code).toBe(1);
    expect(report.policy?.source).toBeUndefined();
    // Scanning the file directly, or from its parent folder as target, changes nothing.
    expect((await scanJson(elsewhere, join(model, "model.pkl"))).report.verdict).toBe("malicious");
  });

  it("running inside the downloaded model (cd model && modelgate scan .) does not use its policy", async () => {
    const model = await hostileModel(join(base, "download-cd"));
    await writeFile(join(model, ".modelgate.json"), JSON.stringify(HOSTILE_POLICY), { mode: 0o644 });
    const here = await scanJson(model, model);
    expect(here.report.verdict).toBe("malicious");
    expect(here.code).toBe(1);
    expect(here.report.policy?.source).toBeUndefined();
    expect(here.io.err).toContain("inside a scanned target");
    // Nor from a sub-folder of the model, scanning the model's root.
    await mkdir(join(model, "sub"), { mode: 0o755 });
    expect((await scanJson(join(model, "sub"), model)).report.verdict).toBe("malicious");
  });

  it("it cannot defeat --require-signature", async () => {
    const model = await hostileModel(join(base, "download-sig"));
    await writeFile(join(model, ".modelgate.json"), JSON.stringify(HOSTILE_POLICY), { mode: 0o644 });
    const { code, report } = await scanJson(elsewhere, model, "--require-signature", "--fail-on", "medium");
    expect(code).toBe(1);
    const rules = report.files.flatMap((f) => f.findings.map((x) => `${x.ruleId}:${x.severity}`));
    expect(rules).toContain("pickle/dangerous-global:critical");
    // The missing signature counts at its default severity (the rule is integrity/signature-missing today).
    expect(rules.some((r) => /^(integrity|policy)\/.*(signature|unsigned)/.test(r) && !r.endsWith(":info"))).toBe(true);
  });

  it.skipIf(!POSIX)(
    "a policy in a world-writable parent (like /tmp) is ignored, even when working below it",
    async () => {
      const shared = join(base, "shared");
      await mkdir(shared, { mode: 0o755 });
      await chmod(shared, 0o1777);
      await writeFile(join(shared, ".modelgate.json"), JSON.stringify(HOSTILE_POLICY), { mode: 0o644 });
      const model = await hostileModel(join(shared, "victim", "model"));
      // Neither from an unrelated folder nor from inside the model folder below the shared one.
      expect((await scanJson(elsewhere, model)).report.verdict).toBe("malicious");
      const below = await scanJson(model, model);
      expect(below.code).toBe(1);
      expect(below.report.verdict).toBe("malicious");
      expect(below.io.err).toContain(`ignoring ${join(shared, ".modelgate.json")}: ${shared} is writable by others`);
    },
  );

  it("a discovered policy in a folder holding the target is an error (exit 2); named with --policy it applies; targets outside its folder use it", async () => {
    const repo = join(base, "repo");
    const model = await hostileModel(join(repo, "models", "m"));
    const outside = await hostileModel(join(base, "outside-model"));
    const policy = {
      pickle: { allow: ["posix.system", "os.system"] },
      severity: { "pickle/dangerous-global": "info" },
    };
    const file = join(repo, ".modelgate.json");
    await writeFile(file, JSON.stringify(policy), { mode: 0o644 });
    const policyLine = new RegExp(`^Policy: ${file.replace(/[.\\/]/g, "\\$&")} \\(sha256 [0-9a-f]{12}\\)$`, "m");

    // `cd model-repo && modelgate scan weights`: the policy may have come with the material.
    for (const target of [model, join(repo, "models")]) {
      const found = await scan(repo, target);
      expect(found.code, target).toBe(2);
      expect(found.io.err).toBe(
        `modelgate scan: POLICY: ${file} is in a folder that holds the scanned target ${target}: it may have come with the material scanned. Name it with --policy to use it, or pass --no-policy (or run from elsewhere)\n`,
      );
      expect(found.io.out).toBe("");
    }
    // Scanning the folder itself: the policy is inside the target, so it is input and ignored.
    const itself = await scan(repo, repo);
    expect(itself.code).toBe(1);
    expect(itself.io.err).toContain(`ignoring ${file}: ${repo} is inside a scanned target`);
    expect(itself.io.out).toMatch(/^Policy: built-in defaults$/m);
    // Also when one target of several lies in the policy's folder.
    const mixed = await scan(repo, outside, model);
    expect(mixed.code).toBe(2);
    expect(mixed.io.err).toContain(`is in a folder that holds the scanned target ${model}`);

    // Named, it applies.
    const named = await scan(repo, model, "--policy", ".modelgate.json");
    expect(named.code).toBe(0);
    expect(named.io.out).toMatch(policyLine);

    // A target outside the policy's folder still uses the discovered policy.
    const away = await scan(repo, outside);
    expect(away.code).toBe(0);
    expect(away.io.out).toMatch(policyLine);

    const none = await scan(repo, model, "--no-policy");
    expect(none.code).toBe(1);
    expect(none.io.out).toMatch(/^Policy: built-in defaults$/m);
  });

  it.skipIf(!POSIX)("an untrusted --policy or key file is a configuration error (exit 2), promptly", async () => {
    const model = await hostileModel(join(base, "m2"));
    const conf = join(base, "conf");
    await mkdir(conf, { mode: 0o755 });
    await writeFile(join(conf, "open.json"), JSON.stringify(HOSTILE_POLICY));
    await chmod(join(conf, "open.json"), 0o666);
    const open = await scan(elsewhere, model, "--policy", join(conf, "open.json"));
    expect(open.code).toBe(2);
    expect(open.io.err).toMatch(/^modelgate scan: POLICY: refusing policy .*open\.json: writable by group or others/);
    expect(open.io.out).toBe("");

    await writeFile(join(conf, "real.json"), "{}", { mode: 0o644 });
    await symlink(join(conf, "real.json"), join(conf, "link.json"));
    const link = await scan(elsewhere, model, "--policy", "link.json");
    expect(link.code).toBe(2); // relative to the working directory: elsewhere/link.json does not exist
    expect(link.io.err).toMatch(/cannot read policy .*elsewhere\/link\.json: no such file/);
    const linked = await scan(conf, model, "--policy", "link.json");
    expect(linked.code).toBe(2);
    expect(linked.io.err).toMatch(/link\.json: it is a symbolic link/);

    execFileSync("mkfifo", [join(conf, "key.pub")]);
    await writeFile(join(conf, "keyed.json"), JSON.stringify({ signature: { method: "key", keyFile: "key.pub" } }), {
      mode: 0o644,
    });
    const t0 = Date.now();
    const fifo = await scan(elsewhere, model, "--policy", join(conf, "keyed.json"));
    expect(fifo.code).toBe(2);
    expect(fifo.io.err).toMatch(/signature\.keyFile: refusing key file .*key\.pub: not a regular file \(a FIFO\)/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("files named on the scan command line are read safely", () => {
  it.skipIf(!POSIX)(
    "a FIFO or a device as --public-key, --trusted-root or --targets-file is refused promptly",
    async () => {
      const model = await hostileModel(join(base, "m-named"));
      const named = join(base, "named");
      await mkdir(named, { mode: 0o755 });
      execFileSync("mkfifo", [join(named, "fifo")]);
      const t0 = Date.now();
      for (const args of [
        ["--public-key", join(named, "fifo")],
        ["--trusted-root", join(named, "fifo")],
        ["--targets-file", join(named, "fifo")],
        ["--targets-file", "/dev/zero"],
        ["--certificate-chain", "/dev/zero"],
      ]) {
        const run = await scan(elsewhere, model, ...args);
        expect(run.code, args.join(" ")).toBe(2);
        expect(run.io.out).toBe("");
      }
      expect(Date.now() - t0).toBeLessThan(10_000);
    },
  );
});

describe("--output is checked before the scan", () => {
  let out: string;
  beforeAll(async () => {
    out = join(base, "out");
    await mkdir(out, { mode: 0o755 });
  });

  // The target does not exist: an error about it would mean the scan started before the check.
  const missingTarget = () => join(base, "no-such-model");

  it.each([
    [
      "a missing folder",
      () => join(out, "nope", "report.json"),
      /--output .*report\.json: folder .*nope does not exist/,
    ],
    ["a directory", () => out, /--output .*out: is a directory/],
    ["a trailing slash", () => `${out}/`, /names a folder/],
  ])("refuses %s with exit 2 before scanning", async (_name, path, message) => {
    const { code, io } = await scan(elsewhere, missingTarget(), "--format", "json", "--output", path());
    expect(code).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err).not.toMatch(/internal error|no-such-model/);
    expect(io.out).toBe("");
  });

  it.skipIf(!POSIX)("refuses a symbolic link (the file it points at is unchanged) and a FIFO", async () => {
    const victim = join(base, "victim.txt");
    await writeFile(victim, "precious", { mode: 0o644 });
    await symlink(victim, join(out, "link.json"));
    const link = await scan(elsewhere, missingTarget(), "--output", join(out, "link.json"));
    expect(link.code).toBe(2);
    expect(link.io.err).toMatch(/--output .*link\.json: is a symbolic link/);
    expect(await readFile(victim, "utf8")).toBe("precious");

    execFileSync("mkfifo", [join(out, "fifo.json")]);
    const fifo = await scan(elsewhere, missingTarget(), "--output", join(out, "fifo.json"));
    expect(fifo.code).toBe(2);
    expect(fifo.io.err).toMatch(/--output .*fifo\.json: is not a regular file/);
  });

  it.skipIf(!POSIX || process.getuid?.() === 0)("refuses a folder it cannot write to", async () => {
    const locked = join(base, "locked");
    await mkdir(locked, { mode: 0o555 });
    const { code, io } = await scan(elsewhere, missingTarget(), "--output", join(locked, "r.json"));
    expect(code).toBe(2);
    expect(io.err).toMatch(/folder .*locked is not writable/);
  });

  it("writes through a temporary file renamed into place, relative to the working directory", async () => {
    const model = await hostileModel(join(base, "m3"));
    await writeFile(join(out, "report.json"), "old", { mode: 0o640 });
    const { code, io } = await scan(out, model, "--format", "json", "--output", "report.json", "--no-policy");
    expect(code).toBe(1);
    expect(io.out).toMatch(/^Policy: built-in defaults$/m); // the text summary
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ScanReport;
    expect(report.verdict).toBe("malicious");
    expect(((await stat(join(out, "report.json"))).mode & 0o777).toString(8)).toBe("640");
    expect((await readdir(out)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("--timeout sets the whole-scan deadline", () => {
  it("rejects a non-positive value before scanning", async () => {
    const { code, io } = await scan(elsewhere, elsewhere, "--timeout", "0");
    expect(code).toBe(2);
    expect(io.err).toContain("--timeout");
  });
  it("accepts a deadline in seconds (the deadline itself is tested on the library: test/scan/trust.test.ts)", async () => {
    const deep = join(base, "timeout-tree");
    let dir = deep;
    for (let i = 0; i < 200; i++) dir = join(dir, `d${i}`);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFile(join(dir, "x.pkl"), "cposix\nsystem\n(S'id'\ntR.", { mode: 0o644 });
    const ok = await scanJson(elsewhere, deep, "--timeout", "60");
    expect(ok.report.complete).toBe(true);
    expect(ok.report.verdict).toBe("malicious");
  });
});
