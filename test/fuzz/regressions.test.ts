/**
 * Replays every input `npm run fuzz` saved as a failure (test/fuzz/regressions/<target>/). Each
 * was a crash, hang, timeout or memory blow-up once; each must now end in a result or a typed
 * error, through the same oracle.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CpythonRecord, compare, modelgateView } from "./diff.js";
import { execute } from "./engine.js";
import type { RegressionEntry } from "./supervisor.js";
import { REPO_ROOT, TARGETS } from "./targets.js";

const DIR = join(REPO_ROOT, "test", "fuzz", "regressions");
const targets = existsSync(DIR) ? readdirSync(DIR).sort() : [];

describe("fuzz regressions", () => {
  it("every saved input belongs to a known target and is listed in its index", () => {
    for (const t of targets) {
      expect(TARGETS.has(t) || t === "pickle-diff", t).toBe(true);
      const index = JSON.parse(readFileSync(join(DIR, t, "index.json"), "utf8")) as Record<string, RegressionEntry>;
      const files = readdirSync(join(DIR, t)).filter((f) => f !== "index.json");
      expect(files.sort()).toEqual(Object.keys(index).sort());
    }
  });

  for (const t of targets) {
    if (t === "pickle-diff") continue;
    const target = TARGETS.get(t);
    const index = JSON.parse(readFileSync(join(DIR, t, "index.json"), "utf8")) as Record<string, RegressionEntry>;
    for (const [file, entry] of Object.entries(index)) {
      it(`${t}/${file} (was ${entry.kind}: ${entry.message.slice(0, 80)})`, async () => {
        if (target === undefined) throw new Error(`unknown target ${t}`);
        const bytes = new Uint8Array(readFileSync(join(DIR, t, file)));
        const { failure, ms } = await execute(target, { name: file.slice(17), bytes });
        expect(failure?.message).toBeUndefined();
        expect(ms).toBeLessThan(10_000);
      }, 60_000);
    }
  }

  // Differential failures: streams where CPython imported or called something modelgate did not
  // report, with CPython's record (so no Python is needed here).
  const diffIndex = targets.includes("pickle-diff")
    ? (JSON.parse(readFileSync(join(DIR, "pickle-diff", "index.json"), "utf8")) as Record<
        string,
        RegressionEntry & { cpython: CpythonRecord }
      >)
    : {};
  for (const [file, entry] of Object.entries(diffIndex)) {
    it(`pickle-diff/${file} (was: ${entry.message.slice(0, 80)})`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, "pickle-diff", file)));
      expect(compare(entry.cpython, await modelgateView(bytes)).missing).toEqual([]);
      expect(entry.cpython.events.length).toBeGreaterThan(0);
    });
  }
});
