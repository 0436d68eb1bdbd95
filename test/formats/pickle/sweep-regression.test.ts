/**
 * The sweep of unrecognised bytes (src/formats/pickle/sweep.ts) reads its input in chunks of
 * `readChunks`' default 1 MiB and carries an overlap (`OVERLAP`, longer than any GLOBAL line or
 * STACK_GLOBAL form) into the next chunk: an import straddling a chunk boundary (every 1 MiB, the
 * 8 MiB mark included) must be found at its own offset, whatever byte of it the boundary cuts, and
 * once. A regression guard: these pass on the current code and fail when the overlap is broken.
 */
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { sweepPickleImports } from "../../../src/formats/pickle/sweep.js";

/** `readChunks`' default chunk size, which the sweep reads with. */
const CHUNK = 1 << 20;
const MiB = 1 << 20;
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** `size` bytes of NUL (no name character, no newline) with `pattern` written at `at`. */
function place(size: number, at: number, pattern: string): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set(latin1(pattern), at);
  return bytes;
}
const sweep = (bytes: Uint8Array) => sweepPickleImports(new BufferSource(bytes), () => undefined);

/** Imports in every form the sweep reads, each naming a denied global. */
const FORMS: readonly { readonly label: string; readonly pattern: string; readonly name: string }[] = [
  { label: "GLOBAL", pattern: "cos\nsystem\n", name: "os.system" },
  { label: "INST", pattern: "iposix\nsystem\n", name: "posix.system" },
  { label: "GLOBAL with a dotted module", pattern: "curllib.request\nurlopen\n", name: "urllib.request.urlopen" },
  {
    label: "STACK_GLOBAL of SHORT_BINUNICODE, memoised",
    pattern: "\x8c\x02os\x94\x8c\x06system\x94\x93",
    name: "os.system",
  },
  { label: "STACK_GLOBAL of BINUNICODE", pattern: "X\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93", name: "os.system" },
  { label: "STACK_GLOBAL of UNICODE lines", pattern: "Vsubprocess\nVPopen\n\x93", name: "subprocess.Popen" },
];

describe("an import straddling a chunk boundary is found at its offset", () => {
  for (const boundary of [CHUNK, 8 * MiB]) {
    for (const form of FORMS) {
      it(`${form.label} across ${boundary / MiB} MiB, cut at every byte`, async () => {
        const size = boundary + CHUNK / 2;
        for (let cut = 0; cut <= form.pattern.length; cut++) {
          const at = boundary - cut;
          const hits = await sweep(place(size, at, form.pattern));
          const hit = hits.filter((h) => h.name === form.name);
          expect(hit, `cut ${cut}`).toHaveLength(1);
          expect(hit[0]?.offset, `cut ${cut}`).toBe(at);
        }
      }, 120_000);
    }
  }

  it("a GLOBAL line of the longest dotted names straddling the 8 MiB mark", async () => {
    // a module of 8 identifiers of 64 characters (the longest the sweep reads), then `os.system`
    // written as a dotted name of the same module: only the denied os.system must be found
    const pad = Array.from({ length: 7 }, (_, i) => `m${i}${"x".repeat(62)}`).join(".");
    const pattern = `c${pad}.os\nsystem\ncos\nsystem\n`;
    for (const cut of [1, pattern.length >> 1, pattern.length - 12, pattern.length - 1]) {
      const at = 8 * MiB - cut;
      const hits = await sweep(place(8 * MiB + 4096, at, pattern));
      const hit = hits.filter((h) => h.name === "os.system");
      expect(hit, `cut ${cut}`).toHaveLength(1);
      expect(hit[0]?.offset, `cut ${cut}`).toBe(at + pattern.indexOf("cos\n"));
    }
  }, 120_000);

  it("imports in consecutive chunks are all found, each at its own offset", async () => {
    const size = 9 * MiB;
    const bytes = new Uint8Array(size);
    const placed = [
      { at: 1 * MiB - 3, text: "cos\nsystem\n", name: "os.system" },
      { at: 2 * MiB - 1, text: "cposix\nsystem\n", name: "posix.system" },
      { at: 8 * MiB - 5, text: "csubprocess\nPopen\n", name: "subprocess.Popen" },
      { at: 9 * MiB - 12, text: "cbuiltins\neval\n", name: "builtins.eval" },
    ];
    for (const p of placed) bytes.set(latin1(p.text).subarray(0, size - p.at), p.at);
    const hits = await sweep(bytes);
    for (const p of placed.slice(0, 3)) expect(hits.find((h) => h.name === p.name)?.offset, p.name).toBe(p.at);
    // the last one is cut by the end of the input: its name line has no newline, so it is no import
    expect(hits.map((h) => h.name)).not.toContain("builtins.eval");
  }, 120_000);
});

describe("the 8 MiB regression: long runs of name characters stay linear", () => {
  it("8 MiB of `ccc…c.` lines is swept quickly, and an import after it is still found", async () => {
    const run = `${"c".repeat(64)}.`.repeat(Math.ceil((8 * MiB) / 65));
    const text = `${run}\n${"c".repeat(1000)}\n`;
    const bytes = new Uint8Array(text.length + 64);
    bytes.set(latin1(text));
    bytes.set(latin1("cos\nsystem\n"), text.length + 3);
    const t0 = performance.now();
    const hits = await sweep(bytes);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(hits.find((h) => h.name === "os.system")?.offset).toBe(text.length + 3);
  }, 60_000);
});
