import { describe, expect, it } from "vitest";
import { raisesOnlyBuiltins } from "../../../src/formats/pickle/analyzer.js";

describe("TorchScript RaiseException classes", () => {
  it.each([
    ['ops.prim.RaiseException(_45, "builtins.RuntimeError")'],
    ['ops.prim.RaiseException("AssertionError: ")'],
    ["ops.prim.RaiseException(_0)"],
    ['ops.prim.RaiseException(torch.format("a, (b", x), "builtins.ValueError")'],
    ['ops.prim.RaiseException("say \\"hi\\", then", \'builtins.KeyError\')'],
  ])("built-in or no class: %s", (code) => {
    expect(raisesOnlyBuiltins(`def f(x):\n  ${code}\n  ${code}\n`)).toBe(true);
  });

  it.each([
    ['ops.prim.RaiseException("too large", "__main__.Custom")'],
    ['ops.prim.RaiseException(msg, "os.system")'],
    ['ops.prim.RaiseException(msg, "builtins.exec")'],
    ['ops.prim.RaiseException(msg, "builtins.RuntimeError.x")'],
    ["ops.prim.RaiseException(msg, cls)"],
    ['ops.prim.RaiseException(msg, "builtins.RuntimeError", 3)'],
    ['ops.prim.RaiseException(msg, "builtins.X"'],
  ])("another class, a computed one or an unreadable call: %s", (code) => {
    const text = `def f(x):\n  ops.prim.RaiseException(_45, "builtins.RuntimeError")\n  ${code}\n`;
    expect(raisesOnlyBuiltins(text)).toBe(false);
  });
});
