/**
 * Rules of the pyc area: CPython bytecode files (`.pyc`), which Python imports as modules without
 * any source.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const PYC = "https://docs.python.org/3/reference/import.html#cached-bytecode-invalidation";
const SOURCELESS = "https://docs.python.org/3/library/importlib.html#importlib.machinery.SourcelessFileLoader";

/** pyc rules. */
export const pycRules = [
  {
    id: "pyc/compiled-code",
    title: "Compiled Python module (.pyc)",
    severity: "medium",
    description:
      "CPython bytecode: Python imports a `.pyc` found directly in a folder on `sys.path` as a module with no source beside it (and a `__pycache__` one in place of its source), so it is code that runs when its name is imported, exactly like a `.py` file, but cannot be read as text. The names its code objects use are listed.",
    references: [PYC, SOURCELESS],
  },
  {
    id: "pyc/risky-code",
    title: "Compiled Python module uses process, dynamic-code or native-code APIs",
    severity: "high",
    description:
      "The `.pyc`'s code objects name an API that runs commands or arbitrary code (`os.system`, `subprocess.Popen`, `exec`, `__import__`, `builtins.eval`, `ctypes.CDLL`, `pickle.loads` ...), whether imported under an alias or reached through `getattr` with a constant name: importing the module runs it.",
    references: [SOURCELESS],
  },
  {
    id: "pyc/malformed",
    title: "Compiled Python module could not be read",
    severity: "medium",
    invalidates: true,
    description:
      "The file has a CPython bytecode header but its marshalled code object could not be decoded (truncated, corrupt, or a layout modelgate does not know): what importing it runs was not established.",
    references: [PYC],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  interface RuleRegistry extends Record<(typeof pycRules)[number]["id"], true> {}
}
