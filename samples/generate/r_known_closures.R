#!/usr/bin/env Rscript
# Two things, from real R objects (run from the repository root: Rscript samples/generate/r_known_closures.R):
# 1. The table of closures R's own packages put into model objects, src/formats/r/known-closures.json:
#    the family objects of stats (every family with each standard link), fits of glm, rpart, nlme and
#    mgcv are serialized (uncompressed) to a temporary folder and scripts/r-known-closures.mjs walks
#    them with modelgate's own reader, recording each closure's fingerprint under its namespace.
#    Bytecode differs between R versions: rerun with each R version to support (entries add up).
# 2. Samples in samples/r/: fits whose package closures are recognised (benign) and the same fits
#    with one closure changed (malicious or suspicious). Nothing here reads the malicious files back.
set.seed(7)
suppressPackageStartupMessages({ library(rpart); library(nlme); library(mgcv) })
ref <- Sys.getenv("R_KNOWN_CLOSURES_DIR", file.path(tempdir(), "r-known-closures"))
dir.create(ref, showWarnings = FALSE)
refs <- character()
keep <- function(obj, name) {
  path <- file.path(ref, paste0(gsub("[^A-Za-z0-9_.]", "-", name), ".rds"))
  saveRDS(obj, path, compress = FALSE)
  refs <<- c(refs, path)
  invisible(obj)
}

links <- list(
  binomial = c("logit", "probit", "cauchit", "log", "cloglog"),
  quasibinomial = c("logit", "probit", "cauchit", "log", "cloglog"),
  poisson = c("log", "identity", "sqrt"),
  quasipoisson = c("log", "identity", "sqrt"),
  Gamma = c("inverse", "identity", "log"),
  inverse.gaussian = c("1/mu^2", "inverse", "identity", "log"),
  gaussian = c("identity", "log", "inverse")
)
# Data each family can fit with each of its links (positive responses, proportions, counts).
bin <- data.frame(x = seq(-1, 1, length.out = 40))
bin$y <- rbinom(40, 1, plogis(0.5 + bin$x))
pos <- data.frame(x = seq(1, 3, length.out = 40))
pos$y <- rgamma(40, shape = 5, rate = 5 / (2 + pos$x))
cnt <- data.frame(x = seq(1, 3, length.out = 40))
cnt$y <- rpois(40, 2 + cnt$x)
for (fam in names(links)) for (link in links[[fam]]) {
  f <- get(fam, mode = "function")(link = link)
  keep(f, paste(fam, link, "family", sep = "_"))
  d <- if (fam %in% c("binomial", "quasibinomial")) bin else if (fam %in% c("poisson", "quasipoisson")) cnt else pos
  start <- if (link %in% c("log", "cloglog") && fam %in% c("binomial", "quasibinomial")) c(-1, 0) else NULL
  fit <- tryCatch(suppressWarnings(glm(y ~ x, family = f, data = d, start = start)), error = function(e) NULL)
  if (is.null(fit)) fit <- suppressWarnings(glm(y ~ x, family = f, data = d, start = c(mean(d$y), 0)))
  keep(fit, paste(fam, link, "glm", sep = "_"))
  # the family's closures as used by a fit (and by the JIT, which compiles a closure once called)
  keep(fit$family, paste(fam, link, "used", sep = "_"))
}
keep(glm(am ~ wt, data = mtcars, family = binomial), "glm_binomial")
ins <- data.frame(n = rpois(20, 5), g = gl(2, 10), exposure = runif(20, 1, 3))
keep(glm(n ~ g + offset(log(exposure)), family = poisson(link = "log"), data = ins), "glm_offset")
for (method in c("class", "anova", "poisson", "exp")) {
  fit <- switch(method,
    class = rpart(Species ~ ., data = iris, control = rpart.control(cp = 0.02)),
    anova = rpart(mpg ~ ., data = mtcars),
    poisson = rpart(carb ~ ., data = mtcars, method = "poisson"),
    exp = rpart(survival::Surv(time, status) ~ age + sex, data = survival::lung, method = "exp"))
  keep(fit, paste0("rpart_", method))
}
keep(lme(distance ~ age, random = ~ 1 | Subject, data = Orthodont), "lme")
keep(lme(distance ~ age + Sex, random = ~ age | Subject, data = Orthodont, method = "ML"), "lme_ml")
keep(gls(distance ~ age, data = Orthodont, correlation = corAR1(form = ~ 1 | Subject)), "gls")
keep(gam(mpg ~ s(wt) + s(hp, k = 5), data = mtcars), "gam")
keep(gam(am ~ s(wt, k = 5), data = mtcars, family = binomial), "gam_binomial")
keep(gam(carb ~ s(wt, k = 5), data = mtcars, family = poisson), "gam_poisson")
keep(gam(mpg ~ s(wt, k = 5), data = mtcars, method = "REML", family = Gamma(link = "log")), "gam_gamma")
keep(bam(mpg ~ s(wt, k = 5), data = mtcars), "bam")

node <- Sys.getenv("NODE", if (file.exists("node_modules/node/bin/node")) "node_modules/node/bin/node" else "node")
version <- paste(R.version$major, R.version$minor, sep = ".")
status <- system2(node, c("--experimental-transform-types", "--no-warnings", "scripts/r-known-closures.mjs", version, shQuote(refs)))
if (status != 0) stop("scripts/r-known-closures.mjs failed")

# ---------------------------------------------------------------------------------------------
# Samples (samples/r/). Benign: fits whose closures are all package code (recognised, clean).
out <- file.path("samples", "r")
b <- function(name) file.path(out, "benign", name)
m <- function(name) file.path(out, "malicious", name)
saveRDS(glm(y ~ x, family = binomial(link = "probit"), data = bin), b("glm_probit.rds"))
saveRDS(glm(y ~ x, family = inverse.gaussian(), data = pos), b("glm_inverse_gaussian.rds"))
saveRDS(glm(y ~ x, family = quasipoisson(link = "sqrt"), data = cnt), b("glm_quasipoisson.rds"))
saveRDS(rpart(mpg ~ ., data = mtcars), b("rpart_anova.rds"))
saveRDS(lme(distance ~ age + Sex, random = ~ age | Subject, data = Orthodont, method = "ML"), b("lme_ml.rds"))
saveRDS(gam(mpg ~ s(wt) + s(hp, k = 5), data = mtcars), b("gam.rds"))
saveRDS(gam(am ~ s(wt, k = 5), data = mtcars, family = binomial), b("gam_binomial.rds"))

# Malicious or suspicious: the glm binomial fit with one closure changed.
g <- glm(am ~ wt, data = mtcars, family = binomial)
# linkinv (predict(type = "response") calls it) runs a command first, as written and compiled
evil <- g
body(evil$family$linkinv) <- quote({ system("echo pwned"); .Call(C_logit_linkinv, eta) })
saveRDS(evil, m("glm_linkinv_system.rds"))
evil$family$linkinv <- compiler::cmpfun(evil$family$linkinv)
saveRDS(evil, m("glm_linkinv_system_compiled.rds"))
# linkinv changed without any dangerous name: no longer the package's code (suspicious)
odd <- g
body(odd$family$linkinv) <- quote(.Call(C_logit_linkinv, -eta))
saveRDS(odd, m("glm_linkinv_changed.rds"))
# simulate keeps its known body; its local environment (binomial()'s frame) rebinds what it calls
rebind <- function(name, value, file) {
  x <- glm(am ~ wt, data = mtcars, family = binomial)
  assign(name, value, envir = environment(x$family$simulate))
  saveRDS(x, m(file))
}
rebind("fitted", function(object) system("echo pwned"), "glm_simulate_env_closure.rds")
rebind("rbinom", as.name("system"), "glm_simulate_env_symbol.rds")
x <- glm(am ~ wt, data = mtcars, family = binomial)
delayedAssign("fitted", system("echo pwned"), assign.env = environment(x$family$simulate))
saveRDS(x, m("glm_simulate_env_promise.rds"))
# known compiled bodies whose constant pool was altered (code integers kept)
repool <- function(f, i, value) {
  d <- .Internal(disassemble(.Internal(bodyCode(f))))
  pool <- d[[3]]
  pool[i] <- list(value)
  .Internal(bcClose(formals(f), .Internal(mkCode(d[[2]], pool)), environment(f)))
}
pool_of <- function(f) .Internal(disassemble(.Internal(bodyCode(f))))[[3]]
x <- glm(am ~ wt, data = mtcars, family = binomial)
# dev.resids calls another of stats' routines: nothing dangerous by name, but not stats' code
x$family$dev.resids <- repool(x$family$dev.resids, 2L, as.name("C_logit_link"))
saveRDS(x, m("glm_devresids_pool_changed.rds"))
x <- glm(am ~ wt, data = mtcars, family = binomial)
# the source expression of the pool (R evaluates it when the bytecode version does not match)
x$family$dev.resids <- repool(x$family$dev.resids, 1L, quote(system("echo pwned")))
saveRDS(x, m("glm_devresids_pool_source.rds"))
x <- glm(am ~ wt, data = mtcars, family = binomial)
# simulate's bytecode fetches `system` where it fetched `rbinom`
sim <- x$family$simulate
at <- which(vapply(pool_of(sim), function(c) identical(c, as.name("rbinom")), NA))[1]
x$family$simulate <- repool(sim, at, as.name("system"))
saveRDS(x, m("glm_simulate_pool_system.rds"))
# the benign binomial fit in the two other encodings R writes (fingerprints do not depend on it)
saveRDS(g, b("glm_binomial_ascii.rds"), ascii = TRUE)
con <- gzfile(b("glm_binomial_native.rds"), "wb")
serialize(g, con, xdr = FALSE)
invisible(close(con))
