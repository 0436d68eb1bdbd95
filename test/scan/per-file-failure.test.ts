// A failure in one file's scan fails that file only. An archive of 130,000 pickle members once made
// the facts of its members overflow the call stack (`Math.max(...values)` over every member's
// `pickle.protocol`); the engine took the error for a deadline, copied the recorder with spread
// calls that overflowed too, and the whole scan's report was lost: a malicious pickle beside the
// archive was no longer reported. (The archive itself takes ~20 s to scan here, so the parts are
// tested apart: facts and recorder copies of that size, and a failure escaping a file's scan.)
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { charCodes, maxOf, prependAll, pushAll } from "../../src/core/arrays.js";
import { aggregateFacts } from "../../src/core/facts.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import { scan } from "../../src/scan/engine.js";
import { FileRecorder } from "../../src/scan/file-recorder.js";
import { ruleIds } from "../helpers/scan.js";

const EVIL = Buffer.from("cposix\nsystem\n(S'touch /tmp/pwned'\ntR.");
const MANY = 200_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-per-file-failure-"));
  await writeFile(join(dir, "evil.pkl"), EVIL);
  await writeFile(join(dir, "fails.bin"), Buffer.from("anything"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a file whose scan fails", () => {
  it("is invalid with scan/internal-error (not a timeout), and the other files keep their verdicts", async () => {
    // A caller's progress callback that throws is one failure that escapes the file's analysis.
    const report = await scan(dir, {
      onProgress: (p) => {
        if (p.phase === "analyze" && p.path === "fails.bin") throw new RangeError("Maximum call stack size exceeded");
      },
    });
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    expect(byPath.get("evil.pkl")?.verdict).toBe("malicious");
    const failed = byPath.get("fails.bin");
    expect(failed?.verdict).toBe("invalid");
    expect(ruleIds(failed!)).toContain("scan/internal-error");
    expect(ruleIds(failed!)).not.toContain("scan/timeout");
    expect(report.verdict).toBe("malicious");
  });
});

describe("a file whose analysis meets its own deadline first", () => {
  it("keeps the timeout's rule (scan/timeout), not an internal error", async () => {
    const { ModelgateError } = await import("../../src/core/errors.js");
    const report = await scan(dir, {
      onProgress: (p) => {
        if (p.phase === "analyze" && p.path === "fails.bin") throw new ModelgateError("TIMEOUT", "file deadline");
      },
    });
    const failed = report.files.find((f) => f.path === "fails.bin");
    expect(failed?.verdict).toBe("invalid");
    expect(ruleIds(failed!)).toContain("scan/timeout");
    expect(ruleIds(failed!)).not.toContain("scan/internal-error");
  });
});

describe("what a file of very many members is made of", () => {
  it("facts of 200,000 members combine (max, sum, union)", () => {
    const nodes = Array.from({ length: MANY }, (_, i) => ({ "pickle.protocol": i % 5, tensorCount: 1 }));
    expect(aggregateFacts(nodes)).toMatchObject({ "pickle.protocol": 4, tensorCount: MANY });
  });

  it("a recorder of 200,000 members is copied and restored", () => {
    const recorder = new FileRecorder("many.zip", 1, resolvePolicy());
    for (let i = 0; i < MANY; i++) {
      recorder.addMember({
        path: `many.zip/${i}.pkl`,
        parent: recorder.root,
        size: 4,
        format: "pickle",
        verdict: "clean",
      });
    }
    const copy = recorder.detach();
    expect(copy.toReport().members).toHaveLength(MANY);
    const again = new FileRecorder("many.zip", 1, resolvePolicy());
    again.restore(copy.toReport());
    expect(again.toReport().members).toHaveLength(MANY);
  });

  it("array helpers do not spread onto the call stack", () => {
    const big = Array.from({ length: 500_000 }, (_, i) => i);
    expect(pushAll([-1], big)).toHaveLength(500_001);
    const target = [1, 2];
    prependAll(target, big);
    expect(target.slice(0, 2)).toEqual([0, 1]);
    expect(target.slice(-3)).toEqual([499_999, 1, 2]);
    expect(maxOf(big)).toBe(499_999);
    expect(maxOf([])).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(maxOf([1, Number.NaN, 3]))).toBe(true);
    expect(charCodes(new Uint8Array(300_000).fill(0x41))).toBe("A".repeat(300_000));
  });
});
