// A nested loader imported after the point where the pickle analysis stopped (a budget): it is
// allowed (torch's `_load_from_bytes` is how torch.save pickles some objects), so a sweep that
// reports only denied or unknown names passed it, and the bytes handed to it were never looked at.
// torch.load ran such a file (1,000,100 `None`s under a MARK, then `_load_from_bytes(payload)`).
import { describe, expect, it } from "vitest";
import { scanOne } from "../../helpers/scan.js";

function afterStop(loader: string): Buffer {
  const [module, name] = [loader.slice(0, loader.lastIndexOf(".")), loader.slice(loader.lastIndexOf(".") + 1)];
  const payload = Buffer.from("opaque bytes the analysis never reads");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.length);
  return Buffer.concat([
    Buffer.from([0x80, 0x02, 0x28]), // PROTO 2, MARK
    Buffer.alloc(1_000_100, 0x4e), // N x 1,000,100: past the stack budget
    Buffer.from([0x31]), // POP_MARK
    Buffer.from(`c${module}\n${name}\n`),
    Buffer.from([0x42]), // BINBYTES
    len,
    payload,
    Buffer.from([0x85, 0x52, 0x2e]), // TUPLE1 REDUCE STOP
  ]);
}

describe("after a stop of the pickle analysis", () => {
  for (const loader of ["torch.storage._load_from_bytes", "pickle.loads"]) {
    it(`${loader} imported past the stop is high: its payload was never analysed`, async () => {
      const f = await scanOne(afterStop(loader), "model.pkl");
      const hit = f.findings.find((x) => x.ruleId === "pickle/dangerous-global" && x.evidence?.callee === loader);
      expect(hit?.severity === "high" || hit?.severity === "critical").toBe(true);
      expect(f.verdict).toBe("malicious");
    });
  }

  it("an allowed plain name past the stop is not reported", async () => {
    const f = await scanOne(afterStop("collections.OrderedDict"), "model.pkl");
    expect(f.findings.filter((x) => x.ruleId === "pickle/dangerous-global")).toEqual([]);
    expect(f.verdict).toBe("invalid");
  });

  it("an import whose strings come from the memo (BINGET) after the stop is found", async () => {
    const str = (t: string) => Buffer.concat([Buffer.from([0x8c, t.length]), Buffer.from(t), Buffer.from([0x94])]);
    const bytes = Buffer.concat([
      Buffer.from([0x80, 0x04]),
      str("os"),
      str("system"),
      Buffer.from([0x30, 0x30, 0x28]), // POP POP MARK
      Buffer.alloc(1_000_100, 0x4e),
      Buffer.from([0x31, 0x68, 0x00, 0x68, 0x01, 0x93]), // POP_MARK BINGET 0 BINGET 1 STACK_GLOBAL
      Buffer.from([0x8c, 0x01, 0x78, 0x85, 0x52, 0x2e]),
    ]);
    const f = await scanOne(bytes, "model.pkl");
    const hit = f.findings.find((x) => x.ruleId === "pickle/dangerous-global" && x.evidence?.callee === "os.system");
    expect(hit?.severity).toBe("critical");
  });

  // After a budget stop the rest is read on as the unpickler reads it (after-stop-names.ts): the
  // byte sweep alone matched only strings written right before the STACK_GLOBAL byte.
  const padded = (tail: Buffer) =>
    Buffer.concat([Buffer.from([0x80, 0x04, 0x28]), Buffer.alloc(1_000_100, 0x4e), Buffer.from([0x31]), tail]);
  const call = Buffer.from([0x8c, 0x01, 0x78, 0x85, 0x52, 0x2e]); // 'x' TUPLE1 REDUCE STOP

  it("an import whose strings have other opcodes between them after the stop is found", async () => {
    const tail = Buffer.concat([
      Buffer.from([0x8c, 0x02]),
      Buffer.from("os"),
      Buffer.from([0x4e, 0x30, 0x8c, 0x06]), // N POP
      Buffer.from("system"),
      Buffer.from([0x4e, 0x30, 0x93]), // N POP STACK_GLOBAL
      call,
    ]);
    const f = await scanOne(padded(tail), "model.pkl");
    const hit = f.findings.find((x) => x.ruleId === "pickle/dangerous-global" && x.evidence?.callee === "os.system");
    expect(hit?.severity).toBe("critical");
  });

  it("an import whose strings were memoised after the stop and fetched with BINGET is found", async () => {
    const tail = Buffer.concat([
      Buffer.from([0x8c, 0x02]),
      Buffer.from("os"),
      Buffer.from([0x94, 0x30, 0x8c, 0x06]), // MEMOIZE POP
      Buffer.from("system"),
      Buffer.from([0x94, 0x30, 0x68, 0x00, 0x68, 0x01, 0x93]), // MEMOIZE POP BINGET 0 BINGET 1 STACK_GLOBAL
      call,
    ]);
    const f = await scanOne(padded(tail), "model.pkl");
    const hit = f.findings.find((x) => x.ruleId === "pickle/dangerous-global" && x.evidence?.callee === "os.system");
    expect(hit?.severity).toBe("critical");
  });
});
