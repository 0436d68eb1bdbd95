/**
 * Rules of the template area: static analysis of Jinja chat templates (GGUF metadata,
 * `tokenizer_config.json`, `chat_template.json`, `*.jinja`, and template strings in any JSON or
 * YAML document: see embedded.ts).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const CVE_34359 = "CVE-2024-34359";
const ADVISORY = "https://github.com/abetlen/llama-cpp-python/security/advisories/GHSA-56xg-wfcc-g829";
const SANDBOX = "https://jinja.palletsprojects.com/en/stable/sandbox/";

/** template rules. */
export const templateRules = [
  {
    id: "template/dunder-access",
    title: "Template reaches a Python dunder attribute",
    severity: "critical",
    description:
      "The template accesses an attribute such as `__class__`, `__mro__`, `__subclasses__`, `__globals__`, `__builtins__` or `__init__`, directly, by subscript, through the `attr()` filter or through an `attribute=` argument (`map`, `selectattr`, `sort`, ...). That is the first step of every Jinja sandbox escape: rendered outside a sandbox (as llama-cpp-python did) it runs arbitrary Python when the model is loaded for chat.",
    cve: [CVE_34359],
    references: [ADVISORY, SANDBOX],
  },
  {
    id: "template/obfuscated-name",
    title: "Template assembles a dunder or code-execution name",
    severity: "critical",
    description:
      "A dunder attribute or a code-execution name (`os`, `popen`, `__import__` ...) is built from pieces (concatenation with `+` or `~`, `format`/`%`, `join`, `replace`, reversal, case changes, keyword names taken as strings with `dict(globals=1)|list|first`) or hidden with string escapes (`\\x5f`). Chat templates have no reason to spell such names indirectly; it is done to evade text-based scanners.",
    cve: [CVE_34359],
    references: [ADVISORY],
  },
  {
    id: "template/dunder-string",
    title: "Template holds a dunder name as a string",
    severity: "high",
    description:
      "A string literal names a dunder attribute that sandbox escapes use (`__globals__`, `__subclasses__` ...), outside any access the analysis could resolve (for example assigned to a variable that is used later). Legitimate chat templates never mention these names. Also reported on a tokenizer config whose special token (`bos_token`, any `*_token`, `extra_special_tokens`, `additional_special_tokens`) is such a name: transformers passes special tokens to the chat template as variables, so a template can use them as attribute names (`x[bos_token]`) without spelling the name itself; a template in the same config that subscripts by them is checked with their values.",
    cve: [CVE_34359],
  },
  {
    id: "template/private-attribute",
    title: "Template accesses a private attribute",
    severity: "high",
    description:
      "The template reads an attribute whose name starts with `_` (for example `self._TemplateReference__context`). Jinja's sandbox forbids these; a template that needs them is written for an unsandboxed renderer.",
    references: [SANDBOX],
  },
  {
    id: "template/dynamic-attribute",
    title: "Attribute name computed at render time",
    severity: "medium",
    description:
      "The `attr()` filter or the attribute argument of `groupby`, `sort`, `unique`, `min`, `max`, `join`, `sum`, `selectattr`, `rejectattr` or `map` (positional or keyword, also when `map(\"…\")` dispatches to the filter by name, or to a filter name the analysis cannot resolve) receives a name the analysis cannot resolve statically (a variable, a message field, a computed string), or the template subscripts by a special token (`x[bos_token]`) whose value it does not know (a `.jinja` file, whose tokens are in the tokenizer config). The name could be a dunder supplied or assembled at render time. Reported at high severity when the subscripted or filtered object is (or holds) a sandbox-escape gadget (`namespace`, `cycler`, `joiner`, `lipsum`, `range`, `dict`, `self`, `raise_exception`, a macro), an alias of one made with `set`, `with`, `for` or a macro parameter, or an attribute chain from one (`c[i][g]` after `{% set c = namespace %}`): every step of such a chain is a route to `__globals__`. Also reported when a subscript key is computed from constants alone (no template variable) with operations the analysis does not evaluate, or taken from template text (a macro's output, `caller()`, a block `set`, the `str()` of a renderer function): Jinja's subscript falls back to getattr, so such a key on any object (`''[k]`, `message.content[m()]`) can reach `__class__`.",
  },
  {
    id: "template/gadget-reference",
    title: "Template uses a known sandbox-escape gadget",
    severity: "medium",
    description:
      "The template refers to a global that public Jinja exploits use to reach Python internals: `lipsum`, `cycler`, `joiner`, `namespace` used as an object, `self`, `request`, `config`, `url_for`, `get_flashed_messages`. Chat templates call `namespace(...)` legitimately (and `cycler(...)`/`joiner(...)` occasionally, reported at low severity); the other names have no role in formatting a conversation. A gadget callable used as a value without being called (`{% set c = namespace %}`, passed to a macro, put in a list) is reported too: the alias reaches the callable's attributes under another name.",
    cve: [CVE_34359],
    references: [ADVISORY],
  },
  {
    id: "template/code-execution-name",
    title: "Template names a code-execution primitive",
    severity: "high",
    description:
      "The template uses, as an attribute, a subscript key or a called name, something that only matters for running code: `os`, `sys`, `subprocess`, `builtins`, `importlib`, `popen`, `system`, `eval`, `exec`, `__import__`, `getattr`, `check_output` ...",
    cve: [CVE_34359],
  },
  {
    id: "template/external-template",
    title: "Template includes or imports other templates",
    severity: "medium",
    description:
      "`{% include %}`, `{% import %}`, `{% from ... import %}` or `{% extends %}` pull in templates from elsewhere. Chat template renderers provide no loader; where one exists, the included file is outside what was scanned.",
  },
  {
    id: "template/unparseable",
    title: "Template could not be parsed",
    severity: "medium",
    invalidates: true,
    description:
      "The template uses syntax the analyser's Jinja parser does not build a tree for, exceeds its size/nesting budget, holds a string literal the parser reads differently from Jinja, or holds an escape (`\\N{…}`) whose value the analysis does not know. A token-level scan still ran (its findings are reported), but structural checks (string assembly, attribute filters) could not be trusted, so the template is not called clean.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof templateRules)[number]["id"], true> {}
}
