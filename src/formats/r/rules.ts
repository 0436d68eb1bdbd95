/**
 * Rules of the r area: R serialization (`.rds`, `.rda`/`.RData`).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const INTERNALS = "https://cran.r-project.org/doc/manuals/r-release/R-ints.html#Serialization-Formats";
const CVE = "https://hiddenlayer.com/research/r-bitrary-code-execution/";

/** r rules. */
export const rRules = [
  {
    id: "r/promise",
    title: "R promise in a serialized object",
    severity: "critical",
    description:
      "The stream holds a promise (PROMSXP): an unevaluated expression that R evaluates the first time the value is used. `readRDS()`/`load()` return it unforced, so merely accessing the loaded object (or a variable of an environment in it) runs the code: CVE-2024-27322. Critical when the expression calls anything outside a small allowlist of pure constructors and operators, or names a dangerous function; high when it only calls allowlisted ones; medium when it is a bare variable (reading it cannot run code by itself: a promise or active binding it reaches is reported where it is bound); info when it is a literal constant, whose evaluation runs nothing (a `glm` family's environment keeps `link = \"logit\"` unforced). A compiled argument (bytecode) is judged by its source expression when the rest of its constant pool (the call it was an argument of, kept for error messages) calls only what a model's stored call may. Info when the promise was saved already forced: R then returns the saved value (judged where it is) and never evaluates the expression (stats' `nls` fits keep such promises).",
    cve: ["CVE-2024-27322"],
    references: [CVE, INTERNALS],
  },
  {
    id: "r/dangerous-code",
    title: "R function or bytecode that runs commands, evaluates code or loads native code",
    severity: "critical",
    description:
      "A closure, a bytecode object (constant pool included) or a primitive shipped in the data calls or names `system`, `system2`, `shell`, `pipe`, `eval`, `parse`, `source`, `.Internal`, `.Call`/`.External`, `dyn.load`, `library.dynam`, `download.file`, connections (`file`, `url` ...), file writes, `Sys.setenv`, nested deserialisation (`unserialize`, `readRDS`, `load`), or calls a function whose name is a string or computed (`do.call(\"system\", ...)`). A loader that calls the function (a model's `predict` member, a workspace's `.First`) runs it. Closures of stats' own `nlsModel` (`getPars`: `unlist(mget(names(ind), env))`, `predict`: `eval(form[[3L]], ...)`), recognised by their environment ending in `namespace:stats` and by exactly their set of names, only evaluate what their environment holds, which is judged where it is: they are reported as `r/closure`.",
    references: [INTERNALS],
  },
  {
    id: "r/closure",
    title: "R function shipped in a data file",
    severity: "medium",
    description:
      "The stream holds a closure or bytecode. Unserializing does not call it, but code that uses the object does (`predict`, a family's `linkinv`, an R6 method), so the file carries code the reader did not write. Nothing dangerous was recognised in it; review it before use. Closures R's own packages put into model objects (a `glm` family's `linkinv`, `rpart`'s `functions`, nlme and mgcv helpers) are not reported: they are recognised by a fingerprint of their formals and body (for compiled bodies the whole bytecode, code and constant pool) found in a table made from real fits (src/formats/r/known-closures.json, per R version; the fact `r.knownClosures` counts them). A closure of a package namespace runs against the installed namespace, so its known body is the package's code; one of a local environment (binomial()'s `simulate`) is recognised only when no name its code uses is bound there to anything but plain data or closures, which are judged themselves. Any change to the code, its constant pool or such a binding leaves the closure reported.",
    references: [INTERNALS],
  },
  {
    id: "r/language-call",
    title: "R language object calls a dangerous or unlisted function",
    severity: "high",
    description:
      "A call stored as data (a model's `call`, a formula, `terms` predvars) calls or names a function that runs commands, evaluates code or loads native code, or calls anything outside an allowlist of operators, pure constructors, formula transforms (`log`, `poly`, `splines::ns`, `s`, `strata`, `offset` ...), option-list constructors (`rpart.control`), functions of splines and the functions of R's base packages (base, stats, utils, grDevices) that only compute (`sample`, `rnorm`, `dist`, `time`, `transform`: a table generated with R from the packages' code, bare and `pkg::` names judged alike), or calls a computed function (`Find(paste0(\"sys\", \"tem\"), ...)`, `f$g(...)`). Loading does not evaluate it, but standard model methods do: `predict()` and `model.frame()` evaluate `predvars` and the formula's variables, `update()` evaluates `call`. String literals in a stored call are judged as the R text a function may parse (stats' `formula.character` evaluates text that is not a `~` formula, fitters take a formula as text: `lm(formula = \"{system(...)}\")`): every function the text calls must be allowed; text given to `formula`, `as.formula` or `reformulate` must moreover be a `~` formula, and anything but literals and formulas given to them (`as.formula(paste0(...))`) is reported. The outermost function of a model's stored call (outside the `terms` attributes `model.frame` evaluates, `predvars` and any attribute whose name starts with it, since R matches attribute names partially) may be a known model fitter (`lm`, `glm`, `rpart`, `nls`, `randomForest` ...), whose call may then not build text at run time (`paste`, `sprintf`, `format`); any other outer function (`postscript(file = \"|cmd\")`) is judged like the rest. Stored code that binds a name is reported, since an allowed call of a rebound name runs anything (`(log = pipe)` then `log(\"cmd\", \"r\")`): `<-`, `<<-`, `=` used as a call (not an argument name), `->`, `for`, `assign`, `delayedAssign`, `makeActiveBinding`, `local`, `with`, and function literals (`na.action = function(object, log = pipe) ...`); texts are judged the same way (`=` only as an argument name inside a call's or an index's brackets, no arrows, no `function`). Only `<-`/`=` to the local data variables of glm families' `initialize` code (`n`, `y`, `m`, `mustart`, `weights`, `y1`, `n0`, or an element of one) are left alone. Functions that reach commands, files or code named as values (`pipe`, `source`, `file`, `url`, `load`, `trace` ...) outside a formula's or a `list`'s operands are reported. Expression vectors (a glm family's `initialize`, which `glm.fit` evaluates) are judged like stored calls. A call whose only unlisted functions are ones no table knows (a function of the session, a package's own: neither dangerous, nor an acting export of R's base packages, nor one that calls what it is given) is reported `medium`: what it runs depends on the loading session.",
    references: [INTERNALS],
  },
  {
    id: "r/rd-code",
    title: "R string holding Rd markup that runs code",
    severity: "high",
    description:
      'A string in the stream (any character vector or symbol, every byte of it) holds `\\Sexpr` or an Rd macro definition (`\\newcommand`, `\\renewcommand`). R renders some strings as Rd: printing a `bibentry` or `citation()` object (auto-print at the console included) formats its fields through `tools::processRdSexprs`, which evaluates the R code of `\\Sexpr{...}`. R\'s system Rd macros put their argument inside such code (`\\doi{#1}` becomes `\\Sexpr{tools:::Rd_expr_doi("#1")}`, and a bibentry\'s `doi` field is rendered through `\\doi`), so a stream holding the string `bibentry` and a string with a `(` after a `"` (`doi = \'x"); system("id"); ("\'`) is reported too.',
    references: ["https://stat.ethz.ch/R-manual/R-devel/library/utils/html/bibentry.html"],
  },
  {
    id: "r/startup-hook",
    title: "Workspace defines .First or .Last",
    severity: "high",
    description:
      "A `save()` workspace binds `.First` or `.Last` to a function. R restores `.RData` from the working directory at startup and then calls `.First()` (and `.Last()` at exit): opening R in the folder runs it.",
    references: ["https://stat.ethz.ch/R-manual/R-devel/library/base/html/Startup.html"],
  },
  {
    id: "r/environment-hook",
    title: "Environment with an active binding or a load hook",
    severity: "medium",
    description:
      "An environment in the stream has an active binding (a function called whenever the variable is read) or binds a hook name (`.onLoad`, `.onAttach`, `.First.lib` ...) that package-like loaders call.",
    references: [INTERNALS],
  },
  {
    id: "r/external-pointer",
    title: "External pointer or weak reference in a serialized object",
    severity: "medium",
    description:
      "The stream holds an external pointer or a weak reference. They refer to native memory and finalizers that do not survive serialization; no saved model needs them, and loaders that hand them to native code misbehave.",
    references: [INTERNALS],
  },
  {
    id: "r/altrep-class",
    title: "ALTREP object of a class outside base R",
    severity: "medium",
    description:
      "An ALTREP object names a class other than base R's compact sequences, deferred strings and wrappers. Unserializing looks the class up, loads its package's namespace and calls that package's unserialize method with data from the file; base R's `mmap_*` classes open a file path taken from the stream.",
    references: [INTERNALS],
  },
  {
    id: "r/persistent-reference",
    title: "Persistent reference in a serialized object",
    severity: "medium",
    description:
      "The stream holds a persistent reference (PERSISTSXP): its strings are handed to the loader's `refhook` function to produce the object. What that runs depends on the loader, not on the file.",
    references: [INTERNALS],
  },
  {
    id: "r/legacy-workspace",
    title: "R workspace in a pre-1.0 format",
    severity: "high",
    description:
      "The file opens with a workspace magic of R before 1.0 (`1971` to `1977`, read by R as four digits, the fifth byte ignored). `load()` and R's startup restore of `.RData` still read these formats, and they can bind `.First` and carry closures and promises, so opening R in the folder or loading the file runs code. They are not parsed: high, critical when the file names a startup hook or a dangerous function.",
    references: ["https://github.com/wch/r-source/blob/trunk/src/main/saveload.c"],
  },
  {
    id: "r/header-anomaly",
    title: "R header that R reads but never writes",
    severity: "medium",
    description:
      "The serialization or workspace header departs from anything R writes while R's reader still accepts it: a format line other than `X\n`/`B\n`/`A\n` (R checks only the first byte, and takes `\nA` for ASCII), ASCII numbers with signs or junk after the digits (`+262658`, `3junk`), writer and reader versions no R release has, an unprintable encoding name, a workspace magic written in other bytes than its digits. Such headers are made by hand, typically to slip past scanners; the stream is analysed all the same.",
    references: [INTERNALS],
  },
  {
    id: "r/trailing-data",
    title: "Bytes after the R serialization stream",
    severity: "low",
    description:
      "The file continues after the serialized object. R ignores these bytes; they are analysed as a member because appended archives and pickles hide there.",
    references: [INTERNALS],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof rRules)[number]["id"], true> {}
}
