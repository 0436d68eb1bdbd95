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
