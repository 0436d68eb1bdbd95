#!/usr/bin/env Rscript
# Real R fits whose stored call (`$call`, what update() evaluates again) calls ordinary functions of
# R's base packages in its arguments, or is made by a fitter of R's recommended packages
# (cluster, spatial, lattice): readRDS runs nothing and update() would run only computations, so
# they are clean (or only what their shipped closures make them). Beside them, fits whose call reads
# a file (an acting function of utils: malicious) or calls a function of the session nobody knows
# (suspicious). Writes samples/r-real-calls/*.rds and expected.json.
# Run from the repository root: Rscript samples/generate/r_real_calls.R
suppressPackageStartupMessages({ library(cluster); library(spatial); library(lattice) })
out <- "samples/r-real-calls"
dir.create(out, showWarnings = FALSE)
set.seed(3)
df <- mtcars
dfn <- scale(mtcars)
csv <- tempfile(fileext = ".csv")
write.csv(mtcars, csv, row.names = FALSE)
prep <- function(d) d[d$cyl > 4, ]
clean <- list(
  lm_sample = lm(mpg ~ wt, data = df[sample(nrow(df), 25), ]),
  lm_base_sample = lm(mpg ~ wt, data = df[base::sample(nrow(df), 25), ]),
  lm_weights_runif = lm(mpg ~ wt, df, weights = runif(32)),
  lm_transform = lm(mpg ~ wt2, data = transform(df, wt2 = wt^2)),
  density_rnorm = density(rnorm(100)),
  density_stats_rnorm = density(stats::rnorm(100)),
  hclust_dist = hclust(dist(USArrests)),
  hclust_ward = hclust(dist(scale(USArrests)), method = "ward.D2"),
  arima_xreg_time = arima(LakeHuron, order = c(2, 0, 0), xreg = time(LakeHuron) - 1920),
  kmeans_scale = kmeans(scale(df[, 1:4]), 3),
  agnes = agnes(USArrests),
  pam = pam(dfn, 2),
  clara = clara(dfn, 2),
  diana = diana(USArrests),
  fanny = fanny(dfn, 2),
  surf_ls = surf.ls(2, MASS::topo)
)
# a trellis object ships lattice's panel closures (reported as shipped code, not as its call)
shipped <- list(xyplot = xyplot(mpg ~ wt, mtcars))
other <- list(
  lm_read_csv = lm(mpg ~ wt, data = read.csv(csv)),
  lm_session_function = lm(mpg ~ wt, data = prep(df))
)
for (n in names(clean)) saveRDS(clean[[n]], file.path(out, paste0(n, ".rds")))
for (n in names(shipped)) saveRDS(shipped[[n]], file.path(out, paste0(n, ".rds")))
for (n in names(other)) saveRDS(other[[n]], file.path(out, paste0(n, ".rds")))
unlink(csv)
entry <- function(name, verdict, rules = NULL, absent = NULL) {
  parts <- sprintf('"verdict": "%s"', verdict)
  if (!is.null(rules)) parts <- c(parts, sprintf('"rules": [%s]', paste0('"', rules, '"', collapse = ", ")))
  if (!is.null(absent)) parts <- c(parts, sprintf('"absentRules": [%s]', paste0('"', absent, '"', collapse = ", ")))
  sprintf('  "r-real-calls/%s.rds": { %s }', name, paste(parts, collapse = ", "))
}
lines <- c(
  vapply(names(clean), function(n) entry(n, "clean", absent = "r/language-call"), character(1)),
  entry("xyplot", "suspicious", rules = "r/closure", absent = "r/language-call"),
  entry("lm_read_csv", "malicious", rules = "r/language-call"),
  entry("lm_session_function", "suspicious", rules = "r/language-call")
)
writeLines(c("{", paste(lines, collapse = ",\n"), "}"), file.path(out, "expected.json"))
