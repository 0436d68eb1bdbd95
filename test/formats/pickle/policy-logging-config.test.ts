import { describe, expect, it } from "vitest";
import { scanOne } from "../../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("logging.config runs code", () => {
  // fileConfig evals a handler's `args=` line (and resolves `class=`); dictConfig calls any `()`
  // factory by dotted name; listen accepts such configs from a socket
  for (const name of ["fileConfig", "dictConfig", "listen"]) {
    it(`logging.config.${name} is code execution (critical)`, async () => {
      const file = await scanOne(latin1(`clogging.config\n${name}\n(S'x'\ntR.`), "m.pkl");
      const f = file.findings.find((x) => x.ruleId === "pickle/dangerous-global" || x.severity === "critical");
      expect(f?.severity).toBe("critical");
    });
  }
});
