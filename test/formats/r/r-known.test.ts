/**
 * Closures R's own packages put into model objects are recognised by their fingerprint
 * (src/formats/r/known.ts, the table samples/generate/r_known_closures.R derives from real fits):
 * real glm, rpart, nlme and mgcv fits are clean, while any change to such a closure's code, its
 * compiled constant pool or the local environment it runs in still raises a finding.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { parseRHeader } from "../../../src/formats/r/header.js";
import { RInspector } from "../../../src/formats/r/inspect.js";
import { KNOWN_FINGERPRINTS, KNOWN_R_VERSIONS } from "../../../src/formats/r/known.js";
import { type RNode, RWalker, type RWhere } from "../../../src/formats/r/reader.js";
import { RInput } from "../../../src/formats/r/stream.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { HAS_TAG, T, xdr } from "./build.js";

const sample = (p: string): Uint8Array => new Uint8Array(readFileSync(join(SAMPLES, "r", p)));

/** The stream of a gzip-compressed sample. */
const plain = (p: string): Buffer => gunzipSync(sample(p));

/** An inspector that also keeps the fingerprint of every closure, in reading order. */
class Collect extends RInspector {
  readonly fingerprints: (string | undefined)[] = [];
  override closure(node: RNode, where: RWhere & { bytecode: boolean; namespace: string | undefined }): void {
    this.fingerprints.push(node.fingerprint);
    super.closure(node, where);
  }
}

/** Fingerprints of every closure of a stream, in reading order. */
async function fingerprints(bytes: Uint8Array): Promise<(string | undefined)[]> {
  const header = parseRHeader(bytes);
  if (typeof header === "string") throw new Error(header);
  const events = new Collect();
  await new RWalker(new RInput(new BufferSource(bytes), header.itemStart, header.format), events).top(false);
  return events.fingerprints;
}

/** Replaces every occurrence of one ASCII string by another of the same length. */
function replaceAll(bytes: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  const out = Buffer.from(bytes);
  let n = 0;
  for (let at = out.indexOf(from, 0, "latin1"); at >= 0; at = out.indexOf(from, at + 1, "latin1")) {
    out.write(to, at, "latin1");
    n++;
  }
  expect(n).toBeGreaterThan(0);
  return out;
}

describe("known package closures", () => {
  it.each([
    "glm_binomial.rds",
    "glm_offset.rds",
    "glm_poisson.rds",
    "glm_gamma.rds",
    "glm_probit.rds",
    "glm_inverse_gaussian.rds",
    "glm_quasipoisson.rds",
    "rpart.rds",
    "rpart_anova.rds",
    "lme.rds",
    "lme_ml.rds",
    "gam.rds",
    "gam_binomial.rds",
  ])("real fit %s is clean: its closures are its packages' code", async (name) => {
    const file = await scanOne(sample(`benign/${name}`), name);
    expect(file.verdict).toBe("clean");
    expect(ruleIds(file)).not.toContain("r/closure");
    expect(file.facts?.["r.knownClosures"]).toBeGreaterThan(0);
  });

  it("names the R versions its table was made with", () => {
    expect(KNOWN_R_VERSIONS.length).toBeGreaterThan(0);
    expect(KNOWN_FINGERPRINTS.get("stats")?.size).toBeGreaterThan(0);
  });

  it("fingerprints the same closures alike in XDR, native binary and ASCII streams", async () => {
    const fromXdr = await fingerprints(plain("benign/glm_binomial.rds"));
    expect(fromXdr.length).toBeGreaterThan(5);
    expect(fromXdr.every((f) => f !== undefined)).toBe(true);
    expect(await fingerprints(plain("benign/glm_binomial_native.rds"))).toEqual(fromXdr);
    expect(await fingerprints(plain("benign/glm_binomial_ascii.rds"))).toEqual(fromXdr);
  });

  it.each([
    // a native routine of the compiled dev.resids (pool and source expression)
    ["C_binomial_dev_resids", "C_binomial_dev_residz"],
    // the function simulate's bytecode fetches
    ["rbinom", "rbinoz"],
    // a formal argument of the family's closures
    ["nsim", "nsin"],
    // the namespace the closures run in
    ["\x00\x00\x00\x05stats", "\x00\x00\x00\x05statz"],
  ])("a real glm with %s changed to %s is no longer clean", async (from, to) => {
    const bytes = replaceAll(plain("benign/glm_binomial.rds"), from, to);
    const file = await scanOne(new Uint8Array(bytes), "glm.rds");
    expect(file.verdict).not.toBe("clean");
  });

  it("judges what binomial()'s frame binds to the names simulate uses", async () => {
    const glm = plain("benign/glm_binomial.rds");
    // the frame's unforced promise `link` renamed `nsim`, which simulate reads: no longer recognised
    const promise = await scanOne(
      new Uint8Array(replaceAll(glm, "\x00\x00\x00\x04link", "\x00\x00\x00\x04nsim")),
      "glm.rds",
    );
    expect(promise.verdict).toBe("suspicious");
    // simulate, both as the family's element and as the frame's `simfun`
    expect(promise.findings.filter((f) => f.ruleId === "r/closure").map((f) => f.evidence?.binding)).toContain(
      "simfun",
    );
    // a string bound as `fitted`, which simulate calls: R skips what is not a function when it calls
    const data = await scanOne(
      new Uint8Array(replaceAll(glm, "\x00\x00\x00\x06family", "\x00\x00\x00\x06fitted")),
      "glm.rds",
    );
    expect(data.verdict).toBe("clean");
  });

  it("a changed instruction of a compiled body is no longer the package's code", async () => {
    // dev.resids of binomial(): version 12, GETVAR.OP 20 of constants 1..4, then DOTCALL
    const code = Buffer.from([12, 20, 1, 20, 2, 20, 3, 20, 4].flatMap((v) => [0, 0, 0, v]));
    const bytes = plain("benign/glm_binomial.rds");
    const at = bytes.indexOf(code); // the sample was written by R 4.2.2
    expect(at).toBeGreaterThan(0);
    const changed = Buffer.from(bytes);
    changed[at + 4 * 3 + 3] = 21; // GETVAR -> DDVAL
    expect((await scanOne(new Uint8Array(bytes), "glm.rds")).verdict).toBe("clean");
    const file = await scanOne(new Uint8Array(changed), "glm.rds");
    expect(file.verdict).not.toBe("clean");
    expect(ruleIds(file)).toContain("r/closure");
  });

  it("formals are part of the fingerprint", async () => {
    const withDefault = (value: string) =>
      xdr()
        .int(T.CLO | HAS_TAG)
        .namespace("stats")
        .int(T.LIST | HAS_TAG)
        .sym("x")
        .str(value)
        .nil()
        .call(
          "sum",
          (b) => b.sym("x"),
          (b) => b.sym("x"),
        )
        .stream();
    const [a] = await fingerprints(withDefault("a"));
    const [b] = await fingerprints(withDefault("b"));
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(a).not.toBe(b);
  });
});
