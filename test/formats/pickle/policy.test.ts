import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/errors.js";
import { BUILTIN_PROFILES, PicklePolicy, picklePolicy } from "../../../src/policy/pickle/index.js";
import { resolvePolicy } from "../../../src/policy/policy.js";

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
            ],
            name,
          ).toContain(name);
        }
      }
    }
  });
});
