/**
 * YAML mapping keys read as PyYAML and OmegaConf read them: a key written as an alias (`*t :`)
 * is the scalar its anchor names, so `keys: {t: &t _target_}` then `model: {*t : os.system}`
 * is a Hydra `_target_`. A key that cannot be read (an alias naming a collection or no anchor, a
 * collection) is `yaml/malformed`, not dropped. `!!omap` entries are walked like a mapping's.
 */
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const scan = (text: string, name = "config.yaml") => scanOne(enc.encode(text), name);
const of = (file: FileReport, ruleId: string) => file.findings.filter((f) => f.ruleId === ruleId);

describe("alias keys in Hydra configs", () => {
  it("an alias key naming _target_ is judged as _target_", async () => {
    const file = await scan('keys:\n  t: &t _target_\nmodel:\n  *t : os.system\n  _args_: ["touch /tmp/x"]\n');
    expect(file.verdict).toBe("malicious");
    expect(of(file, "yaml/hydra-target")[0]?.severity).toBe("critical");
  });

  it("an anchor on a key is followed, and so are the keys a target reads beside it", async () => {
    const file = await scan(
      "a:\n  &t _target_ : builtins.print\nb:\n  *t : hydra.utils.get_method\n  p: &p path\nc:\n  _target_: hydra.utils.get_method\n  *p : os.system\n",
    );
    expect(of(file, "yaml/hydra-target").some((f) => f.severity === "critical")).toBe(true);
  });

  it("a NeMo config's root target written with an alias key is judged", async () => {
    const file = await scan("k: &k target\n*k : os.system\n", "model_config.yaml");
    expect(of(file, "yaml/hydra-target").length).toBeGreaterThan(0);
  });

  it("a key that cannot be read is malformed", async () => {
    for (const text of [
      "a: &a [1]\nm:\n  *a : os.system\n",
      "m:\n  *zz : os.system\n",
      "m:\n  ? [a, b]\n  : os.system\n",
    ]) {
      const file = await scan(text);
      expect(of(file, "yaml/malformed").length, text).toBeGreaterThan(0);
      expect(file.verdict, text).not.toBe("clean");
    }
  });

  it("an alias naming no anchor is malformed", async () => {
    expect(of(await scan("m:\n  _target_: *zz\n"), "yaml/malformed").length).toBeGreaterThan(0);
  });

  it("values inside !!omap entries are walked", async () => {
    const file = await scan('m: !!omap\n  - a: {_target_: os.system, _args_: ["id"]}\n');
    expect(of(file, "yaml/hydra-target")[0]?.severity).toBe("critical");
  });

  it("plain configs with anchors and aliases stay as they were", async () => {
    const file = await scan(
      "base: &b {lr: 0.1}\ntrain:\n  <<: *b\n  epochs: 3\nmodel:\n  _target_: torch.nn.Linear\n  in_features: 3\n",
    );
    expect(of(file, "yaml/malformed")).toEqual([]);
  });
});
