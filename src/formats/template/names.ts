/**
 * Name lists used by the template analysis.
 * @module
 */

/** Any dunder name, `__x__`. */
export const DUNDER = /^__\w+__$/;

/** Dunder names sandbox escapes use; spelled anywhere in a string they are reported. */
export const ESCAPE_DUNDERS: ReadonlySet<string> = new Set([
  "__class__",
  "__mro__",
  "__subclasses__",
  "__globals__",
  "__builtins__",
  "__init__",
  "__base__",
  "__bases__",
  "__dict__",
  "__getattribute__",
  "__getattr__",
  "__import__",
  "__code__",
  "__func__",
  "__self__",
  "__module__",
  "__reduce__",
  "__reduce_ex__",
  "__getitem__",
  "__closure__",
  "__loader__",
  "__spec__",
  "__call__",
  "__new__",
  "__traceback__",
  "__frame__",
]);

/** Modules whose appearance as an attribute or key means the template reaches for the OS. */
export const EXEC_MODULES: ReadonlySet<string> = new Set([
  "os",
  "sys",
  "subprocess",
  "builtins",
  "__builtin__",
  "importlib",
  "posix",
  "nt",
  "pty",
  "ctypes",
  "socket",
  "shutil",
  "commands",
  "pickle",
  "marshal",
]);

/** Functions that run code or commands when called (as `x.popen(...)` or `eval(...)`). */
export const EXEC_CALLS: ReadonlySet<string> = new Set([
  "popen",
  "system",
  "exec",
  "eval",
  "compile",
  "execfile",
  "__import__",
  "import_module",
  "load_module",
  "getattr",
  "setattr",
  "delattr",
  "globals",
  "locals",
  "vars",
  "check_output",
  "check_call",
  "call",
  "run",
  "Popen",
  "getoutput",
  "getstatusoutput",
  "spawnl",
  "spawnlp",
  "spawnv",
  "spawnvp",
  "execl",
  "execlp",
  "execv",
  "execve",
  "execvp",
  "fork",
  "loads",
  "load",
]);

/**
 * Called names that are only dangerous on a module-like receiver: `call`, `run`, `load(s)` are
 * ordinary words, so they count only as `x.run(...)` when `x` is itself suspicious.
 */
export const WEAK_EXEC_CALLS: ReadonlySet<string> = new Set(["call", "run", "loads", "load"]);

/** Attributes that walk frames and functions towards globals. */
export const FRAME_ATTRIBUTES: ReadonlySet<string> = new Set([
  "func_globals",
  "f_globals",
  "f_locals",
  "f_back",
  "gi_frame",
  "gi_code",
  "cr_frame",
  "tb_frame",
  "tb_next",
  "im_func",
  "func_code",
  "co_code",
  "mro",
]);

/** Jinja / Flask globals that public exploits use to reach Python internals. */
export const GADGETS: ReadonlySet<string> = new Set([
  "lipsum",
  "cycler",
  "joiner",
  "namespace",
  "self",
  "request",
  "config",
  "url_for",
  "get_flashed_messages",
  "range",
  "dict",
]);

/** Gadgets whose plain use is common or harmless: reported only when an attribute is taken from them. */
export const GADGETS_ATTR_ONLY: ReadonlySet<string> = new Set(["namespace", "range", "dict"]);

/** Gadgets whose plain call is a legitimate (if rare) template feature: reported at low severity. */
export const GADGETS_LOW: ReadonlySet<string> = new Set(["cycler", "joiner"]);

/**
 * Where a Jinja builtin filter takes an attribute name: its position after the operand and its
 * keyword. `dotted` names go through Jinja's `make_attrgetter`, which splits them at "." and walks
 * each segment with getattr then getitem (`"func.__globals__.os"`); `attr()` does one getattr.
 */
export interface AttributeParam {
  readonly index?: number;
  readonly keyword?: string;
  readonly dotted: boolean;
}

/**
 * Every Jinja 3.1 builtin filter that takes an attribute name (signatures from `jinja2.filters`).
 * `map` takes `attribute=` only without a filter name; with one it dispatches (see the analysis).
 */
export const ATTRIBUTE_PARAMS: ReadonlyMap<string, AttributeParam> = new Map<string, AttributeParam>([
  ["attr", { index: 0, keyword: "name", dotted: false }],
  ["map", { keyword: "attribute", dotted: true }],
  ["selectattr", { index: 0, keyword: "attribute", dotted: true }],
  ["rejectattr", { index: 0, keyword: "attribute", dotted: true }],
  ["groupby", { index: 0, keyword: "attribute", dotted: true }],
  ["sort", { index: 2, keyword: "attribute", dotted: true }],
  ["unique", { index: 1, keyword: "attribute", dotted: true }],
  ["min", { index: 1, keyword: "attribute", dotted: true }],
  ["max", { index: 1, keyword: "attribute", dotted: true }],
  ["join", { index: 1, keyword: "attribute", dotted: true }],
  ["sum", { index: 0, keyword: "attribute", dotted: true }],
]);

/** Jinja 3.1's builtin filters (`jinja2.filters.FILTERS`), plus `tojson` as transformers defines it. */
export const JINJA_FILTERS: ReadonlySet<string> = new Set([
  "abs",
  "attr",
  "batch",
  "capitalize",
  "center",
  "count",
  "d",
  "default",
  "dictsort",
  "e",
  "escape",
  "filesizeformat",
  "first",
  "float",
  "forceescape",
  "format",
  "groupby",
  "indent",
  "int",
  "items",
  "join",
  "last",
  "length",
  "list",
  "lower",
  "map",
  "max",
  "min",
  "pprint",
  "random",
  "reject",
  "rejectattr",
  "replace",
  "reverse",
  "round",
  "safe",
  "select",
  "selectattr",
  "slice",
  "sort",
  "string",
  "striptags",
  "sum",
  "title",
  "tojson",
  "trim",
  "truncate",
  "unique",
  "upper",
  "urlencode",
  "urlize",
  "wordcount",
  "wordwrap",
  "xmlattr",
]);

/** Jinja 3.1's builtin tests (`jinja2.tests.TESTS`): what `select`/`reject` dispatch to by name. */
export const JINJA_TESTS: ReadonlySet<string> = new Set([
  "!=",
  "<",
  "<=",
  "==",
  ">",
  ">=",
  "boolean",
  "callable",
  "defined",
  "divisibleby",
  "eq",
  "equalto",
  "escaped",
  "even",
  "false",
  "filter",
  "float",
  "ge",
  "greaterthan",
  "gt",
  "in",
  "integer",
  "iterable",
  "le",
  "lessthan",
  "lower",
  "lt",
  "mapping",
  "ne",
  "none",
  "number",
  "odd",
  "sameas",
  "sequence",
  "string",
  "test",
  "true",
  "undefined",
  "upper",
]);

/**
 * The first escape dunder a string contains, if any.
 * @param s - a string value
 */
export function escapeDunderIn(s: string): string | undefined {
  if (s.length > 1_000_000) return undefined;
  for (const m of s.matchAll(/__\w+?__/g)) if (ESCAPE_DUNDERS.has(m[0])) return m[0];
  return undefined;
}

/**
 * Whether a whole string (trimmed) is a code-execution name: an exec module or a strong exec call.
 * @param s - a string value
 */
export function execNameOf(s: string): string | undefined {
  const t = s.trim();
  if (EXEC_MODULES.has(t)) return t;
  if (EXEC_CALLS.has(t) && !WEAK_EXEC_CALLS.has(t)) return t;
  return undefined;
}
