import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import type { ScanReport } from "../../src/report/schema.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";
import { reportValidator } from "../helpers/schema.js";

function fakeIO(env: Record<string, string> = {}, tty = false): RecordingIO {
  return recordingIO({ env, stdoutIsTTY: tty });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-cli-"));
  await writeFile(join(dir, "clean.json"), '{"a": 1}');
  await writeFile(join(dir, "lib.so"), new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("modelgate scan", () => {
  it("exit 0 for a clean file, 1 for findings at or above --fail-on", async () => {
    const clean = fakeIO();
    expect(await runCli(["scan", join(dir, "clean.json")], clean)).toBe(0);
    expect(clean.out).toMatch(/^Verdict: CLEAN$/m);
    expect(await runCli(["scan", dir], fakeIO())).toBe(1);
    expect(await runCli(["scan", dir, "--fail-on", "critical"], fakeIO())).toBe(0);
  });

  it("exit 2 for an invalid file, whatever --fail-on says", async () => {
    const sub = await mkdtemp(join(tmpdir(), "mg-cli-7z-"));
    await writeFile(join(sub, "a.7z"), new Uint8Array([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]));
    expect(await runCli(["scan", sub, "--fail-on", "critical"], fakeIO())).toBe(2);
    await rm(sub, { recursive: true });
  });

  it("--format json prints one schema-valid report with one files[] entry per file", async () => {
    const io = fakeIO();
    await runCli(["scan", dir, "--format", "json"], io);
    const report = JSON.parse(io.out) as ScanReport;
    expect(report.files.map((f) => f.path)).toEqual(["clean.json", "lib.so"]);
    expect(reportValidator()(report).valid).toBe(true);
  });

  it("--format sarif prints SARIF 2.1.0 with rule metadata and security-severity", async () => {
    const io = fakeIO();
    await runCli(["scan", dir, "--format", "sarif"], io);
    const log = JSON.parse(io.out);
    expect(log.version).toBe("2.1.0");
    const run = log.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(["format/executable"]);
    expect(run.tool.driver.rules[0].properties["security-severity"]).toBe("8.0");
    expect(run.results[0]).toMatchObject({ ruleId: "format/executable", level: "error" });
    expect(run.results[0].locations[0].physicalLocation.artifactLocation.uri).toBe(`${dir}/lib.so`.replace(/^\//, "/"));
    expect(run.results[0].partialFingerprints["modelgate/v1"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("--output writes the report to a file and a summary to stdout", async () => {
    const io = fakeIO();
    const out = join(dir, "..", `mg-out-${process.pid}.json`);
    await runCli(["scan", dir, "--format", "json", "--output", out], io);
    const written = JSON.parse(await readFile(out, "utf8")) as ScanReport;
    expect(written.files).toHaveLength(2);
    expect(io.out).toMatch(/^Verdict: MALICIOUS$/m);
    await rm(out);
  });

  it("usage errors exit 2 with one line on stderr", async () => {
    for (const args of [["scan"], ["scan", dir, "--format", "xml"], ["scan", dir, "--bogus"], ["nope"]]) {
      const io = fakeIO();
      expect(await runCli(args, io)).toBe(2);
      expect(io.err.trim().split("\n")).toHaveLength(1);
    }
  });

  it("prints no colour codes when NO_COLOR is set, and no progress when not a TTY", async () => {
    const coloured = fakeIO({}, true);
    await runCli(["scan", dir], coloured);
    expect(coloured.out).toContain("\x1b[");
    const io = fakeIO({ NO_COLOR: "1" }, true);
    await runCli(["scan", dir], io);
    expect(io.out).toMatch(/MALICIOUS/);
    expect(io.out).not.toContain("\x1b[");
    expect(io.err).toBe("");
  });
});
