/**
 * BUILD dict state whose special or instance-hook keys hold plain literals (statsmodels results
 * wrappers pickle `__doc__`, matplotlib figures `__mpl_version__`, a Colorbar `extend='neither'`):
 * a literal in an instance `__dict__` can never run as a hook, so it is not a monkey-patch. Slot
 * state (setattr), object-protocol names and non-literal values stay flagged.
 */
import { describe, expect, it } from "vitest";

import { analyze, bytes, op, rules } from "./helpers.js";

const P2 = op.proto(2);
const CLS = op.global("sklearn.linear_model._base", "LinearRegression");
const NEWOBJ = [0x29, 0x81]; // EMPTY_TUPLE NEWOBJ
const BUILD = [0x62];
const REF = op.global("numpy.core.multiarray", "_reconstruct"); // an allowed callable, referenced only

type Item = [string, Uint8Array | number[]];

/** `{k: v, ...}` as EMPTY_DICT MARK k v ... SETITEMS. */
function dict(items: Item[]): Uint8Array {
  return bytes([0x7d, 0x28], ...items.flatMap(([k, v]) => [op.bu(k), v]), [0x75]);
}

/** An instance rebuilt with NEWOBJ and one BUILD of `state`. */
function built(state: Uint8Array): Uint8Array {
  return bytes(P2, CLS, NEWOBJ, state, BUILD, op.stop);
}

const lit = (s: string) => op.bu(s);

describe("BUILD dict state with literal values", () => {
  it("does not flag literal docstrings, version strings or extend='neither'", async () => {
    const a = await analyze(
      built(
        dict([
          ["__doc__", lit("A results wrapper.")],
          ["__mpl_version__", lit("3.6.3")],
          ["extend", lit("neither")],
          ["append", [0x4e]], // None
          ["__module__", [0x4a, 1, 0, 0, 0]], // an int
          ["add", [0x88]], // True
        ]),
      ),
    );
    expect(rules(a)).not.toContain("pickle/monkeypatch");
  });

  it("still flags a non-literal value under a special key or an instance hook", async () => {
    for (const key of ["__doc__", "extend", "__mpl_version__", "add"]) {
      const a = await analyze(built(dict([[key, REF]])));
      expect(rules(a), key).toContain("pickle/monkeypatch");
    }
  });

  it("still flags object-protocol names, whatever their value", async () => {
    for (const key of ["__class__", "__dict__", "__setstate__", "__reduce_ex__", "__reduce__", "__getattr__"]) {
      const a = await analyze(built(dict([[key, lit("str")]])));
      expect(rules(a), key).toContain("pickle/monkeypatch");
    }
  });

  it("still flags a literal set through slot state (setattr runs descriptors)", async () => {
    const state = bytes([0x4e], dict([["__doc__", lit("x")]]), [0x86]); // (None, {...})
    const a = await analyze(built(state));
    expect(rules(a)).toContain("pickle/monkeypatch");
  });

  it("still flags a literal beside a non-literal special entry", async () => {
    const a = await analyze(
      built(
        dict([
          ["__doc__", lit("doc")],
          ["__setstate__", REF],
        ]),
      ),
    );
    expect(rules(a)).toContain("pickle/monkeypatch");
    const e = a.findings.find((f) => f.ruleId === "pickle/monkeypatch");
    expect(String(e?.evidence?.attributes)).toBe("__setstate__");
  });

  it("a literal extend hook is not callable: a later APPENDS fails as in Python", async () => {
    const stream = bytes(P2, CLS, NEWOBJ, dict([["extend", lit("neither")]]), BUILD, [0x28], lit("x"), [0x65], op.stop);
    const a = await analyze(stream);
    expect(rules(a)).not.toContain("pickle/monkeypatch");
    expect(a.findings.some((f) => f.severity === "critical")).toBe(false);
  });
});
