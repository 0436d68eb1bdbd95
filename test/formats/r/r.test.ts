import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { isModelgateError } from "../../../src/core/errors.js";
import { parseRHeader } from "../../../src/formats/r/header.js";
import { detectR } from "../../../src/formats/r/index.js";
import { RInspector } from "../../../src/formats/r/inspect.js";
import { type RNode, RWalker, type RWalkOptions } from "../../../src/formats/r/reader.js";
import { RInput } from "../../../src/formats/r/stream.js";
import { claimForName } from "../../../src/registry/claims.js";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { ACTIVE, HAS_TAG, T, type XdrBuilder, xdr } from "./build.js";

const sample = (p: string): Uint8Array => new Uint8Array(readFileSync(join(SAMPLES, "r", p)));
const plain = (p: string): Uint8Array => new Uint8Array(gunzipSync(sample(p)));

/** Walks an XDR stream built by the test and returns the inspector and the top item. */
async function walk(bytes: Uint8Array, options: RWalkOptions = {}): Promise<{ inspector: RInspector; top: RNode }> {
  const header = parseRHeader(bytes);
  if (typeof header === "string") throw new Error(header);
  const inspector = new RInspector();
  const walker = new RWalker(new RInput(new BufferSource(bytes), header.itemStart, header.format), inspector, options);
  const top = await walker.top(header.kind === "rdata");
  return { inspector, top };
}

const findingsOf = (inspector: RInspector) => inspector.findings.list();

async function walkError(bytes: Uint8Array, options: RWalkOptions = {}): Promise<unknown> {
  return walk(bytes, options).then(
    () => undefined,
    (e: unknown) => e,
  );
}

const severities = (file: FileReport, rule: string) =>
  file.findings.filter((f) => f.ruleId === rule).map((f) => f.severity);

describe("R header and detection", () => {
  it("recognises the three encodings and workspaces written by R", () => {
    expect(parseRHeader(plain("benign/dataframe.rds"))).toMatchObject({
      kind: "rds",
      format: "xdr",
      version: 3,
      writer: 0x040202,
      encoding: "UTF-8",
    });
    expect(parseRHeader(plain("benign/dataframe_v2.rds"))).toMatchObject({ version: 2, format: "xdr" });
    expect(parseRHeader(sample("benign/dataframe_native.rds"))).toMatchObject({ format: "binary", version: 3 });
    expect(parseRHeader(sample("benign/dataframe_ascii.rds"))).toMatchObject({ format: "ascii", encoding: "UTF-8" });
    expect(parseRHeader(plain("benign/workspace.RData"))).toMatchObject({ kind: "rdata", format: "xdr" });
    expect(parseRHeader(sample("benign/workspace_ascii.rda"))).toMatchObject({ kind: "rdata", format: "ascii" });
  });

  it("does not take text or pickles that open with X or B for R", () => {
    const input = (s: string) => ({
      head: new TextEncoder().encode(s),
      tail: new Uint8Array(0),
      size: s.length,
      name: "x",
    });
    expect(detectR(input("X\nhello world, this is text"))).toBeUndefined();
    expect(detectR(input("A\n3\n1\n1\n"))).toBeUndefined(); // the file ends inside the header
    expect(detectR(input("B\n"))).toBeUndefined();
    expect(detectR(input("RDX9\nX\n"))).toMatchObject({ format: "rdata", reason: "R workspace magic" });
  });

  it("claims .rds/.rda/.RData, compressed or not", () => {
    expect(claimForName("model.rds")?.accepts).toEqual(expect.arrayContaining(["rds", "gzip", "bz2", "xz"]));
    expect(claimForName("ws.RData")?.accepts).toEqual(expect.arrayContaining(["rdata", "gzip"]));
    expect(claimForName("ws.rda")?.accepts).not.toContain("rds");
  });
});

describe("R samples made by R", () => {
  it("a gzip'ed .rds is not a claim failure, and its content is analysed", async () => {
    const file = await scanOne(sample("benign/lm.rds"), "lm.rds");
    expect(file.verdict).toBe("clean");
    expect(ruleIds(file)).not.toContain("format/claim-unmet");
    expect(file.members?.[0]).toMatchObject({ format: "rds", verdict: "clean" });
    expect(file.facts?.["r.class"]).toEqual(["lm"]);
  });

  it("a gzip'ed non-R file named .rds fails the claim", async () => {
    const file = await scanOne(gzipSync(Buffer.from("just some text\n")), "model.rds");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("format/claim-unmet");
    const raw = await scanOne(new TextEncoder().encode("not R at all"), "model.rds");
    expect(raw.verdict).toBe("invalid");
  });

  it("reads the CVE-2024-27322 promise (delayedAssign + saveRDS) as critical", async () => {
    const file = await scanOne(sample("malicious/promise_env.rds"), "promise_env.rds");
    expect(file.verdict).toBe("malicious");
    const promise = file.findings.find((f) => f.ruleId === "r/promise");
    expect(promise).toMatchObject({ severity: "critical", evidence: { callee: "system", binding: "model" } });
    expect(promise?.evidence?.call).toBe('system("echo pwned")');
  });

  it("sees system() in compiled bytecode", async () => {
    const { inspector } = await walk(plain("malicious/bytecode_system.rds"));
    expect(findingsOf(inspector)).toEqual([
      expect.objectContaining({ ruleId: "r/dangerous-code", evidence: expect.objectContaining({ callee: "system" }) }),
    ]);
  });

  it("keeps the lm fit's call and terms as data", async () => {
    const { inspector, top } = await walk(plain("benign/lm.rds"));
    expect(findingsOf(inspector)).toEqual([]);
    expect(top.type).toBe(19);
  });
});

describe("R code findings", () => {
  const echo = (b: XdrBuilder) => b.str("echo pwned");

  it("rates a promise by what it calls", async () => {
    const benign = await walk(
      xdr()
        .promise((b) => b.call("c", (x) => x.int(T.INT).int(1).int(1)))
        .stream(),
    );
    expect(findingsOf(benign.inspector)).toEqual([expect.objectContaining({ ruleId: "r/promise", severity: "high" })]);
    const unknown = await walk(
      xdr()
        .promise((b) => b.call("whatever", echo))
        .stream(),
    );
    expect(findingsOf(unknown.inspector)[0]).toMatchObject({ ruleId: "r/promise" });
    expect(findingsOf(unknown.inspector)[0]?.severity).toBeUndefined(); // the rule's default: critical
    const qualified = await walk(
      xdr()
        .promise((b) => {
          // base::system("echo pwned")
          b.int(T.LANG);
          b.call(
            "::",
            (x) => x.sym("base"),
            (x) => x.sym("system"),
          );
          b.int(T.LIST);
          echo(b);
          b.nil();
        })
        .stream(),
    );
    expect(findingsOf(qualified.inspector)[0]?.evidence?.callee).toContain("system");
  });

  it("flags closures that reach dangerous functions indirectly", async () => {
    const cases: [string, (b: XdrBuilder) => void][] = [
      [
        "do.call string",
        (b) =>
          b.call(
            "do.call",
            (x) => x.str("system"),
            (x) => x.call("list", echo),
          ),
      ],
      ["lapply by name", (b) => b.call("lapply", echo, (x) => x.sym("system"))],
      [
        "computed get",
        (b) =>
          b.call("get", (x) =>
            x.call(
              "paste0",
              (y) => y.str("sys"),
              (y) => y.str("tem"),
            ),
          ),
      ],
      ["eval(parse())", (b) => b.call("eval", (x) => x.call("parse", (y) => y.str("1")))],
    ];
    for (const [name, body] of cases) {
      const { inspector } = await walk(xdr().closure(body).stream());
      expect(
        findingsOf(inspector).map((f) => f.ruleId),
        name,
      ).toEqual(["r/dangerous-code"]);
    }
    const benign = await walk(
      xdr()
        .closure((b) => b.call("sum", (x) => x.sym("x")))
        .stream(),
    );
    expect(findingsOf(benign.inspector).map((f) => f.ruleId)).toEqual(["r/closure"]);
  });

  it("accepts .Call() of a known stats routine only from namespace:stats", async () => {
    const link = (b: XdrBuilder) =>
      b.call(
        ".Call",
        (x) => x.sym("C_logit_link"),
        (x) => x.sym("mu"),
      );
    const inStats = await walk(
      xdr()
        .closure(link, (b) => b.namespace("stats"))
        .stream(),
    );
    expect(findingsOf(inStats.inspector).map((f) => f.ruleId)).toEqual(["r/closure"]);
    const global = await walk(xdr().closure(link).stream());
    expect(findingsOf(global.inspector).map((f) => f.ruleId)).toEqual(["r/dangerous-code"]);
    const other = await walk(
      xdr()
        .closure(
          (b) =>
            b.call(
              ".Call",
              (x) => x.sym("C_other"),
              (x) => x.sym("mu"),
            ),
          (b) => b.namespace("stats"),
        )
        .stream(),
    );
    expect(findingsOf(other.inspector).map((f) => f.ruleId)).toEqual(["r/dangerous-code"]);
    // an environment on the way that binds the routine's name hijacks it
    const shadowed = xdr()
      .int(T.ENV)
      .int(0)
      .namespace("stats")
      .int(T.LIST | HAS_TAG)
      .sym("f")
      .closure(link, (b) => b.int(T.REF | (1 << 8)))
      .int(T.LIST | HAS_TAG)
      .sym("C_logit_link")
      .str("R_some_routine")
      .nil()
      .nil()
      .nil();
    const hijack = await walk(shadowed.stream());
    expect(findingsOf(hijack.inspector).map((f) => f.ruleId)).toEqual(["r/dangerous-code"]);
    // a real fit: stats' own closures are recognised by their fingerprint (r-known.test.ts)
    const file = await scanOne(sample("benign/glm_binomial.rds"), "glm.rds");
    expect(file.verdict).toBe("clean");
    expect(ruleIds(file)).not.toContain("r/dangerous-code");
  });

  it("reports active bindings, hooks, external pointers and foreign ALTREP classes", async () => {
    // an environment whose frame has an active binding `x` and a `.onLoad` function
    const env = xdr()
      .int(T.ENV)
      .int(0)
      .int(T.GLOBALENV)
      .int(T.LIST | HAS_TAG | ACTIVE)
      .sym("x")
      .closure((b) => b.call("sum"))
      .int(T.LIST | HAS_TAG)
      .sym(".onLoad")
      .closure((b) => b.call("sum"))
      .nil()
      .nil()
      .nil();
    const hooks = await walk(env.stream());
    expect(findingsOf(hooks.inspector).filter((f) => f.ruleId === "r/environment-hook")).toHaveLength(2);
    const ptr = await walk(xdr().int(T.EXTPTR).nil().nil().stream());
    expect(findingsOf(ptr.inspector).map((f) => f.ruleId)).toEqual(["r/external-pointer"]);
    const altrep = (cls: string, pkg: string) =>
      xdr()
        .int(T.ALTREP)
        .int(T.LIST)
        .sym(cls)
        .int(T.LIST)
        .sym(pkg)
        .int(T.LIST)
        .int(T.INT)
        .int(1)
        .int(13)
        .nil()
        .int(T.INT)
        .int(0)
        .nil()
        .stream();
    expect(findingsOf((await walk(altrep("compact_intseq", "base"))).inspector)).toEqual([]);
    expect(findingsOf((await walk(altrep("arrow_dbl", "arrow"))).inspector).map((f) => f.ruleId)).toEqual([
      "r/altrep-class",
    ]);
  });

  it("keeps a promise found before the stream breaks", async () => {
    const bytes = xdr()
      .int(T.VEC)
      .int(2)
      .promise((b) => b.call("system", echo))
      .stream();
    const file = await scanOne(bytes, "x.rds");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["r/promise", "format/malformed"]));
  });

  it("reports trailing bytes and scans them", async () => {
    const bytes = new Uint8Array([...xdr().str("a").stream(), ...new TextEncoder().encode("PK junk")]);
    const file = await scanOne(bytes, "x.rds");
    expect(ruleIds(file)).toContain("r/trailing-data");
    expect(severities(file, "r/trailing-data")).toEqual(["low"]);
  });
});

describe("hostile R streams", () => {
  it("rejects truncation anywhere in a real stream", async () => {
    const whole = plain("benign/dataframe.rds");
    for (let cut = 30; cut < whole.length; cut += 7) {
      const e = await walkError(whole.subarray(0, cut));
      expect(isModelgateError(e), `cut at ${cut}`).toBe(true);
    }
    const file = await scanOne(whole.subarray(0, whole.length - 3), "df.rds");
    expect(file.verdict).toBe("invalid");
  });

  it("never trusts a claimed length", async () => {
    const huge = xdr().int(T.REAL).int(0x7fffffff).stream();
    expect(await walkError(huge)).toMatchObject({ code: "TRUNCATED" });
    const long = xdr().int(T.VEC).int(-1).int(0x100000).int(0).stream();
    expect(await walkError(long)).toMatchObject({ code: "TRUNCATED" });
    const strings = xdr().int(T.STR).int(0x40000000).stream();
    expect(await walkError(strings)).toMatchObject({ code: "TRUNCATED" });
    const negative = xdr().int(T.INT).int(-7).stream();
    expect(await walkError(negative)).toMatchObject({ code: "MALFORMED" });
  });

  it("stops deep nesting at the depth budget", async () => {
    const b = xdr();
    for (let i = 0; i < 3_000; i++) b.int(T.VEC).int(1);
    b.nil();
    expect(await walkError(b.stream(), { maxDepth: 1_000 })).toMatchObject({ code: "BUDGET_EXCEEDED" });
    await expect(walk(b.stream())).resolves.toBeDefined();
    const file = await scanOne(xdr().int(T.VEC).int(1).stream(), "x.rds");
    expect(file.verdict).toBe("invalid");
  });

  it("reads long pairlists and argument lists without nesting", async () => {
    const b = xdr();
    for (let i = 0; i < 100_000; i++) b.int(T.LIST).nil();
    b.nil();
    const { top } = await walk(b.stream(), { maxDepth: 8 });
    expect(top.cells).toHaveLength(64); // kept, of 100,000 read
    const args = xdr().closure((c) => {
      c.int(T.LANG).sym("c");
      for (let i = 0; i < 50_000; i++) c.int(T.LIST).sym("x");
      c.int(T.LIST).sym("system").nil();
    });
    const { inspector } = await walk(args.stream(), { maxDepth: 8 });
    expect(findingsOf(inspector)[0]).toMatchObject({ ruleId: "r/dangerous-code", evidence: { callee: "system" } });
  });

  it("reads reference loops without looping, and rejects dangling references", async () => {
    // an environment enclosed by itself (reference 1), with an empty frame
    const loop = xdr()
      .int(T.ENV)
      .int(0)
      .int(T.REF | (1 << 8))
      .nil()
      .nil()
      .nil()
      .stream();
    await expect(walk(loop)).resolves.toBeDefined();
    const dangling = xdr()
      .int(T.REF | (5 << 8))
      .stream();
    expect(await walkError(dangling)).toMatchObject({ code: "MALFORMED" });
    const refBudget = xdr().int(T.VEC).int(3).sym("a").sym("b").sym("c").stream();
    expect(await walkError(refBudget, { maxRefs: 2 })).toMatchObject({ code: "BUDGET_EXCEEDED" });
  });

  it("rejects unknown types and bad headers", async () => {
    expect(await walkError(xdr().int(0).stream())).toMatchObject({ code: "MALFORMED" });
    expect(await walkError(xdr().int(18).stream())).toMatchObject({ code: "MALFORMED" });
    expect(await walkError(xdr().int(246).stream())).toMatchObject({ code: "MALFORMED" });
    expect(parseRHeader(xdr().nil().stream(4))).toBe("unsupported serialization version 4");
    const ws = await scanOne(new TextEncoder().encode("RDX3\nX\n\0\0"), "ws.RData");
    expect(ws.verdict).toBe("invalid");
  });

  it("unescapes ASCII strings as R does", async () => {
    const text = 'A\n3\n262658\n197888\n5\nUTF-8\n16\n1\n262153\n5\na\\nb\\101\\"\n';
    const { top } = await walk(new TextEncoder().encode(text));
    expect(top.strings).toEqual(['a\nbA"']);
  });
});
