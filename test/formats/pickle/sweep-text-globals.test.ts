/**
 * GLOBAL/INST imports found by the sweep are read from each line end: the opcode may follow any
 * byte (an identifier character included), the module may itself contain `c`/`i` letters, and
 * long runs of name characters (which once made the sweep backtrack) are read once.
 */
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { sweepPickleImports } from "../../../src/formats/pickle/sweep.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const names = async (text: string) =>
  (await sweepPickleImports(new BufferSource(latin1(text)), () => undefined)).map((h) => h.name);

describe("sweepPickleImports: GLOBAL and INST", () => {
  it("finds the import whatever precedes the opcode", async () => {
    expect(await names("\x00\x01abc_cos\nsystem\n(S'id'\ntR.")).toContain("os.system");
    expect(await names("....iposix\nsystem\n")).toContain("posix.system");
  });

  it("tries each c/i of a module that contains them (ctypes, subprocess)", async () => {
    expect(await names("zzcctypes\nCDLL\n")).toContain("ctypes.CDLL");
    expect(await names("qcsubprocess\nPopen\n")).toContain("subprocess.Popen");
  });

  it("reads a long run of name characters before a real import", async () => {
    const run = `${"c".repeat(64)}.`.repeat(20_000);
    expect(await names(`${run}\ncos\nsystem\n`)).toContain("os.system");
  });

  it("does not take a name line that does not end in a newline", async () => {
    expect(await names("cos\nsystem")).not.toContain("os.system");
  });
});
