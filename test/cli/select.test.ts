// Issue 18: `modelgate scan --max-size`, `--include`, `--exclude` (the engine's ScanOptions, the CLI
// only parses them): exit codes, usage errors, the text summary line and the JSON report.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import type { ScanReport } from "../../src/report/schema.js";
import { fakeIO } from "../helpers/cli.js";

const SAMPLES = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const base = mkdtempSync(join(tmpdir(), "mg-cli-select-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

const EVIL = "cposix\nsystem\n(S'id'\ntR.";
const EVIL_SIZE = Buffer.byteLength(EVIL);

/** A malicious pickle at the top, a clean one below, a dotfile. */
function model(): string {
  const dir = join(base, `m${n++}`);
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "evil.pkl"), EVIL);
  writeFileSync(join(dir, "sub", "ok.pkl"), Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]));
  writeFileSync(join(dir, ".env"), "A=1\n");
  return dir;
}

async function json(args: string[]): Promise<{ code: number; report: ScanReport; err: string }> {
  const io = fakeIO();
  const code = await runCli(["scan", ...args, "--format", "json", "--no-policy"], io);
  return { code, report: JSON.parse(io.out) as ScanReport, err: io.err };
}

describe("--exclude / --include", () => {
  it("--exclude leaves a malicious file out: exit 0, listed as skipped", async () => {
    const dir = model();
    expect((await json([dir])).code).toBe(1);
    const { code, report } = await json([dir, "--exclude", "*.pkl"]);
    expect(code).toBe(0);
    expect(report.files.map((f) => f.path).sort()).toEqual([".env", "sub/ok.pkl"]);
    expect(report.skipped).toEqual([{ path: "evil.pkl", reason: "excluded", size: EVIL_SIZE }]);
  });

  it("is repeatable, takes --flag=value, and ** reaches every depth", async () => {
    const dir = model();
    const { report } = await json([dir, "--exclude=**/*.pkl", "--exclude", ".env"]);
    expect(report.skipped?.map((s) => s.path).sort()).toEqual([".env", "evil.pkl", "sub/ok.pkl"]);
    expect(report.files).toEqual([]);
    const inc = await json([dir, "--include", "sub/**", "--include", ".*"]);
    expect(inc.code).toBe(0);
    expect(inc.report.files.map((f) => f.path).sort()).toEqual([".env", "sub/ok.pkl"]);
    expect(inc.report.skipped).toEqual([{ path: "evil.pkl", reason: "not-included", size: EVIL_SIZE }]);
  });

  it("globs that leave nothing to analyse: exit 2, never clean", async () => {
    const { code, report } = await json([model(), "--include", "*.safetensors"]);
    expect(code).toBe(2);
    expect(report.complete).toBe(false);
    expect(report.verdict).toBe("invalid");
  });

  it("the text summary says how many files were skipped", async () => {
    const io = fakeIO();
    expect(await runCli(["scan", model(), "--exclude", "**/*.pkl", "--no-policy"], io)).toBe(0);
    expect(io.out).toContain("Skipped: 2 files skipped by --include/--exclude (not analysed)");
  });

  it("a bad glob is a usage error before any scan work", async () => {
    for (const args of [
      ["--include", "a/["],
      ["--exclude", "{x"],
    ]) {
      const io = fakeIO();
      expect(await runCli(["scan", model(), ...args], io)).toBe(2);
      expect(io.out).toBe("");
      expect(io.err).toMatch(/--(include|exclude): glob/);
    }
  });

  it("a signed model verifies with a file excluded; tampering with it is still found", async () => {
    const dir = join(base, `s${n++}`);
    cpSync(join(SAMPLES, "signed-model"), dir, { recursive: true });
    const key = join(SAMPLES, "keys/p256.pub.pem");
    const ok = await json([dir, "--public-key", key, "--require-signature", "--exclude", "weights.bin"]);
    expect(ok.report.signature?.status).toBe("verified");
    expect(ok.report.files.map((f) => f.path)).not.toContain("weights.bin");
    writeFileSync(join(dir, "weights.bin"), Buffer.concat([readFileSync(join(dir, "weights.bin")), Buffer.from("x")]));
    const bad = await json([dir, "--public-key", key, "--exclude", "weights.bin"]);
    expect(bad.code).toBe(1);
    const weights = bad.report.files.find((f) => f.path === "weights.bin");
    expect(weights?.findings.map((f) => f.ruleId)).toContain("integrity/signed-file-mismatch");
  });
});

describe("--max-size", () => {
  it("a file over the size is invalid (exit 2), the scan complete; decimal and binary units", async () => {
    const dir = model();
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(3000, 1));
    const { code, report } = await json([dir, "--max-size", "2kB", "--exclude", "evil.pkl"]);
    expect(code).toBe(2);
    expect(report.complete).toBe(true);
    const big = report.files.find((f) => f.path === "big.bin");
    expect(big?.verdict).toBe("invalid");
    expect(big?.findings.map((f) => f.ruleId)).toEqual(["scan/too-large"]);
    // 3000 bytes fit in 3K (3072) but not in 2kB (2000).
    expect(
      (await json([dir, "--max-size", "3K", "--exclude", "evil.pkl"])).report.files.map((f) => f.verdict),
    ).not.toContain("invalid");
    const io = fakeIO();
    await runCli(["scan", dir, "--max-size", "2000", "--no-policy"], io);
    expect(io.out).toContain("Too large: 1 file over --max-size, not analysed (invalid)");
  });

  it("a value that is not a size is a usage error", async () => {
    for (const value of ["0", "-5", "1.5", "2 XB", "lots", "1e9"]) {
      const io = fakeIO();
      expect(await runCli(["scan", model(), "--max-size", value], io), value).toBe(2);
      expect(io.err, value).toContain("--max-size");
      expect(io.out).toBe("");
    }
  });

  it("is listed in the help", async () => {
    const io = fakeIO();
    expect(await runCli(["scan", "--help"], io)).toBe(0);
    for (const flag of ["--max-size SIZE", "--include GLOB", "--exclude GLOB"]) expect(io.out).toContain(flag);
  });
});
