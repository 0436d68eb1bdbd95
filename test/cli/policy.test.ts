import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import type { ScanReport } from "../../src/report/schema.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";
import { reportValidator } from "../helpers/schema.js";

function fakeIO(cwd?: string): RecordingIO {
  return recordingIO(cwd === undefined ? {} : { cwd });
}

let repo: string;
let model: string;
const suppressKernel = {
  rule: "format/executable",
  path: "models/tiny/kernels/*.so",
  reason: "vendored flash-attention kernel, reviewed in SEC-142",
  expires: "2999-12-31",
};

async function run(...args: string[]): Promise<{ code: number; report: ScanReport; io: ReturnType<typeof fakeIO> }> {
  return runIn(undefined, ...args);
}

async function runIn(
  cwd: string | undefined,
  ...args: string[]
): Promise<{ code: number; report: ScanReport; io: ReturnType<typeof fakeIO> }> {
  const io = fakeIO(cwd);
  const code = await runCli(["scan", model, "--format", "json", ...args], io);
  return { code, report: io.out === "" ? (undefined as unknown as ScanReport) : JSON.parse(io.out), io };
}

async function policyFile(name: string, policy: unknown): Promise<string> {
  const path = join(repo, name);
  await writeFile(path, JSON.stringify(policy));
  return path;
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "mg-cli-policy-"));
  model = join(repo, "models", "tiny");
  await mkdir(join(model, "kernels"), { recursive: true });
  await writeFile(join(model, "config.json"), '{"model_type":"llama","transformers_version":"4.46.1"}');
  await writeFile(join(model, "kernels", "libattn.so"), new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
});
afterAll(() => rm(repo, { recursive: true, force: true }));

describe("policies change verdicts and exit codes", () => {
  it("without a policy the native kernel fails the scan (exit 1)", async () => {
    const { code, report } = await run("--no-policy");
    expect(code).toBe(1);
    expect(report.verdict).toBe("malicious");
    expect(report.policy?.source).toBeUndefined();
  });

  it("a .modelgate.json in a folder holding the target is refused (exit 2); named with --policy it accepts the kernel (exit 0), keeps it visible and records the policy", async () => {
    const file = join(repo, ".modelgate.json");
    await writeFile(file, JSON.stringify({ suppressions: [suppressKernel] }));
    // Configuration comes from where modelgate runs, not from what it scans.
    expect((await run()).report.policy?.source).toBeUndefined();
    // Run from the folder holding both: the file may have come with the material, so it must be named.
    const found = await runIn(repo);
    expect(found.code).toBe(2);
    expect(found.io.out).toBe("");
    expect(found.io.err).toContain(`POLICY: ${file} is in a folder that holds the scanned target ${model}`);
    const { code, report } = await runIn(repo, "--policy", ".modelgate.json");
    expect(code).toBe(0);
    expect(reportValidator()(report).valid).toBe(true);
    const kernel = report.files.find((f) => f.path === "kernels/libattn.so")!;
    expect(kernel.verdict).toBe("clean");
    expect(kernel.findings).toEqual([]);
    expect(kernel.suppressed).toMatchObject([
      { ruleId: "format/executable", severity: "high", suppression: { reason: suppressKernel.reason } },
    ]);
    expect(report.policy).toMatchObject({
      source: file,
      suppressions: [{ rule: "format/executable", status: "active", matched: 1 }],
    });
    expect(report.policy?.hash).toMatch(/^[0-9a-f]{64}$/);
    await rm(file);
  });

  it("a .modelgate.json found from the working directory applies to targets outside its folder (by absolute paths)", async () => {
    const project = join(repo, "project");
    await mkdir(project, { recursive: true });
    const file = join(project, ".modelgate.json");
    // relative globs would float onto any scanned folder with the same layout: outside the
    // policy's folder a suppression names the absolute path
    await writeFile(file, JSON.stringify({ suppressions: [{ ...suppressKernel, path: "kernels/*.so" }] }));
    expect((await runIn(project)).code).toBe(1);
    const absolute = `${await realpath(model)}/kernels/*.so`;
    await writeFile(file, JSON.stringify({ suppressions: [{ ...suppressKernel, path: absolute }] }));
    const { code, report } = await runIn(project);
    expect(code).toBe(0);
    expect(report.files.find((f) => f.path === "kernels/libattn.so")?.verdict).toBe("clean");
    expect(report.policy).toMatchObject({ source: file, suppressions: [{ status: "active", matched: 1 }] });
    await rm(project, { recursive: true });
  });

  it("a severity override turns an informational finding into a failing one", async () => {
    const path = await policyFile("override.json", {
      suppressions: [suppressKernel],
      severity: { "policy/vulnerable-tool-version": "medium" },
    });
    const { code, report } = await run("--policy", path);
    expect(code).toBe(1);
    expect(report.files.find((f) => f.path === "config.json")?.verdict).toBe("suspicious");
    expect((await run("--policy", path, "--fail-on", "high")).code).toBe(0);
  });

  it("a required signature fails an unsigned model, on every file; failing verification is high", async () => {
    const path = await policyFile("signed.json", {
      suppressions: [suppressKernel],
      signature: { method: "sigstore", identity: "release@acme.example", issuer: "https://accounts.google.com" },
    });
    const { code, report } = await run("--policy", path);
    expect(code).toBe(1);
    for (const file of report.files) {
      expect(file.findings.map((f) => f.ruleId)).toContain("policy/signature-required");
    }
    expect((await run("--policy", path, "--fail-on", "high")).code).toBe(0);
    const strict = await policyFile("signed-strict.json", {
      suppressions: [suppressKernel],
      signature: { required: true },
      severity: { "policy/signature-required": "high" },
    });
    expect((await run("--policy", strict, "--fail-on", "high")).code).toBe(1);
  });

  it("an expired suppression stops applying and is reported", async () => {
    const path = await policyFile("expired.json", { suppressions: [{ ...suppressKernel, expires: "2020-01-31" }] });
    const { code, report } = await run("--policy", path);
    expect(code).toBe(1);
    expect(report.policy?.suppressions).toMatchObject([{ status: "expired", matched: 1, expires: "2020-01-31" }]);
    const text = fakeIO();
    await runCli(["scan", model, "--policy", path], text);
    expect(text.out).toContain("Expired suppressions (no longer applied):");
    expect(text.out).toMatch(/format\/executable {2}models\/tiny\/kernels\/\*\.so {2}expired 2020-01-31/);
    const sarif = fakeIO();
    await runCli(["scan", model, "--policy", path, "--format", "sarif"], sarif);
    const notes = JSON.parse(sarif.out).runs[0].invocations[0].toolExecutionNotifications;
    expect(notes[0].message.text).toMatch(/expired on 2020-01-31/);
  });

  it("SARIF carries suppressed findings as accepted suppressions", async () => {
    const path = await policyFile("sarif.json", { suppressions: [suppressKernel] });
    const io = fakeIO();
    await runCli(["scan", model, "--policy", path, "--format", "sarif"], io);
    const result = JSON.parse(io.out).runs[0].results.find((r: { ruleId: string }) => r.ruleId === "format/executable");
    expect(result.suppressions).toEqual([
      { kind: "external", status: "accepted", justification: `${suppressKernel.reason} (until 2999-12-31)` },
    ]);
  });

  it("an invalid policy is exit 2 with one line naming the field", async () => {
    const path = await policyFile("bad.json", { suppressions: [{ rule: "format/executable", path: "*.so" }] });
    const { code, io } = await run("--policy", path);
    expect(code).toBe(2);
    expect(io.err.trim().split("\n")).toHaveLength(1);
    expect(io.err).toContain("suppressions[0].reason: required");
    expect((await run("--policy", path, "--no-policy")).code).toBe(2);
  });
});
