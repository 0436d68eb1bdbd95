#!/usr/bin/env Rscript
# Derives src/formats/r/pure-calls.json (run from the repository root: Rscript samples/generate/r_pure_calls.R):
# which exported functions of R's base packages a call stored in a model (`lm(data = df[sample(nrow(df), 25), ])`,
# `hclust(dist(x))`, `density(rnorm(100))`) may call and stay clean, from the installed packages themselves.
# A function is "pure" when it only computes a value from its arguments:
#   - its name is not on the deny list (commands, evaluation, files, connections, environments, options, devices);
#   - it does not call one of its own arguments, nor hand one (or `...`) to something that calls or evaluates it
#     (`FUN(x)`, `match.fun(FUN)`, `lapply(X, FUN)`, `do.call(what)`, `eval(expr)`, `get(x)`);
#   - nothing it reaches in the same packages has one of the effects of the deny list (a fixed point over the
#     call graph). An S3 generic is judged by its own body: the method R dispatches to depends on the class of
#     the value, which a stored call can set with the allowed `structure()` anyway, for any installed package.
# Every other export is "impure": a stored call naming it is dangerous. Names in no table are unknown.
# The table depends on the R version only a little; rerun with a new R, then `npx biome format --write
# src/formats/r/pure-calls.json`, and commit the result.
suppressPackageStartupMessages(library(codetools))
packages <- c("base", "stats", "utils", "grDevices", "graphics", "methods")

# Effects: calling any of these (directly or through callees) makes a function impure.
effects <- c(
  "system", "system2", "shell", "shell.exec", "parse", "str2lang", "str2expression", "source", "sys.source",
  "delayedAssign", "makeActiveBinding", "environment<-", "body<-", "formals<-", "parent.env<-", "attach",
  "library", "require", "requireNamespace", "loadNamespace", "attachNamespace", "dyn.load", "dyn.unload",
  "library.dynam", "Sys.setenv", "Sys.unsetenv", "Sys.setlocale", "setwd", "Sys.chmod", "Sys.umask", "file",
  "url", "gzfile", "bzfile", "xzfile", "unz", "pipe", "fifo", "socketConnection", "serverSocket", "socketAccept",
  "make.socket", "readRDS", "load", "unserialize", "save", "saveRDS", "readLines", "writeLines", "readBin",
  "writeBin", "readChar", "writeChar", "scan", "readline", "sink", "unlink", "dir.create", "download.file",
  "browseURL", "reg.finalizer", "setHook", "addTaskCallback", "trace", "untrace", "lazyLoad", "lazyLoadDBfetch",
  "lazyLoadDBexec", "q", "quit", "unserializeFromConn", "serializeToConn", "saveToConn", "loadFromConn2",
  "dput", "dump", "file.create", "file.remove", "file.rename", "file.copy", "file.append", "file.symlink",
  "file.link", "file.show", "file.edit", "edit", "dataentry", "menu", "readRenviron", "sys.save.image",
  "Sys.setFileTime", "registerS3method", "setMethod", "setClass", "setGeneric", "setValidity", "setRefClass",
  "removeMethod", "unlockBinding", "system.file"
)
# Functions that call or evaluate what they are given: a function handing them one of its arguments is impure.
resolvers <- c(
  "eval", "evalq", "eval.parent", "do.call", "match.fun", "get", "get0", "mget", "dynGet", "forceAndCall",
  "Reduce", "Filter", "Map", "mapply", ".mapply", "lapply", "sapply", "vapply", "outer", "apply", "tapply",
  "Find", "Position", "Negate", "Vectorize", "rapply", "eapply", "by", "aggregate", "ave", "sweep",
  "kronecker", "dendrapply", "optim", "optimize", "optimise", "uniroot", "integrate", "nlm", "nlminb",
  "getFunction", "getExportedValue", "getFromNamespace", "getAnywhere", "getS3method", "getMethod",
  "selectMethod", "Recall", "as.function", "assign", "list2env", "environment<-", "sys.function"
)
# Names that are never pure whatever their code (files, devices, processes, evaluation, environments).
deny <- paste0(
  "^(system|shell|Sys\\.|eval|parse|source|do\\.call|match\\.fun|Recall|get|mget|assign|sys\\.|environment|",
  "file|dir|unlink|download|url|pipe|socket|read|write|load|save|serialize|unserialize|dyn\\.|library|require|",
  "attach|detach|options|getOption|on\\.exit|reg\\.finalizer|lapply|sapply|vapply|mapply|Map|Reduce|Filter|",
  "Find|Position|apply|tapply|outer|Vectorize|rapply|eapply|\\.Call|\\.External|\\.Internal|\\.Primitive|",
  "\\.C$|\\.Fortran|body|formals|dput|dump|sink|cat$|print|capture|browse|install|remove|rm$|setwd|",
  "lazyLoad|trace|untrace|debug|undebug|browser|edit|fix$|page$|View|help|example|demo|vignette|data$|",
  "Rprof|Rscript|R\\.home|make\\.socket|nsl|setHook|addTaskCallback|removeTaskCallback|setwd|setTimeLimit|",
  "setSessionTimeLimit|setMethod|setClass|setGeneric|setValidity|setRefClass|setOldClass|setAs|setPackageName|",
  "setClassUnion|setLoadAction|setReplaceMethod|setGenericImplicit|setDataPart|setIs|setPrimitiveMethods|unz|gzcon|",
  "textConnection|rawConnection|open|close|flush|seek|truncate|isOpen|pushBack|socket|serverSocket|",
  "local$|with$|within$|try|tryCatch|withCallingHandlers|suppress|signalCondition|invokeRestart|",
  "computeRestarts|withRestarts|q$|quit$|new$|initialize$|validObject|callNextMethod|",
  "standardGeneric|UseMethod|NextMethod|forceAndCall|delayedAssign|makeActiveBinding|bindingIs|lock|",
  "unlock|emptyenv|globalenv|topenv|baseenv|parent\\.|as\\.environment|list2env|env2list|new\\.env|",
  "Negate|Identity|dendrapply|optim|uniroot|integrate|nlm|deriv|D$|by$|aggregate|ave$|sweep|kronecker|",
  "sys\\.|interactive|",
  "gc|mem|tracemem|untracemem|retracemem|Sys|date$|proc\\.time|system\\.time|Encoding<-|",
  "registerS3method|asS4|isVirtualClass|slot<-|@<-|\\$<-|\\[\\[<-|\\[<-|<-|<<-|=|\\.Last|\\.First|",
  "\\.Random\\.seed|RNG|set\\.seed|\\.libPaths|find\\.package|path\\.package|packageDescription|",
  "packageVersion|citation|person|bibentry|toBibtex|sessionInfo|osVersion|Sys\\.info|nsl|",
  "count\\.fields|tempfile|tempdir|normalizePath|path\\.expand|",
  "list\\.files|list\\.dirs|unzip|untar|zip|tar|bitmap|dev\\.|dev2|graphics\\.off|recordPlot|replayPlot|savePlot|",
  "postscript|pdf|png|jpeg|bmp|tiff|svg|xfig|pictex|cairo|quartz|x11|X11|windows|win\\.|pdfFonts|",
  "postscriptFonts|embedFonts|ps\\.options|pdf\\.options|setEPS|setPS|layout|par$|split\\.screen|screen|",
  "erase\\.screen|close\\.screen|locator|identify|getGraphicsEvent|setGraphicsEvent|rc\\.|plot|",
  "autoload|\\.detach|\\.doTrace|\\.primTrace|\\.primUntrace|\\.rmpkg|\\.getNamespace|activeBinding|bindtextdomain|",
  "curlGetHeaders|exists|isatty|ls$|objects$|search$|showConnections|pos\\.to\\.env|packageEvent|prmatrix|",
  "nullfile|stdin|stdout|stderr|str2lang|str2expression|srcfile|icuSetCollate|Cstack_info|globalCallingHandlers|",
  "suspendInterrupts|allowInterrupts|\\.signalSimpleWarning|\\.tryResumeInterrupt|\\.Defunct|\\.Deprecated|",
  "\\.dynLibs|\\.expand_R_libs_env_var|\\.mergeImportMethods|\\.cache_class|\\.isMethodsDispatchOn|",
  "\\.TAOCP1997init|conflicts|env\\.profile|capabilities|extSoftVersion|La_library|libcurlVersion|is\\.loaded|",
  "isIncomplete|isSeekable|summary\\.connection|tracingState|returnValue|\\.packages|packageHasNamespace|",
  "isNamespaceLoaded|\\.maskedMsg|warnings|\\.traceback|traceback|licen[cs]e|as\\.list\\.environment|",
  "all\\.equal\\.environment|all\\.equal\\.envRefClass|as\\.function|commandArgs|\\.packageStartupMessage|",
  "packageStartupMessage|message$|\\.makeMessage|\\.NotYetImplemented|\\.NotYetUsed|alarm|process\\.events|",
  "emacs|pico|vi$|xedit|xemacs|prompt|news|upgrade|findCRANmirror|timestamp|de\\.|de$|changedFiles|lsf\\.str|",
  "Rtangle|Rweave|Sweave|Stangle|str$|setTxtProgressBar|txtProgressBar|\\?|\\.DollarNames|hashtab|sethash|",
  "remhash|clrhash|maphash|gethash|numhash|typhash|isS3stdGeneric|localeToCharset|asDateBuilt|cite|citEntry|",
  "citFooter|citHeader|as\\.person|toLatex|iconv|enc2native|Encoding|l10n_info|unix\\.time|",
  "withVisible|for$|while$|repeat$|break$|next$|return$|switch$|function$|if$|\\.isOpen|clearPushBack|srcref|",
  "summary\\.srcfile|update|predict|simulate|profile|confint|model\\.frame|add1|drop1|numericDeriv|getInitial|",
  "selfStart|makepredictcall|model\\.tables|dummy\\.coef|se\\.contrast|proj$|alias$|effects$|",
  "expand\\.model\\.frame|get_all_vars|step$|termplot|biplot|monthplot|qqnorm|qqplot|qqline|scatter\\.smooth|",
  "screeplot|ts\\.plot|tsdiag|plclust|ls\\.print|heatmap|interaction\\.plot|lag\\.plot|cpgram|rect\\.hclust|preplot)"
)
# grDevices: only colour and coordinate helpers compute values; graphics and methods: everything acts.
grdevices_pure <- c(
  "rgb", "hsv", "hcl", "gray", "grey", "col2rgb", "rgb2hsv", "rainbow", "heat.colors", "terrain.colors",
  "topo.colors", "cm.colors", "gray.colors", "grey.colors", "hcl.colors", "palette.colors", "adjustcolor",
  "convertColor", "colors", "colours", "n2mfrow", "extendrange", "axisTicks", "boxplot.stats", "chull",
  "contourLines", "xy.coords", "xyz.coords", "as.raster", "is.raster", "trans3d", "nclass.Sturges",
  "nclass.scott", "nclass.FD", "make.rgb", "colorRamp", "colorRampPalette", "densCols", "as.graphicsAnnot",
  "col2rgb"
)
methods_pure <- c("is", "slot", "slotNames", "isVirtualClass", "existsMethod", "hasMethod", "extends")

# Output functions package code calls to report (to the console or stderr): their effects are not passed on to
# callers (the file they write to is chosen by the calling package code), though they are impure themselves.
barriers <- c("stop", "warning", "message", "cat", "print", "writeLines", "packageStartupMessage", "format",
  "print.default", "show", "str", "flush", "flush.console")

all_fns <- list()   # "pkg::name" -> function
exported <- list()  # pkg -> exported function names
for (p in packages) {
  ns <- asNamespace(p)
  exports <- if (p == "base") ls(ns, all.names = TRUE) else getNamespaceExports(p)
  exports <- sort(unique(exports))
  exports <- exports[vapply(exports, function(n) {
    v <- get0(n, envir = ns, inherits = FALSE)
    is.function(v)
  }, logical(1))]
  exported[[p]] <- exports
  for (n in ls(ns, all.names = TRUE)) {
    v <- get0(n, envir = ns, inherits = FALSE)
    if (is.function(v)) all_fns[[paste0(p, "::", n)]] <- v
  }
}
keys <- names(all_fns)
pkg_of <- sub("::.*$", "", keys)
name_of <- sub("^[^:]*::", "", keys)

# Resolves a callee name seen in package `p` to the key of a function analysed here.
resolve <- function(p, n) {
  k <- paste0(p, "::", n)
  if (!is.null(all_fns[[k]])) return(k)
  k <- paste0("base::", n)
  if (!is.null(all_fns[[k]])) return(k)
  for (q in packages) {
    k <- paste0(q, "::", n)
    if (n %in% exported[[q]]) return(k)
  }
  NA_character_
}

# Whether a function calls one of its arguments or hands one to a resolver.
uses_argument <- function(f, pkg) {
  fm <- names(formals(f))
  if (length(fm) == 0) return(FALSE)
  found <- FALSE
  budget <- 200000L
  walk <- function(e) {
    budget <<- budget - 1L
    if (found || budget < 0L) return(invisible())
    if (is.call(e)) {
      head <- e[[1]]
      if (is.symbol(head)) {
        h <- as.character(head)
        # a formal named like a visible function (`dim`, `levels`) is skipped by R's lookup unless it is one
        if (h %in% fm && is.na(resolve(pkg, h))) { found <<- TRUE; return(invisible()) }
        if (h %in% resolvers) {
          for (a in as.list(e)[-1]) if (is.symbol(a) && nzchar(as.character(a)) && as.character(a) %in% c(fm, "..."))
            { found <<- TRUE; return(invisible()) }
        }
      }
      for (a in as.list(e)) if (!missing(a)) walk(a)
    } else if (is.pairlist(e) || is.list(e)) for (a in as.list(e)) if (!missing(a)) walk(a)
  }
  b <- body(f)
  if (!is.null(b)) walk(b)
  found || budget < 0L
}

# Every name in call position in a function's body, `.Internal(gzfile(...))`'s inner name included (codetools
# does not report it).
call_heads <- function(f) {
  out <- character()
  budget <- 200000L
  walk <- function(e) {
    budget <<- budget - 1L
    if (budget < 0L) return(invisible())
    if (is.call(e)) {
      if (is.symbol(e[[1]])) out <<- c(out, as.character(e[[1]]))
      for (a in as.list(e)) if (!missing(a)) walk(a)
    }
  }
  b <- body(f)
  if (!is.null(b)) walk(b)
  unique(out)
}

callees <- vector("list", length(keys))
names(callees) <- keys
direct_bad <- logical(length(keys))
names(direct_bad) <- keys
calls_argument <- direct_bad
for (i in seq_along(keys)) {
  f <- all_fns[[i]]
  if (is.primitive(f)) { callees[[i]] <- character(); next }
  g <- unique(c(call_heads(f), tryCatch(findGlobals(f, merge = FALSE)$functions, error = function(e) character())))
  direct_bad[i] <- any(g %in% effects)
  calls_argument[i] <- uses_argument(f, pkg_of[i])
  ks <- unique(na.omit(vapply(g, function(n) resolve(pkg_of[i], n), character(1))))
  callees[[i]] <- setdiff(ks, c(keys[i], paste0(packages, "::", rep(barriers, each = length(packages)))))
}

# graphics draws on (and may open) a device; methods defines classes and methods: both act, but for a few helpers.
for (k in keys[pkg_of == "graphics" | (pkg_of == "grDevices" & !(name_of %in% grdevices_pure)) |
  (pkg_of == "methods" & !(name_of %in% methods_pure))]) direct_bad[k] <- TRUE

# Fixed point: impure when an effect is reached (arguments handed on do not propagate).
bad <- direct_bad
repeat {
  changed <- FALSE
  for (i in which(!bad)) {
    if (any(bad[callees[[i]]])) { bad[i] <- TRUE; changed <- TRUE }
  }
  if (!changed) break
}
bad_by_effect <- bad

out_pure <- list()
out_impure <- list()
for (p in packages) {
  pure <- character()
  impure <- character()
  for (n in exported[[p]]) {
    k <- paste0(p, "::", n)
    ok <- !grepl(deny, n) && !isTRUE(bad_by_effect[k]) && !isTRUE(calls_argument[k]) &&
      (p %in% c("base", "stats", "utils") || (p == "grDevices" && n %in% grdevices_pure) ||
        (p == "methods" && n %in% methods_pure))
    if (ok) pure <- c(pure, n) else impure <- c(impure, n)
  }
  out_pure[[p]] <- sort(pure)
  out_impure[[p]] <- sort(impure)
}
# Evaluates the expressions it is given in the data frame, as formulas' variables are: those expressions
# are themselves stored code, judged where they are.
out_pure$base <- sort(unique(c(out_pure$base, "transform")))
out_impure$base <- setdiff(out_impure$base, "transform")

q <- function(s) paste0('"', gsub('(["\\\\])', "\\\\\\1", s), '"')
arr <- function(v) paste0("[", paste(q(v), collapse = ", "), "]")
obj <- function(l) paste0("{\n", paste0("    ", q(names(l)), ": ", vapply(l, arr, character(1)), collapse = ",\n"), "\n  }")
json <- paste0(
  "{\n  \"rVersion\": ", q(paste(R.version$major, R.version$minor, sep = ".")),
  ",\n  \"pure\": ", obj(out_pure), ",\n  \"impure\": ", obj(out_impure), "\n}\n"
)
writeLines(json, "src/formats/r/pure-calls.json")
cat("pure:", vapply(out_pure, length, 1L), " impure:", vapply(out_impure, length, 1L), "\n")
