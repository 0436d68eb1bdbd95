/**
 * What R's own readers accept, and what model methods evaluate: legacy workspace magics (pre-1.0
 * and version 1), stream headers R reads but never writes, and calls stored in models (predvars,
 * formulas, `call`) judged allowlist-first. Samples are from samples/generate/r.R; the payloads
 * were checked to run in R 4.2.2 (`predict()`, `load()` + access, `R` started in the folder).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { parseRHeader, readMagic } from "../../../src/formats/r/header.js";
import { detectR } from "../../../src/formats/r/index.js";
import { RInspector } from "../../../src/formats/r/inspect.js";
import { RWalker } from "../../../src/formats/r/reader.js";
import { RInput, scanInt } from "../../../src/formats/r/stream.js";
import { claimForName } from "../../../src/registry/claims.js";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { HAS_TAG, T, type XdrBuilder, xdr } from "./build.js";

const sample = (p: string): Uint8Array => new Uint8Array(readFileSync(join(SAMPLES, "r", p)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cat = (...parts: (Uint8Array | string)[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => [...(typeof p === "string" ? enc(p) : p)]));
const sniff = (bytes: Uint8Array) => detectR({ head: bytes, tail: bytes, size: bytes.length, name: "x" });
const severityOf = (file: FileReport, rule: string) => file.findings.find((f) => f.ruleId === rule)?.severity;

/** The ASCII serialization of an environment binding `model` to a promise of system("echo pwned"). */
const PROMISE_ASCII_BODY = `4 0 253 254 19 29 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 254 1026 1 262153 5 model 1029 253 252 6 1 262153 6 system 2 16 1 262153 10 echo\\040pwned 254 254 254\n`;

describe("legacy workspace magics (R_ReadMagic)", () => {
  it("reads the digit magics as R does: (byte - '0') % 10, fifth byte ignored", () => {
    expect(readMagic(enc("1976\n"))).toMatchObject({ magic: "1976", version: 0, format: "ascii" });
    expect(readMagic(enc("1977\n"))).toMatchObject({ magic: "1977", version: 0, format: "xdr" });
    expect(readMagic(enc("1971x"))).toMatchObject({ magic: "1971", version: 0, format: "binary" });
    // '/' is 47: (47 - 48) % 10 = -1, so 2/76 is 2000 - 100 + 70 + 6
    expect(readMagic(enc("2/76x"))).toMatchObject({ magic: "1976", anomaly: expect.stringContaining("1976") });
    expect(readMagic(enc("1003\n"))).toMatchObject({ version: 1, format: "xdr" });
    expect(readMagic(enc("3001\n"))).toMatchObject({ version: 3, format: "ascii" });
    expect(readMagic(enc("RDX1\n"))).toMatchObject({ version: 1, format: "xdr" });
    expect(readMagic(enc("RDA1\n"))).toMatchObject({ version: 1, format: "ascii" });
    expect(readMagic(enc("RDX3\n"))).toMatchObject({ version: 3, format: undefined });
    expect(readMagic(enc("RDX9\n"))).toBe("unknown");
    expect(readMagic(enc("1234\n"))).toBeUndefined();
  });

  it("detects a pre-1.0 workspace, and not text that only opens with a year", () => {
    const pre1 = sample("malicious/workspace_pre1.RData");
    expect(sniff(pre1)).toMatchObject({ format: "rdata", reason: expect.stringContaining("pre-1.0") });
    expect(sniff(enc("1976,a,b\n1,2,3\n"))).toBeUndefined(); // not integers where R reads the table sizes
    expect(sniff(enc("1976\n3 4 5\n6 7 8\n"))).toBeUndefined(); // symbols but no quoted names
    expect(sniff(enc("2001-01-01,3\n2001-01-02,4\n"))).toBeUndefined(); // a v2 magic needs its format line
  });

  it("reports a pre-1.0 workspace that R restores at startup, named .RData", async () => {
    expect(claimForName("project/.RData")?.accepts).toContain("rdata");
    expect(claimForName(".pkl")).toBeUndefined();
    const file = await scanOne(sample("malicious/workspace_pre1.RData"), ".RData");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.find((f) => f.ruleId === "r/legacy-workspace")).toMatchObject({
      severity: "critical",
      evidence: { magic: "1976", callee: ".First, system" },
    });
    // the magic written in other bytes, and a pre-1.0 XDR workspace without names: still high
    const odd = cat("2/76", sample("malicious/workspace_pre1.RData").subarray(4));
    expect(ruleIds(await scanOne(odd, "x.bin"))).toEqual(
      expect.arrayContaining(["r/legacy-workspace", "r/header-anomaly"]),
    );
    const xdrPre1 = cat("1977\n", new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]));
    const plain = await scanOne(xdrPre1, "ws");
    expect(plain.verdict).toBe("malicious");
    expect(severityOf(plain, "r/legacy-workspace")).toBe("high");
    // a text file named .RData that is no workspace is not clean either
    expect((await scanOne(enc("hello\n"), ".RData")).verdict).toBe("invalid");
  });
});

describe("version-1 workspaces (save(version = 1))", () => {
  it("parses R's XDR and ASCII version-1 workspaces", async () => {
    for (const name of ["benign/workspace_v1.rda", "benign/workspace_v1_ascii.rda"]) {
      const file = await scanOne(sample(name), name);
      expect(file.verdict, name).toBe("clean");
      expect(file.facts?.["r.objects"], name).toEqual(expect.arrayContaining(["coefs", "labels"]));
    }
  });

  it("reports .First and promises in them", async () => {
    for (const name of ["malicious/workspace_first_v1.RData", "malicious/workspace_first_v1_ascii.RData"]) {
      const file = await scanOne(sample(name), ".RData");
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file), name).toEqual(expect.arrayContaining(["r/startup-hook", "r/dangerous-code"]));
      expect(ruleIds(file), name).not.toContain("format/malformed");
    }
    const promise = await scanOne(sample("malicious/promise_env_v1.rda"), "p.rda");
    expect(promise.findings.find((f) => f.ruleId === "r/promise")).toMatchObject({
      severity: "critical",
      evidence: { callee: "system", binding: "model", forced: false },
    });
  });

  it("reads the digit magics 1001-1003 and 2001-3003 with their fixed encodings", async () => {
    const v1 = cat("1003\n", sample("malicious/workspace_first_v1.RData").subarray(5));
    expect(ruleIds(await scanOne(v1, "ws"))).toEqual(expect.arrayContaining(["r/startup-hook"]));
    const stream = enc(`A\n3\n262658\n197888\n5\nUTF-8\n${PROMISE_ASCII_BODY}`);
    // a workspace is a pairlist: wrap the environment as `e = <env>`
    const ws = enc(`3001\nA\n3\n262658\n197888\n5\nUTF-8\n1026\n1\n262153\n1\ne\n${PROMISE_ASCII_BODY}254\n`);
    expect(ruleIds(await scanOne(ws, "ws"))).toContain("r/promise");
    expect(ruleIds(await scanOne(stream, "x"))).toContain("r/promise");
  });

  it("reads the native binary layout (RDB1: little-endian, strings without padding)", async () => {
    const out: number[] = [...enc("RDB1\n")];
    const int = (...vs: number[]) => {
      for (const v of vs) out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    };
    const str = (s: string) => {
      int(s.length);
      out.push(...enc(s));
    };
    int(2, 0); // two symbols, no environment
    str("x");
    str("system");
    int(2, 0, 0, 1, 0, 0, 1, -1); // x = <promise>: tag SYM 1
    int(5, 0, 0, -2, -3); // promise: environment, value unbound, then its expression
    int(6, 0, 0, -1, 1, 0, 0, 2, -1); // system(
    int(2, 0, 0, -1, 16, 0, 0, 1); // "echo pwned"
    str("echo pwned");
    int(-1, -1, -1, -1, -1, -1, -1); // attributes and cdrs
    const file = await scanOne(new Uint8Array(out), "ws.rda");
    expect(file.findings.find((f) => f.ruleId === "r/promise")).toMatchObject({
      severity: "critical",
      evidence: { callee: "system", binding: "x" },
    });
    expect(ruleIds(file)).not.toContain("format/malformed");
  });

  it("reads a long cdr chain without nesting", async () => {
    const n = 6000;
    const cells = Array.from({ length: n }, (_, i) => `${i === 0 ? "" : "2 0 0\n"}1 0 0\n1\n-1\n14 0 0\n1\n1\n-1`);
    const text = `RDA1\n1 0\n1 x\n2 0 0\n${cells.join("\n")}\n-1\n${"-1\n".repeat(n)}`;
    const file = await scanOne(enc(text), "long.rda");
    expect(file.verdict).toBe("clean");
    const truncated = await scanOne(enc(text.slice(0, text.length - 40)), "long.rda");
    expect(truncated.verdict).toBe("invalid");
  });
});

describe("stream headers R reads but never writes", () => {
  it("reads ASCII integers as sscanf(%d) does", () => {
    expect(scanInt("3")).toBe(3);
    expect(scanInt("+262658")).toBe(262658);
    expect(scanInt("3junk")).toBe(3);
    expect(scanInt("-7x")).toBe(-7);
    expect(scanInt("4294967298")).toBe(2); // read as a long, truncated to 32 bits
    expect(scanInt("NA")).toBe(-2147483648);
    expect(scanInt("junk")).toBeUndefined();
  });

  it("analyses the promise behind each variant, with the anomaly reported", async () => {
    const variants: [string, Uint8Array][] = [
      ["leading newline", enc(`\nA\n3\n262658\n197888\n5\nUTF-8\n${PROMISE_ASCII_BODY}`)],
      ["junk version", enc(`A\n3junk\n262658\n197888\n5\nUTF-8\n${PROMISE_ASCII_BODY}`)],
      ["signed writer", enc(`A\n3\n+262658\n197888\n5\nUTF-8\n${PROMISE_ASCII_BODY}`)],
      ["zero versions", enc(`A\n3\n0\n0\n5\nUTF-8\n${PROMISE_ASCII_BODY}`)],
      ["format line A?", enc(`AZ3\n262658\n197888\n5\nUTF-8\n${PROMISE_ASCII_BODY}`)],
      ["unprintable encoding", enc(`A\n3\n262658\n197888\n1\n\\001\n${PROMISE_ASCII_BODY}`)],
      [
        "workspace, ASCII stream behind RDX3",
        enc(`RDX3\nA\n3\n262658\n197888\n5\nUTF-8\n1026\n1\n262153\n1\ne\n${PROMISE_ASCII_BODY}254\n`),
      ],
    ];
    for (const [name, bytes] of variants) {
      const file = await scanOne(bytes, "model.bin");
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file), name).toContain("r/promise");
      expect(ruleIds(file), name).toContain("r/header-anomaly");
    }
    // written by R: no anomaly
    expect(ruleIds(await scanOne(sample("malicious/promise_env.rds"), "p.rds"))).not.toContain("r/header-anomaly");
  });

  it("reads an ASCII header padded past the first bytes", async () => {
    const padded = enc(`A\n3\n${" ".repeat(70_000)}262658\n197888\n5\nUTF-8\n${PROMISE_ASCII_BODY}`);
    expect(sniff(enc(`A\n3\n${" ".repeat(1000)}`))).toBeUndefined(); // the whole file ends in the header: not R
    expect(detectR({ head: padded.subarray(0, 65536), tail: padded, size: padded.length, name: "x" })).toMatchObject({
      format: "rds",
    });
    expect(ruleIds(await scanOne(padded, "x"))).toContain("r/promise");
  });

  it("still refuses what R refuses", () => {
    expect(parseRHeader(enc("A\nNA\n1\n1\n"))).toBe("unsupported serialization version -2147483648");
    expect(parseRHeader(enc("A\n3\n262658\n197888\n64\n"))).toBe("invalid native encoding length");
    expect(parseRHeader(enc(`A\n${"3".repeat(128)}\n`))).toBe("ASCII word too long");
    expect(parseRHeader(enc("C\n3\n"))).toBe("no serialization format line");
    expect(parseRHeader(cat("3003\n", xdr().nil().stream()).map((b, i) => (i === 5 ? 0x41 : b)))).toBe(
      "format line does not match the magic",
    );
  });
});

/** An lm-like list holding a terms-like formula whose predvars attribute is `pv`. */
function withPredvars(pv: (b: XdrBuilder) => void): Uint8Array {
  return xdr()
    .int(T.LANG | (1 << 9)) // a formula y ~ x with attributes
    .int(T.LIST | HAS_TAG)
    .sym("predvars")
    .call("list", (b) => b.sym("y"), pv)
    .nil()
    .sym("~")
    .int(T.LIST)
    .sym("y")
    .int(T.LIST)
    .sym("x")
    .nil()
    .stream();
}

describe("calls stored in models are judged allowlist-first", () => {
  const run = async (bytes: Uint8Array) => {
    const header = parseRHeader(bytes);
    if (typeof header === "string") throw new Error(header);
    const inspector = new RInspector();
    await new RWalker(new RInput(new BufferSource(bytes), header.itemStart, header.format), inspector).top(false);
    return inspector.findings.list().filter((f) => f.ruleId === "r/language-call");
  };

  it("flags predvars that call outside the allowlist, by any route", async () => {
    const cases: [string, (b: XdrBuilder) => void][] = [
      [
        "Find + computed name",
        (b) =>
          b.call(
            "Find",
            (x) =>
              x.call(
                "paste0",
                (y) => y.str("sys"),
                (y) => y.str("tem"),
              ),
            (x) => x.str("echo pwned"),
          ),
      ],
      ["browseURL", (b) => b.call("browseURL", (x) => x.str("x"))],
      ["an unknown function", (b) => b.call("someFunction", (x) => x.sym("x"))],
      [
        "rapply + computed name",
        (b) =>
          b.call(
            "rapply",
            (x) => x.sym("x"),
            (x) => x.call("get", (y) => y.sym("f")),
          ),
      ],
      [
        "a computed function",
        (b) => {
          b.int(T.LANG);
          b.call(
            "$",
            (x) => x.sym("obj"),
            (x) => x.sym("fn"),
          );
          b.int(T.LIST).sym("x").nil();
        },
      ],
    ];
    for (const [name, pv] of cases) expect(await run(withPredvars(pv)), name).toHaveLength(1);
    // formula transforms stay clean
    const benign = withPredvars((b) =>
      b.call("log", (x) =>
        x.call(
          "poly",
          (y) => y.sym("x"),
          (y) => y.int(T.INT).int(1).int(2),
        ),
      ),
    );
    expect(await run(benign)).toEqual([]);
  });

  it("lets a stored call name its fitter, unless the fitter calls a function by name", async () => {
    const storedCall = (callee: string) =>
      xdr()
        .call(
          callee,
          (b) =>
            b.call(
              "~",
              (x) => x.sym("y"),
              (x) => x.sym("x"),
            ),
          (b) => b.sym("data"),
        )
        .stream();
    expect(await run(storedCall("randomForest"))).toEqual([]);
    expect(await run(storedCall("Find"))).toHaveLength(1);
    expect(await run(storedCall("system"))).toHaveLength(1);
    // a formula's own outermost function is `~`: what it names is evaluated
    const formula = xdr()
      .call(
        "~",
        (b) => b.sym("y"),
        (b) => b.call("someFunction", (x) => x.sym("x")),
      )
      .stream();
    expect(await run(formula)).toHaveLength(1);
  });

  it("sees resolvers with computed names in closures too", async () => {
    const closure = xdr()
      .closure((b) =>
        b.call(
          "Find",
          (x) =>
            x.call(
              "paste0",
              (y) => y.str("sys"),
              (y) => y.str("tem"),
            ),
          (x) => x.str("echo pwned"),
        ),
      )
      .stream();
    const file = await scanOne(closure, "f.rds");
    expect(ruleIds(file)).toContain("r/dangerous-code");
  });

  it("reports the predvars payloads of real lm fits and keeps real fits clean", async () => {
    for (const name of ["malicious/lm_predvars_find.rds", "malicious/lm_predvars_browseurl.rds"]) {
      const file = await scanOne(sample(name), "m.rds");
      expect(file.verdict, name).toBe("malicious");
    }
    for (const name of ["benign/lm_transforms.rds", "benign/lm_splines.rds", "benign/coxph.rds", "benign/lm.rds"])
      expect((await scanOne(sample(name), "m.rds")).verdict, name).toBe("clean");
  });
});
