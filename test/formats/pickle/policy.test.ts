import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { BUILTIN_PROFILES, PicklePolicy, picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

describe("PicklePolicy", () => {
  const p = picklePolicy("pickle");

  it("allows exactly what the profiles list, with the permitted use", () => {
    expect(p.classify("torch._utils._rebuild_tensor_v2")).toMatchObject({
      status: "allowed",
      allowedUse: "call",
      profile: "torch",
    });
    expect(p.classify("torch.nn.modules.linear.Linear")).toMatchObject({ status: "allowed", allowedUse: "new" });
    expect(p.classify("collections.OrderedDict")).toMatchObject({ status: "allowed", profile: "builtins" });
    expect(PicklePolicy.permits(p.classify("torch.FloatStorage"), "call")).toBe(false);
    expect(PicklePolicy.permits(p.classify("torch.FloatStorage"), "ref")).toBe(true);
    // exact names only: an attribute of an allowed class is not allowed
    expect(p.classify("collections.OrderedDict.fromkeys").status).toBe("unknown");
  });

  it("denies dangerous names component by component", () => {
    expect(p.classify("os.system")).toMatchObject({ status: "denied", severity: "critical", category: "process" });
    expect(p.classify("posix.system").status).toBe("denied");
    expect(p.classify("subprocess.Popen.__init__").status).toBe("denied");
    expect(p.classify("logging.os.system")).toMatchObject({ status: "denied", matched: "os" });
    expect(p.classify("argparse._os.system")).toMatchObject({ status: "denied", matched: "os" });
    expect(p.classify("numpy.testing._private.utils.runstring").severity).toBe("critical");
    expect(p.classify("socket.create_connection")).toMatchObject({
      status: "denied",
      severity: "high",
      category: "network",
    });
    expect(p.classify("builtins.open")).toMatchObject({ severity: "high", category: "file-access" });
    expect(p.classify("mypkg.Model.__globals__")).toMatchObject({ status: "denied", category: "introspection" });
    // a module path that merely contains a dangerous component is not a re-export
    expect(p.classify("transformers.models.code.Model", 3).status).toBe("unknown");
    // Python 2 names are checked as their Python 3 equivalents
    expect(p.classify("__builtin__.eval").status).toBe("denied");
    expect(p.classify("commands.getoutput").status).toBe("denied");
  });

  it("leaves everything else unknown (medium)", () => {
    expect(p.classify("mymodel.Net")).toMatchObject({ status: "unknown", severity: "medium" });
    expect(p.classify("__main__.Net").status).toBe("unknown");
  });

  it("chooses profiles by context", () => {
    expect(picklePolicy("numpy").classify("torch._utils._rebuild_tensor_v2").status).toBe("unknown");
    expect(picklePolicy("pytorch").classify("sklearn.tree._tree.Tree").status).toBe("unknown");
    expect(picklePolicy("torchscript").classify("__torch__.MyModule").status).toBe("allowed");
    expect(picklePolicy("pytorch").classify("__torch__.MyModule").status).toBe("unknown");
  });

  it("is extensible through PolicyOptions.pickle", () => {
    const custom = new PicklePolicy("pytorch", {
      allow: ["mylib.layers.*", "mylib.Model"],
      deny: ["torch.nn.modules.linear"],
      extraProfiles: ["mine"],
      customProfiles: [{ name: "mine", call: ["other.build"], new: ["other.Thing"] }],
    });
    expect(custom.classify("mylib.layers.Dense").status).toBe("allowed");
    expect(custom.classify("mylib.Model").status).toBe("allowed");
    expect(custom.classify("torch.nn.modules.linear.Linear")).toMatchObject({ status: "denied", category: "policy" });
    expect(custom.classify("other.build")).toMatchObject({ status: "allowed", allowedUse: "call", profile: "mine" });
    expect(custom.classify("other.Thing").allowedUse).toBe("new");
    // a prefix allow never overrides the denylist; an exact one is the caller's explicit decision
    expect(new PicklePolicy("pickle", { allow: ["os.*"] }).classify("os.system").status).toBe("denied");
    expect(new PicklePolicy("pickle", { allow: ["os.system"] }).classify("os.system").status).toBe("allowed");
    expect(
      new PicklePolicy("pickle", { profiles: { pickle: ["builtins"] } }).classify("torch.FloatStorage").status,
    ).toBe("unknown");
  });

  it("rejects unknown profiles and validates policy files", () => {
    expect(() => new PicklePolicy("pickle", { extraProfiles: ["nope"] })).toThrow(/unknown pickle profile/);
    try {
      resolvePolicy({ pickle: { allow: ["not a name"] } });
      expect.unreachable();
    } catch (e) {
      expect(isModelgateError(e, "POLICY")).toBe(true);
    }
    expect(() =>
      resolvePolicy({
        pickle: {
          allow: ["a.b.*"],
          profiles: { pytorch: ["torch"] },
          customProfiles: [{ name: "x", prefixes: ["a."] }],
        },
      }),
    ).not.toThrow();
  });

  it("ships profiles that never allow a denylisted name", () => {
    const strict = new PicklePolicy("pickle", { profiles: { pickle: [] } });
    for (const profile of Object.values(BUILTIN_PROFILES)) {
      for (const name of [...profile.call, ...profile.new]) {
        const c = strict.classify(name, name.split(".").length - 1);
        if (c.status === "denied") {
          // the only overlaps are deliberate exact allows inside denied modules
          expect(
            [
              "uuid.UUID",
              "torch.serialization._get_layout",
              "torch.storage._load_from_bytes",
              "re._compile",
              "types.SimpleNamespace",
              "builtins.type",
              "itertools.count",
            ],
            name,
          ).toContain(name);
        }
      }
    }
  });
});

describe("builtins profile: len, collections.abc and __future__ (calibration on real files)", () => {
  const p = picklePolicy("pytorch");

  it("allows calling builtins.len", () => {
    expect(p.classify("builtins.len")).toMatchObject({ status: "allowed", allowedUse: "call", profile: "builtins" });
    expect(p.classify("__builtin__.len").status).toBe("allowed");
  });

  it("allows the collections.abc ABCs and __future__ features by exact name, reference and instantiation only", () => {
    for (const name of ["collections.abc.Mapping", "collections.abc.KeysView", "collections.abc.Callable"]) {
      const c = p.classify(name);
      expect(c).toMatchObject({ status: "allowed", profile: "builtins" });
      expect(PicklePolicy.permits(c, "new")).toBe(true);
      // calling an ABC is never what a writer does (the abstract ones raise)
      expect(PicklePolicy.permits(c, "call")).toBe(false);
    }
    expect(p.classify("__future__._Feature").allowedUse).toBe("new");
    expect(p.classify("__future__.annotations").allowedUse).toBe("new");
    // what Callable[[int], str] pickles to: a call of the alias class
    expect(p.classify("collections.abc._CallableGenericAlias").allowedUse).toBe("call");
  });

  it("allows nothing else under collections.abc or __future__", () => {
    // ABCMeta.register changes isinstance() for the whole process; unbound methods reach items
    expect(p.classify("collections.abc.Mapping.register").status).toBe("unknown");
    expect(p.classify("collections.abc.Mapping.get").status).toBe("unknown");
    expect(p.classify("collections.abc.sys").status).toBe("denied");
    expect(p.classify("_collections_abc.sys.modules").status).toBe("denied");
    expect(p.classify("collections.abc.Mapping.__subclasses__").status).toBe("denied");
    expect(p.classify("collections.abc.Callable.__call__").status).toBe("denied");
    expect(p.classify("__future__._Feature.__init__").status).toBe("denied");
    expect(p.classify("__future__.all_feature_names").status).toBe("unknown");
  });

  // What CPython 3.11 writes for [Mapping, Sequence, __future__.annotations, len, <an object
  // reducing to len([1, 2, 3])>, KeysView({"a": 1})], at protocols 2 and 4, and for
  // collections.abc.Callable[[int], str].
  const REAL = {
    proto2:
      "80025d710028635f6162636f6c6c0a4d617070696e670a7101635f6162636f6c6c0a53657175656e63650a7102635f5f6675747572655f5f0a5f466561747572650a7103298171047d71052858080000006f7074696f6e616c7106284b034b074b0058040000006265746171074b0174710858090000006d616e6461746f727971094e580d000000636f6d70696c65725f666c6167710a4a000000017562635f5f6275696c74696e5f5f0a6c656e0a710b680b5d710c284b014b024b036585710d52710e635f6162636f6c6c0a4b657973566965770a710f298171104e7d711158080000005f6d617070696e6771127d711358010000006171144b01737386711562652e",
    proto4:
      "800495e3000000000000005d94288c0f636f6c6c656374696f6e732e616263948c074d617070696e6794939468018c0853657175656e63659493948c0a5f5f6675747572655f5f948c085f466561747572659493942981947d94288c086f7074696f6e616c94284b034b074b008c0462657461944b0174948c096d616e6461746f7279944e8c0d636f6d70696c65725f666c6167944a0000000175628c086275696c74696e73948c036c656e94939468125d94284b014b024b03658594529468018c084b657973566965779493942981944e7d948c085f6d617070696e67947d948c0161944b017373869462652e",
    callable:
      "80049562000000000000008c0f636f6c6c656374696f6e732e616263948c155f43616c6c61626c6547656e65726963416c69617394939468008c0843616c6c61626c659493945d948c086275696c74696e73948c03696e749493946168068c037374729493948694869452942e",
  };
  for (const [label, hex] of Object.entries(REAL)) {
    it(`scans CPython's own pickle of them clean (${label})`, async () => {
      const file = await scanOne(Buffer.from(hex, "hex"), "objects.pkl", { hash: false });
      expect(file.findings.filter((f) => f.severity !== "info")).toEqual([]);
      expect(file.verdict).toBe("clean");
    });
  }

  it("still reports calling an ABC or registering a virtual subclass", async () => {
    const call = Buffer.from("\x80\x02ccollections.abc\nMapping\n)R.", "latin1");
    expect(ruleIds(await scanOne(call, "a.pkl", { hash: false }))).toContain("pickle/unknown-global");
    const register = Buffer.from(
      "\x80\x04\x8c\x0fcollections.abc\x8c\x10Mapping.register\x93\x8c\x08builtins\x8c\x03str\x93\x85R.",
      "latin1",
    );
    const file = await scanOne(register, "b.pkl", { hash: false });
    expect(ruleIds(file)).toContain("pickle/unknown-global");
    expect(file.verdict).not.toBe("clean");
  });
});
