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
  // functions that run an external program named by an argument or an option
  "browseURL",
  "unzip",
  "untar",
  "zip",
  "tar",
  "file.show",
  "file.edit",
  "edit",
  "vi",
  "emacs",
  "pico",
  "xemacs",
  "xedit",
  "fix",
  "bitmap",
  "dev2bitmap",
  "help.start",
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
    (n) =>
      ![
        "file",
        "url",
        "source",
        "load",
        "attach",
        "pipe",
        "trace",
        "sink",
        "fifo",
        "zip",
        "tar",
        "unzip",
        "untar",
        "edit",
        "fix",
        "vi",
      ].includes(n),
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

/**
 * What a call stored as data (a model's `call`, a formula, `terms` predvars) may call and stay
 * clean: the promise allowlist, formula and model-frame transforms, option-list constructors and
 * functions of base and stats without side effects that call no function handed to them. Model
 * methods evaluate these calls (`predict` → `model.frame` evaluates predvars and the formula's
 * variables, `update` evaluates `call`); anything else is reported.
 */
export const LANGUAGE_ALLOW: ReadonlySet<string> = new Set([
  ...PROMISE_ALLOW,
  "~",
  "::",
  "function",
  "<-",
  "=",
  "if",
  "%in%",
  "%*%",
  "%o%",
  "xor",
  "isTRUE",
  "isFALSE",
  "is.null",
  "is.na",
  "is.finite",
  "is.numeric",
  "is.factor",
  "is.character",
  "all",
  "any",
  "which",
  "ifelse",
  "NULL",
  // conditions and messages (a glm family's `initialize` checks its data with them)
  "stop",
  "warning",
  "message",
  // text (see TEXT_BUILDERS)
  "paste",
  "paste0",
  "sprintf",
  "format",
  "formatC",
  "gettextf",
  "stopifnot",
  "gettext",
  "ngettext",
  "sQuote",
  "dQuote",
  "rep.int",
  "is.matrix",
  "is.logical",
  "is.integer",
  "nobs",
  "attr",
  // arithmetic and maths
  "abs",
  "sign",
  "sqrt",
  "exp",
  "expm1",
  "log",
  "log1p",
  "log2",
  "log10",
  "floor",
  "ceiling",
  "round",
  "signif",
  "trunc",
  "sin",
  "cos",
  "tan",
  "asin",
  "acos",
  "atan",
  "atan2",
  "sinh",
  "cosh",
  "tanh",
  "gamma",
  "lgamma",
  "beta",
  "lbeta",
  "choose",
  "factorial",
  "pmin",
  "pmax",
  "min",
  "max",
  "sum",
  "prod",
  "mean",
  "median",
  "range",
  "var",
  "sd",
  "cumsum",
  "cumprod",
  "diff",
  "rev",
  "sort",
  "order",
  "rank",
  "scale",
  "qlogis",
  "plogis",
  "qnorm",
  "pnorm",
  "dnorm",
  "logb",
  // formula terms and transforms (stats, splines, survival, mgcv, nlme, lme4)
  "I",
  "offset",
  // aov's error strata (`y ~ a + Error(block)`): aov takes the term apart, nothing defines it
  "Error",
  "poly",
  "polym",
  "ns",
  "bs",
  "s",
  "te",
  "ti",
  "t2",
  "lo",
  "strata",
  "cluster",
  "Surv",
  "frailty",
  "pspline",
  "pdSymm",
  // stats' self-starting nls models
  "SSasymp",
  "SSasympOff",
  "SSasympOrig",
  "SSbiexp",
  "SSfol",
  "SSfpl",
  "SSgompertz",
  "SSlogis",
  "SSmicmen",
  "SSweibull",
  "pdDiag",
  "corAR1",
  "interaction",
  "cbind",
  "rbind",
  "factor",
  "ordered",
  "as.factor",
  "as.ordered",
  "relevel",
  "cut",
  "findInterval",
  "contr.treatment",
  "contr.sum",
  "contr.helmert",
  "contr.poly",
  "C",
  // conversions and data constructors
  "as.numeric",
  "as.integer",
  "as.double",
  "as.character",
  "as.logical",
  "as.vector",
  "as.matrix",
  "as.data.frame",
  "as.Date",
  "data.frame",
  "cbind",
  "t",
  "dim",
  "nrow",
  "ncol",
  "NROW",
  "NCOL",
  "colnames",
  "rownames",
  "levels",
  "nlevels",
  "droplevels",
  "unique",
  "unlist",
  "head",
  "tail",
  "subset",
  "setNames",
  "nchar",
  "substr",
  "substring",
  "toupper",
  "tolower",
  "trimws",
  "as.formula",
  "formula",
  "reformulate",
  "expand.grid",
  // missing-value handling
  "na.omit",
  "na.exclude",
  "na.fail",
  "na.pass",
  "complete.cases",
  // glm families
  "binomial",
  "gaussian",
  "poisson",
  "Gamma",
  "inverse.gaussian",
  "quasi",
  "quasibinomial",
  "quasipoisson",
  "make.link",
]);

/**
 * Namespaces whose functions a stored call may name (`splines::ns`), callers by name excluded;
 * those of R's base packages are judged function by function (src/formats/r/pure.ts).
 */
export const LANGUAGE_NAMESPACES: ReadonlySet<string> = new Set(["stats", "splines"]);

/** Option-list constructors (`rpart.control`, `trainControl`, `lmeControl`): pure by convention. */
export const CONTROL_NAME = /^[A-Za-z][A-Za-z0-9_.]*(?:\.control|Control)$/;

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

/**
 * Functions that turn text into code: given a string, `formula.character` parses it and evaluates
 * anything but a `~` formula, and `model.frame` evaluates a formula's variables. A stored call may
 * give them only string literals that are `~` formulas calling allowed functions, or formulas.
 */
export const TEXT_TO_CODE: ReadonlySet<string> = new Set([
  "formula",
  "as.formula",
  "reformulate",
  "formula.character",
  "formula.default",
  "DF2formula",
  "terms.formula",
  "str2lang",
  "str2expression",
  "parse",
]);

/**
 * Allowed functions that build text from pieces (`paste0("{sys", "tem('x')}")`; `warning()`
 * returns its message): fine where no one parses their result, but a fitter parses a formula given
 * as text (`lm(formula = paste0(...))`), so a model's stored call may not use them.
 */
export const TEXT_BUILDERS: ReadonlySet<string> = new Set([
  "paste",
  "paste0",
  "sprintf",
  "format",
  "formatC",
  "gettextf",
  "warning",
  // functions that make text whose content no literal shows (a formula given as text, a function
  // named by a string): from code points, raw bytes, case or character maps, substitutions, parts,
  // a deparsed or converted value
  ...["intToUtf8", "rawToChar", "chartr", "tolower", "toupper", "casefold", "sub", "gsub", "regmatches"],
  ...["substr", "substring", "strtrim", "trimws", "strsplit", "strrep", "toString", "deparse", "as.character"],
  ...["make.names", "make.unique", "abbreviate", "sQuote", "dQuote", "shQuote", "encodeString", "iconv"],
  ...["enc2utf8", "enc2native", "basename", "dirname", "file.path", "prettyNum", "gettext", "ngettext", "noquote"],
]);

/**
 * Model fitters: the outermost function of a model's stored `call` (`lm(formula = y ~ x, data =
 * d)`), which `update()` calls again. Only these may be outside {@link LANGUAGE_ALLOW} there; their
 * arguments are judged like any stored code. A name also counts with `.formula`/`.default`/`.fit`
 * (`nnet.formula`, `lme.formula`).
 */
export const FITTERS: ReadonlySet<string> = new Set([
  "lm",
  "glm",
  "aov",
  "nls",
  "nlsModel", // the model object nls builds (a compiled nls keeps promises of its arguments)
  "nlsModel.plinear",
  "loess",
  "lowess",
  "ppr",
  "smooth.spline",
  "ksmooth",
  "supsmu",
  "arima",
  "arima0",
  "ar",
  "StructTS",
  "HoltWinters",
  "prcomp",
  "princomp",
  "factanal",
  "cmdscale",
  "kmeans",
  "hclust",
  "ecdf",
  "density",
  "glm.nb",
  "polr",
  "lda",
  "qda",
  "rlm",
  "lqs",
  "loglm",
  "nnet",
  "multinom",
  "rpart",
  "randomForest",
  "ranger",
  "gam",
  "bam",
  "gamm",
  "gamm4",
  "lme",
  "nlme",
  "gls",
  "gnls",
  "lmer",
  "glmer",
  "nlmer",
  "glmmTMB",
  "coxph",
  "survreg",
  "survfit",
  "cph",
  "lrm",
  "ols",
  "svm",
  "ksvm",
  "naiveBayes",
  "train",
  "gbm",
  "xgb.train",
  "xgboost",
  "glmnet",
  "lgb.train",
  "lightgbm",
  "kknn",
  "glmboost",
  "gamboost",
  "blackboost",
  "cv.glmnet",
  "earth",
  "mars",
  "knn3",
  "knnreg",
  "plsr",
  "pcr",
  "betareg",
  "zeroinfl",
  "hurdle",
  "vglm",
  "vgam",
  "bayesglm",
  "brm",
  "stan_glm",
  "lmrob",
  "glmrob",
  "rq",
  "ctree",
  "cforest",
  "C5.0",
  "J48",
  "bagging",
  "boosting",
  "cubist",
  "lars",
  "ncvreg",
  "pls",
  // more of stats
  "stepfun",
  "isoreg",
  "line",
  "smooth",
  "medpolish",
  "manova",
  "loglin",
  "xtabs",
  "spectrum",
  "spec.pgram",
  "spec.ar",
  "ar.yw",
  "ar.mle",
  "ar.burg",
  "ar.ols",
  "cancor",
  "stl",
  "decompose",
  // R's recommended packages: cluster, spatial, lattice, MASS, nlme, survival, mgcv, boot
  "agnes",
  "pam",
  "clara",
  "diana",
  "fanny",
  "mona",
  "daisy",
  "surf.ls",
  "surf.gls",
  "xyplot",
  "bwplot",
  "histogram",
  "densityplot",
  "levelplot",
  "contourplot",
  "splom",
  "cloud",
  "wireframe",
  "dotplot",
  "barchart",
  "stripplot",
  "qqmath",
  "parallelplot",
  "lm.ridge",
  "glmmPQL",
  "mca",
  "corresp",
  "lmList",
  "nlsList",
  "survdiff",
  "clogit",
  "aareg",
  "cch",
  "jagam",
]);

/** Whether a function name (bare) is a model fitter, with its `.formula`/`.default`/`.fit` methods. */
export function isFitter(bare: string): boolean {
  return FITTERS.has(bare) || FITTERS.has(bare.replace(/\.(?:formula|default|fit|data\.frame|matrix)$/, ""));
}

/**
 * Closures of base R's own model objects that evaluate or fetch values (`eval`, `mget`), by the
 * namespace their environment ends in and their exact signature ({@link closureSignature}: calls |
 * dangerous names | dangerous strings | computed calls). `nls` fits keep stats' `nlsModel`
 * closures: `getPars()` is `unlist(mget(names(ind), env))`, `predict()` is
 * `eval(form[[3L]], as.list(newdata), env)`. With no other name than these, such a closure can only
 * evaluate or fetch what its environment holds (a formula, a call, variables), which is in the file
 * and judged where it is; so it is an ordinary shipped closure (`r/closure`), not dangerous code.
 */
export const KNOWN_CLOSURES: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [
    "stats",
    new Set([
      "mget,names,unlist |  |  | mget(<computed>)", // getPars, getPars.noVarying
      "[,mget,names,unlist |  |  | mget(<computed>)", // getPars.varying
      "<-,attr,attr<-,eval,getRHS.noVarying,{ | eval |  | ", // getRHS.varying
      "[[,eval | eval |  | ", // getRHS.noVarying of a selfStart model
      "[[,as.list,eval,list | eval |  | ", // predict
      "[[,as.list,eval,getPred,list | eval |  | ", // predict of the plinear algorithm
      "-,as.name,eval,function,length,tryCatch | eval |  | ", // lenVar of a selfStart model
    ]),
  ],
]);

/**
 * Calls that bind a name (`<-`, `=` as a call rather than an argument name, a `for` variable, a
 * function literal's parameters and their defaults): stored code that binds `log <- pipe` and then
 * calls the allowed `log("cmd", "r")` runs a command through allowed names only.
 */
export const BINDERS: ReadonlySet<string> = new Set([
  "<-",
  "<<-",
  "=",
  "->",
  "->>",
  "for",
  "function",
  "assign",
  "delayedAssign",
  "makeActiveBinding",
  "local",
  "with",
  "within",
  "environment<-",
  "formals<-",
  "body<-",
]);

/**
 * Local data variables the `initialize` code of base R's and MASS's glm families assigns
 * (`n <- rep.int(1, nobs)`, `mustart <- y + 0.1`, `y[weights == 0] <- 0`): an `<-` or `=` whose
 * target is one of them (or an element of one) binds no function R calls.
 */
export const INIT_LOCALS: ReadonlySet<string> = new Set(["y", "n", "m", "mustart", "weights", "y1", "n0"]);

/**
 * Base functions that reach commands, files or code, named as values (not called): a stored call
 * that hands `pipe` or `source` to an argument R calls (`na.action = source`) or binds it runs them.
 * {@link DANGEROUS_REFS} leaves these out because they are also common words.
 */
export const VALUE_REFS: ReadonlySet<string> = new Set([...DANGEROUS_CALLS].filter((n) => !DANGEROUS_REFS.has(n)));

/**
 * Calls whose direct symbol operands are data variables (a formula's terms, `list(y, x)` of
 * `predvars`): a column named `load` or `source` there is not a function value.
 */
export const VARIABLE_OPERATORS: ReadonlySet<string> = new Set([
  "~",
  "+",
  "-",
  "*",
  "/",
  ":",
  "^",
  "|",
  "%in%",
  "list",
  "c",
  "cbind",
  "I",
]);
