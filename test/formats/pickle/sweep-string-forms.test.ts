/**
 * The sweep of unrecognised bytes finds a STACK_GLOBAL import whatever string opcodes spell its
 * module and name: BINUNICODE (`X` + 4-byte length), SHORT_BINSTRING/BINSTRING (`U`/`T`), UNICODE
 * (`V...\n`), STRING (`S'...'\n`), SHORT_BINUNICODE, each optionally memoised (MEMOIZE, BINPUT,
 * LONG_BINPUT). pickle.loads accepts every one of these forms before STACK_GLOBAL (proven with
 * CPython's pickle for the reviewer's msgpack PoCs, which used BINUNICODE). Memo GET forms (a name
 * fetched from the memo) are not followed: the sweep stays a heuristic.
 */
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { sweepPickleImports } from "../../../src/formats/pickle/sweep.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const le32 = (n: number) => String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const FORMS: Record<string, (s: string) => string> = {
  BINUNICODE: (s) => `X${le32(s.length)}${s}`,
  BINSTRING: (s) => `T${le32(s.length)}${s}`,
  SHORT_BINSTRING: (s) => `U${String.fromCharCode(s.length)}${s}`,
  SHORT_BINUNICODE: (s) => `\x8c${String.fromCharCode(s.length)}${s}`,
  UNICODE: (s) => `V${s}\n`,
  STRING: (s) => `S'${s}'\n`,
};
const MEMOS = ["", "\x94", "q\x01", "r\x02\x00\x00\x00"];

/** Noise around the stream: no format, no import. */
const pad = "\x01\xfe\x13\x37garbage\x00\x93\x00".repeat(40);

async function sweep(stream: string): Promise<string[]> {
  const bytes = latin1(pad + stream + pad);
  const hits = await sweepPickleImports(new BufferSource(bytes), () => {});
  return hits.map((h) => h.name);
}

describe("sweep: STACK_GLOBAL string forms", () => {
  for (const [moduleForm, mod] of Object.entries(FORMS)) {
    for (const [nameForm, nam] of Object.entries(FORMS)) {
      it(`${moduleForm} module, ${nameForm} name`, async () => {
        for (const memo of MEMOS) {
          const stream = `\x80\x04${mod("os")}${memo}${nam("system")}${memo}\x93${mod("id")}\x85R.`;
          expect(await sweep(stream)).toContain("os.system");
        }
      });
    }
  }

  it("keeps checking lengths: a BINUNICODE whose length is not its value's is no import", async () => {
    expect(await sweep(`X${le32(3)}osX${le32(6)}system\x93`)).toEqual([]);
    expect(await sweep(`U\x05osU\x06system\x93`)).toEqual([]);
  });

  it("reports nothing for allowed names", async () => {
    expect(await sweep(`X${le32(11)}collectionsX${le32(11)}OrderedDict\x93`)).toEqual([]);
  });
});
