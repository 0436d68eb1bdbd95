// An analysis that never settles (awaiting something no signal reaches) must not stall the scan:
// the engine waits for it until its deadline plus a grace period, then abandons it and reports
// the file as timed out. The hang is injected by wrapping the real analyzers.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RepoAnalyzer, RepoContext } from "../../src/core/analyzer.js";
import type { FileScanState, NodeInput } from "../../src/scan/analyze.js";
import { scan } from "../../src/scan/engine.js";
import { ruleIds } from "../helpers/scan.js";

/** What the hanging analyses do once the test releases them (after the scan returned). */
const late: Array<() => void> = [];

vi.mock("../../src/scan/analyze.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/scan/analyze.js")>();
  return {
    ...real,
    analyzeNode: (state: FileScanState, input: NodeInput) => {
      if (!input.name.endsWith("hang.bin")) return real.analyzeNode(state, input);
      // ignores its signal; when released, writes a finding that must not count
      return new Promise<never>(() => {
        late.push(() =>
          state.recorder.add(state.recorder.root, { ruleId: "format/executable", message: "late finding" }),
        );
      });
    },
  };
});

vi.mock("../../src/registry/catalog.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/registry/catalog.js")>();
  const hanging: RepoAnalyzer = {
    name: "hanging-test-analyzer",
    analyze: (ctx: RepoContext<never>) =>
      new Promise<void>((resolve) => {
        if (!ctx.entries.some((e) => e.path.endsWith("repo-hang.txt"))) {
          resolve();
          return;
        }
        late.push(() => ctx.report("notes.txt", { ruleId: "format/executable", message: "late repo finding" }));
      }),
  };
  return { ...real, REPO_ANALYZERS: [...real.REPO_ANALYZERS, hanging] };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-deadline-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("an analysis that outlives its deadline", () => {
  it("is abandoned after the grace period; the file is invalid and the others are analysed", async () => {
    const folder = join(dir, "files");
    await import("node:fs/promises").then((fs) => fs.mkdir(folder));
    await writeFile(join(folder, "hang.bin"), new Uint8Array(64).fill(7));
    await writeFile(join(folder, "notes.txt"), "plain notes\n");
    const t0 = Date.now();
    const report = await scan(folder, { limits: { fileTimeoutMs: 100 }, hash: false, concurrency: 1 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(100);
    expect(took).toBeLessThan(100 + 2_000 + 2_000);
    const hang = report.files.find((f) => f.path === "hang.bin")!;
    const notes = report.files.find((f) => f.path === "notes.txt")!;
    expect(ruleIds(hang)).toEqual(["scan/timeout"]);
    expect(hang.verdict).toBe("invalid");
    expect(hang.findings[0]!.message).toMatch(/abandoned/);
    expect(notes.verdict).toBe("clean");
    expect(report.errors.some((e) => e.code === "TIMEOUT" && e.path === "hang.bin")).toBe(true);
    // released now: writing to the recorder it was given does not throw
    for (const f of late.splice(0)) f();
  });

  it("a repository analyzer that never settles is abandoned once the scan's deadline passes", async () => {
    const folder = join(dir, "repo");
    await import("node:fs/promises").then((fs) => fs.mkdir(folder));
    await writeFile(join(folder, "repo-hang.txt"), "x\n");
    await writeFile(join(folder, "notes.txt"), "plain notes\n");
    const t0 = Date.now();
    const report = await scan(folder, { limits: { scanTimeoutMs: 300 }, hash: false });
    expect(Date.now() - t0).toBeLessThan(300 + 2_000 + 2_000);
    expect(report.errors.some((e) => e.code === "TIMEOUT" && e.message.includes("hanging-test-analyzer"))).toBe(true);
    expect(ruleIds(report.files.find((f) => f.path === "notes.txt")!)).not.toContain("format/executable");
    for (const f of late.splice(0)) f();
  });
});
