/**
 * Names the R rules look for: functions that run commands, evaluate code, load native code, open
 * connections, write files or deserialise more data, and the few a promise may call.
 * @module
 */

/**
 * Functions whose call runs commands, evaluates code, loads native code, opens connections,
 * writes files, changes the process environment or deserialises more data.
 */
export const DANGEROUS_CALLS: ReadonlySet<string> = new Set([
  // commands
  "system",
  "system2",
  "shell",
  "shell.exec",
  "pipe",
  // evaluation of code built at run time
  "eval",
  "evalq",
  "eval.parent",
  "parse",
  "str2lang",
  "str2expression",
  "source",
  "sys.source",
  "body<-",
  "makeActiveBinding",
  "delayedAssign",
  "reg.finalizer",
  "setHook",
  "addTaskCallback",
  "trace",
  // native code and internals
  ".Internal",
  ".Primitive",
  ".Call",
  ".External",
  ".External2",
  ".C",
  ".Fortran",
  ".Call.graphics",
  ".External.graphics",
  "dyn.load",
  "library.dynam",
  "getNativeSymbolInfo",
  // network and connections
  "download.file",
  "url",
  "file",
  "gzfile",
  "bzfile",
  "xzfile",
  "fifo",
  "socketConnection",
  "socketAccept",
  "serverSocket",
  "make.socket",
  // file writes
  "writeLines",
  "writeBin",
  "writeChar",
  "sink",
  "file.create",
  "file.remove",
  "file.rename",
  "file.copy",
  "file.append",
  "unlink",
  "Sys.chmod",
  // process environment
  "Sys.setenv",
  "Sys.unsetenv",
  // nested deserialisation
  "unserialize",
  "readRDS",
  "load",
  "attach",
  "lazyLoad",
  "lazyLoadDBfetch",
  "lazyLoadDBexec",
  // other packages that run commands or code
  "processx::run",
  "processx::process",
  "callr::r",
  "callr::r_bg",
  "callr::rscript",
  "sys::exec_wait",
  "sys::exec_background",
  "sys::exec_internal",
  "reticulate::py_run_string",
  "reticulate::py_run_file",
  "reticulate::py_eval",
  "curl::curl_download",
  "curl::curl_fetch_disk",
]);

/**
 * Names that are dangerous wherever they appear in code (passed as a function: `lapply(x,
 * system)`, `Reduce(eval, ...)`), without the common words that are also ordinary variable names
 * (`file`, `url`, `source`, `load` ...).
 */
export const DANGEROUS_REFS: ReadonlySet<string> = new Set(
  [...DANGEROUS_CALLS].filter(
    (n) => !["file", "url", "source", "load", "attach", "pipe", "trace", "sink", "fifo"].includes(n),
  ),
);

/**
 * What a promise may call and still be only `high`: operators and pure constructors. Anything
 * else, a computed function or a dangerous name makes it `critical`.
 */
export const PROMISE_ALLOW: ReadonlySet<string> = new Set([
  "c",
  "list",
  "quote",
  "(",
  "{",
  "+",
  "-",
  "*",
  "/",
  "^",
  "%%",
  "%/%",
  ":",
  "==",
  "!=",
  "<",
  ">",
  "<=",
  ">=",
  "!",
  "&",
  "&&",
  "|",
  "||",
  "[",
  "[[",
  "$",
  "@",
  "vector",
  "numeric",
  "integer",
  "character",
  "logical",
  "double",
  "complex",
  "matrix",
  "array",
  "rep",
  "rep_len",
  "seq",
  "seq_len",
  "seq_along",
  "identity",
  "invisible",
  "structure",
  "factor",
  "names",
  "length",
]);

/** Functions that call native routines. */
export const NATIVE_CALLERS: ReadonlySet<string> = new Set([".Call", ".External", ".External2", ".C", ".Fortran"]);

/**
 * Native routines that functions of standard model objects call, by the namespace the function
 * lives in: a `glm` fit's binomial family calls `.Call(C_logit_link, mu)` from `namespace:stats`,
 * where the symbol resolves to stats' own registered routine (the file cannot change that).
 */
export const KNOWN_NATIVE: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["stats", new Set(["C_logit_link", "C_logit_linkinv", "C_logit_mu_eta", "C_binomial_dev_resids"])],
]);

/** `.Call(C_logit_link)`: the native caller and routine of a call marker the walk records. */
export function nativeMarker(call: string): { readonly caller: string; readonly routine: string } | undefined {
  const m = /^(?:[^:()]+:::?)?(\.Call|\.External2?|\.C|\.Fortran)\((.+)\)$/.exec(call);
  return m === null ? undefined : { caller: m[1]!, routine: m[2]! };
}

/** Every routine of {@link KNOWN_NATIVE}: an environment binding one of these names shadows it. */
export const KNOWN_NATIVE_NAMES: ReadonlySet<string> = new Set([...KNOWN_NATIVE.values()].flatMap((s) => [...s]));
