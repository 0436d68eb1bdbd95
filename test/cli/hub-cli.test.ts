import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import type { ScanReport } from "../../src/report/schema.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";
import { reportValidator } from "../helpers/schema.js";
import { MockHub } from "../sources/hub/mock-hub.js";

function fakeIO(env: Record<string, string> = {}): RecordingIO {
  return recordingIO({ env });
}

const A = "a".repeat(40);
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...new Array(56).fill(0)]);
const text = (s: string) => new TextEncoder().encode(s);
let hub: MockHub;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-hubcli-"));
  hub = await MockHub.start(
    [
      {
        name: "acme/clean",
        refs: { main: A },
        commits: {
          [A]: [
            { path: "config.json", content: text("{}") },
            { path: "w.bin", content: new Uint8Array(5000), lfs: true },
          ],
        },
      },
      { name: "acme/bad", refs: { main: A }, commits: { [A]: [{ path: "lib.so", content: ELF, lfs: true }] } },
      {
        name: "acme/private",
        refs: { main: A },
        private: true,
        commits: { [A]: [{ path: "a.json", content: text("{}") }] },
      },
    ],
    { token: "hf_cli" },
  );
});
afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true });
});

describe("modelgate scan hf://", () => {
  it("scans a Hub repository: exit codes as for local scans, a Hub summary line in text", async () => {
    const clean = fakeIO({ HF_ENDPOINT: hub.url, HF_HOME: dir });
    expect(await runCli(["scan", "hf://acme/clean"], clean)).toBe(0);
    expect(clean.out).toMatch(/^Hub: acme\/clean@main = commit a{40}; 2 verified, 0 partially read/m);
    const bad = fakeIO({ HF_HOME: dir });
    expect(await runCli(["scan", "hf://acme/bad", "--hub-url", hub.url, "--format", "json"], bad)).toBe(1);
    const report = JSON.parse(bad.out) as ScanReport;
    expect(report.target).toMatchObject({ kind: "hub", hub: { repo: "acme/bad", commit: A } });
    expect(reportValidator()(report).valid).toBe(true);
  });

  it("uses HF_TOKEN from the environment; without it a private repository exits 2 with the reason", async () => {
    const denied = fakeIO({ HF_ENDPOINT: hub.url, HF_HOME: dir });
    expect(await runCli(["scan", "hf://acme/private"], denied)).toBe(2);
    expect(denied.err).toMatch(/hf:\/\/acme\/private: NETWORK: .*HF_TOKEN/);
    expect(await runCli(["scan", "hf://acme/private"], fakeIO({ HF_ENDPOINT: hub.url, HF_TOKEN: "hf_cli" }))).toBe(0);
  });

  it("many targets with --jsonl stream one report per line; --cache-dir answers the second run", async () => {
    const cacheDir = join(dir, "cache");
    const list = join(dir, "targets.txt");
    await writeFile(list, `# repos\nhf://acme/bad\n\n${join(dir, "targets.txt")}\n`);
    const args = [
      "scan",
      "hf://acme/clean",
      "--targets-file",
      list,
      "--format",
      "jsonl",
      "--cache-dir",
      cacheDir,
      "--jobs",
      "2",
    ];
    const first = fakeIO({ HF_ENDPOINT: hub.url, HF_HOME: dir });
    expect(await runCli(args, first)).toBe(1);
    const reports = first.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ScanReport);
    expect(reports.map((r) => r.target.name).sort()).toEqual(
      ["hf://acme/bad@main", "hf://acme/clean@main", list].sort(),
    );
    const second = fakeIO({ HF_ENDPOINT: hub.url, HF_HOME: dir });
    expect(await runCli(args, second)).toBe(1);
    const again = second.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ScanReport);
    const bad = again.find((r) => r.target.name === "hf://acme/bad@main")!;
    expect(bad.files[0]).toMatchObject({ path: "lib.so", cached: true, verdict: "malicious" });
  });

  it("bad hf:// URIs and options are usage errors (exit 2, one line)", async () => {
    for (const args of [
      ["scan", "hf://nope"],
      ["scan", "hf://a/b", "--verify", "some"],
      ["scan", "hf://a/b", "--jobs", "0"],
    ]) {
      const io = fakeIO();
      expect(await runCli(args, io)).toBe(2);
      expect(io.err.trim().split("\n")).toHaveLength(1);
    }
  });

  it("an unknown repository exits 2 and is reported invalid, never clean", async () => {
    const io = fakeIO({ HF_ENDPOINT: hub.url, HF_HOME: dir });
    expect(await runCli(["scan", "hf://acme/none", "--format", "json"], io)).toBe(2);
    expect(JSON.parse(io.out)).toMatchObject({ verdict: "invalid", complete: false });
  });
});
