/**
 * Content no format accounts for is swept for pickle imports of denied names at any offset: a
 * custom checkpoint that unpickles behind its own header hides nothing there.
 */
import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../helpers/scan.js";

/** Bytes no detector claims (a made-up header and pseudo-random filler). */
function filler(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (x >> 16) & 0xff;
  }
  out.set([0x4d, 0x47, 0x58, 0x01, 0xfe, 0x00, 0x13, 0x37], 0);
  return out;
}

function embed(payload: Uint8Array, at: number, size = 200_000): Uint8Array {
  const out = filler(size);
  out.set(payload, at);
  return out;
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
// protocol 2: GLOBAL os system; protocol 4: SHORT_BINUNICODE "posix" MEMOIZE, "system" MEMOIZE, STACK_GLOBAL
const P0 = latin1("cos\nsystem\n(S'id'\ntR.");
const P4 = latin1(
  "\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.",
);

describe("sweep of unrecognised content", () => {
  it("finds a protocol 0-3 import of a denied name behind a custom header", async () => {
    const file = await scanOne(embed(P0, 4096), "weights.custom");
    expect(ruleIds(file)).toContain("format/embedded-pickle-import");
    const hit = file.findings.find((f) => f.ruleId === "format/embedded-pickle-import");
    expect(hit?.offset).toBe(4096);
    expect(hit?.evidence?.global).toBe("os.system");
    expect(file.verdict).toBe("malicious");
  });

  it("finds a protocol 4 STACK_GLOBAL import, also across a chunk boundary", async () => {
    const at = (1 << 20) - 9;
    const file = await scanOne(embed(P4, at, (1 << 20) + 4096), "blob.dat");
    const hit = file.findings.find((f) => f.ruleId === "format/embedded-pickle-import");
    expect(hit?.evidence?.global).toBe("posix.system");
    expect(hit?.offset).toBe(at + 11); // the SHORT_BINUNICODE after PROTO and FRAME
  });

  it("ignores names the denylist does not deny, and unknown bytes without imports", async () => {
    const benign = await scanOne(embed(latin1("ccollections\nOrderedDict\n)R."), 100), "w.custom");
    expect(ruleIds(benign)).toEqual(["format/unknown"]);
    expect(ruleIds(await scanOne(filler(300_000), "w.custom"))).toEqual(["format/unknown"]);
  });

  it("a STACK_GLOBAL whose length bytes do not match its strings is not an import", async () => {
    const bad = latin1("\x8c\x09posix\x94\x8c\x06system\x94\x93");
    expect(ruleIds(await scanOne(embed(bad, 500), "w.custom"))).toEqual(["format/unknown"]);
  });
});
