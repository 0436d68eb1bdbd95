import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectLlamafile } from "../../../src/formats/llamafile/index.js";
import { sniff } from "../../../src/registry/catalog.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "llamafile", p)));

describe("llamafile", () => {
  it("is recognised before the executable detector, with the zip as a second reading", () => {
    const b = sample("tiny.llamafile");
    const d = sniff({
      head: b.subarray(0, 65536),
      tail: b.subarray(Math.max(0, b.length - 65558)),
      size: b.length,
      name: "x",
    });
    expect(d.map((x) => x.format)).toEqual(["llamafile", "zip"]);
    const j = new TextEncoder().encode("jartsr='\n");
    expect(detectLlamafile({ head: j, tail: j, size: j.length, name: "x" })?.format).toBe("llamafile");
    const pe = new TextEncoder().encode("MZ\x90\x00");
    expect(detectLlamafile({ head: pe, tail: pe, size: pe.length, name: "x" })).toBeUndefined();
  });

  it("reports the executable and analyses the embedded GGUF", async () => {
    for (const name of ["tiny.llamafile", "jartsr.llamafile"]) {
      const f = await scanOne(sample(name), "model.llamafile");
      expect(f.format).toBe("llamafile");
      expect(f.verdict).toBe("malicious");
      expect(ruleIds(f)).toContain("llamafile/executable");
      expect(ruleIds(f)).not.toContain("format/executable");
      expect(f.members?.find((m) => m.path.endsWith("!model.gguf"))?.format).toBe("gguf");
    }
    const evil = await scanOne(sample("template.llamafile"), "model.llamafile");
    expect(evil.members?.find((m) => m.path.endsWith("!model.gguf"))?.verdict).toBe("malicious");
  });
});
