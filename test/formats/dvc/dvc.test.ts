/**
 * DVC pointer files: the artifact `dvc pull` fetches is named (not scanned), and an output path
 * that lands outside the pointer's folder (absolute, drive letter, URL, `..`, joined to `wdir`) is
 * where DVC would write it.
 */
import { describe, expect, it } from "vitest";
import { escapeReason } from "../../../src/formats/dvc/analyzer.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const scan = (text: string, name = "model.pkl.dvc") => scanOne(enc.encode(text), name);
const MD5 = "3863d0e317dee0a55c4e59d2ec0eef33";

describe("DVC pointer files", () => {
  it("names the artifact and its hash (medium)", async () => {
    const file = await scan(`outs:\n- md5: ${MD5}\n  size: 2211\n  hash: md5\n  path: model.pkl\n`);
    expect(file.format).toBe("dvc");
    expect(ruleIds(file)).toEqual(["dvc/external-artifact"]);
    expect(file.verdict).toBe("suspicious");
    expect(file.findings[0]?.evidence).toMatchObject({ path: "model.pkl", hash: MD5, hashName: "md5" });
  });

  it("reads flow style, anchors and merge keys as DVC's YAML loader does", async () => {
    const flow = await scan(`{outs: [{md5: ${MD5}, path: /etc/cron.d/x}]}\n`);
    expect(ruleIds(flow)).toEqual(["dvc/external-artifact", "dvc/path-traversal"]);
    const merged = await scan(`base: &b {path: ../../x.pkl}\nouts:\n- <<: *b\n  md5: ${MD5}\n`);
    expect(ruleIds(merged)).toContain("dvc/path-traversal");
  });

  it("an output outside the folder is high", async () => {
    for (const path of [
      "/home/u/.bashrc",
      "C:\\\\Users\\\\u\\\\x",
      "../../.ssh/authorized_keys",
      "s3://b/k",
      "a/../../b",
      "file:/etc/cron.d/x",
      "~/.bashrc",
      "\\\\\\\\host\\\\share\\\\x",
    ]) {
      const file = await scan(`outs:\n- md5: ${MD5}\n  path: "${path}"\n`);
      expect(ruleIds(file), path).toContain("dvc/path-traversal");
      expect(file.verdict).toBe("malicious");
    }
    const wdir = await scan(`wdir: ../..\nouts:\n- md5: ${MD5}\n  path: x.pkl\n`);
    expect(ruleIds(wdir)).toContain("dvc/path-traversal");
  });

  it("paths that stay inside are not traversal", () => {
    for (const [wdir, path] of [
      [".", "model.pkl"],
      [".", "data/../model.pkl"],
      ["sub", "../model.pkl"],
      [".", "./a/b"],
    ]) {
      expect(escapeReason(wdir!, path!), `${wdir} ${path}`).toBeUndefined();
    }
  });

  it("a .dvc file DVC refuses is invalid, .dvc-named text included (the name decides)", async () => {
    const nullPath = await scan(`outs:\n- md5: ${MD5}\n  path: null\n`);
    expect(nullPath.verdict).toBe("invalid");
    expect(ruleIds(nullPath)).toContain("dvc/malformed");
    const notes = await scan("notes about the dvc remote\n", "README.dvc");
    expect(notes.format).toBe("dvc");
    expect(notes.verdict).toBe("invalid");
  });

  it("the outs shape under another name is not a DVC file", async () => {
    const file = await scan(`outs:\n- md5: ${MD5}\n  path: model.pkl\n`, "outs.yaml");
    expect(file.format).toBe("yaml");
  });
});
