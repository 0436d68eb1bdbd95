/**
 * The introspection escape in shipped Python code (a torch.package module, a repo's modeling file):
 * object's subclasses searched for a class whose function globals hold `system`. An attack review
 * found a torch.package module doing it with only medium findings; a registry walking its own
 * subclasses (`Base.__subclasses__()`) is ordinary code and stays unflagged.
 */
import { describe, expect, it } from "vitest";
import { pythonRisks } from "../../../src/formats/hf/code-patterns.js";

const kinds = (code: string) => [...new Set(pythonRisks(code).map((h) => h.kind))];

describe("introspection escape", () => {
  it.each([
    "g = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0].__init__.__globals__\ng['system']('id')",
    "for c in object.__subclasses__():\n    pass",
    "x = ''.__class__.__mro__[1].__subclasses__()",
    "f = cls.__init__.__globals__['sys']",
    "f = fn.__globals__.get('os')",
  ])("%s is dynamic code", (code) => {
    expect(kinds(code)).toContain("dynamic-code");
  });

  it("a registry walking its own subclasses is not", () => {
    expect(kinds("for sub in BaseModel.__subclasses__():\n    REGISTRY[sub.__name__] = sub")).toEqual([]);
  });
});

describe("introspection escape search stays linear", () => {
  it("unclosed subscripts do not make the search quadratic", () => {
    const code = "x.__mro__[".repeat(50_000);
    const t0 = performance.now();
    pythonRisks(code);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
