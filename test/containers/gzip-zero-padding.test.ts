/**
 * gzip members after zero padding: Python's gzip module skips the zeros and decompresses the next
 * member as part of the stream (gzip(1) stops), so a pickle split across them is read whole.
 */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decompress } from "../../src/containers/compressed/streams.js";
import { BufferSource } from "../../src/core/byte-source.js";
import { testBudget } from "../helpers/budget.js";
import { ruleIds, scanOne } from "../helpers/scan.js";

const budget = testBudget;

describe("gzip: members after zero padding", () => {
  it("decompresses the member after the zeros into the same stream, and reports it", async () => {
    const bytes = Buffer.concat([gzipSync("hello "), Buffer.alloc(7), gzipSync("world")]);
    const r = await decompress("gzip", new BufferSource(bytes), budget());
    expect(r.members).toBe(2);
    expect(Buffer.from(await r.source.read(0, 100)).toString()).toBe("hello world");
    expect(r.findings.map((f) => f.ruleId)).toContain("container/malformed-stream");
    expect(r.trailing).toBeUndefined();
  });

  it("finds a pickle payload split across zero-padded members", async () => {
    const cmd = "echo modelgate-sample";
    const evil = Buffer.concat([Buffer.from("cposix\nsystem\n(S'"), Buffer.from(cmd), Buffer.from("'\ntR.")]);
    const p = Buffer.concat([
      Buffer.from([0x80, 0x02, 0x58, 20, 0, 0, 0]),
      Buffer.alloc(20, 0x41),
      Buffer.from("0"),
      evil,
    ]);
    const bytes = Buffer.concat([gzipSync(p.subarray(0, 15)), Buffer.alloc(7), gzipSync(p.subarray(15))]);
    const report = await scanOne(bytes, "model.pkl.gz");
    expect(report.verdict, ruleIds(report).join(",")).toBe("malicious");
  });
});
