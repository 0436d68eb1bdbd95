/**
 * Files a Keras config names (a lookup layer's `vocabulary`, a keras_hub/keras_nlp tokenizer's
 * `vocabulary`/`merges`/`proto`) are high when they leave the model, by the one check every format
 * shares (src/formats/dvc/paths.ts): Windows drives, home paths, `file:` URIs without `//` and UNC
 * paths included, which `tf.io.gfile` reads as well as a URL or `/etc/passwd`.
 */
import { describe, expect, it } from "vitest";
import { pathLeavesFolder } from "../../../src/formats/dvc/paths.js";
import { analyzeKerasConfig } from "../../../src/formats/keras/config.js";

type Obj = Record<string, unknown>;
const k3 = (module: string, cls: string, config: unknown, registered: unknown = null): Obj => ({
  module,
  class_name: cls,
  config,
  registered_name: registered,
});
const model = (layers: Obj[]) =>
  k3("keras", "Sequential", { name: "s", layers: [k3("keras.layers", "InputLayer", { name: "i" }), ...layers] });

const OUTSIDE = [
  "C:\\Users\\u\\.ssh\\id_rsa",
  "C:/Windows/win.ini",
  "c:relative.txt",
  "~/.ssh/id_rsa",
  "~root/.bashrc",
  "file:/etc/passwd",
  "file:///etc/passwd",
  "gs://bucket/vocab.txt",
  "\\\\attacker\\share\\vocab.txt",
  "//attacker/share/vocab.txt",
  "/etc/passwd",
  "../../etc/passwd",
  "assets/../../x.txt",
];
const INSIDE = ["vocab.txt", "assets/vocab.txt", "assets/../vocab.txt", "./vocab..txt"];

/** The severity of the vocabulary finding of a lookup layer and of a tokenizer naming `path`. */
function severities(path: string): string[] {
  const lookup = k3("keras.layers", "StringLookup", { name: "l", vocabulary: path });
  const tok = k3(
    "keras_nlp.src.tokenizers.byte_pair_tokenizer",
    "BytePairTokenizer",
    { name: "t", merges: path },
    "keras_nlp>BytePairTokenizer",
  );
  return analyzeKerasConfig(model([lookup, tok]), "config.json")
    .findings.filter((f) => f.ruleId === "keras/vocabulary-file")
    .map((f) => f.severity ?? "default");
}

describe("keras/vocabulary-file: paths outside the model", () => {
  it.each(OUTSIDE)("%s is high", (path) => {
    expect(severities(path)).toEqual(["high", "high"]);
    expect(pathLeavesFolder(path), path).toBeDefined();
  });

  it.each(INSIDE)("%s stays at the rule's severity", (path) => {
    expect(severities(path)).toEqual(["default", "default"]);
    expect(pathLeavesFolder(path), path).toBeUndefined();
  });
});
