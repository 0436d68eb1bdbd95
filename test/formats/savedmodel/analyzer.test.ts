/**
 * Which schema a SavedModel file is read with. TensorFlow picks it by name (`saved_model.pb` is a
 * SavedModel, `keras_metadata.pb` a SavedMetadata); protobuf parsers keep a field of the wrong wire
 * type as an unknown field and read on (checked with python3-protobuf 4.21, cpp and upb). Found by
 * `npm run fuzz` (savedmodel target): the analyzer chose the schema from the first byte, so a
 * `saved_model.pb` opening with a length-delimited field 1 was read as Keras metadata and its graph
 * (here a PyFunc) was never looked at.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const pyFunc = new Uint8Array(readFileSync(join(SAMPLES, "savedmodel", "py_func", "saved_model.pb")));
/** The sample behind a length-delimited field 1 (`saved_model_schema_version` is a varint). */
const disguised = Uint8Array.of(0x0a, 0x02, 0x08, 0x01, ...pyFunc);

describe("SavedModel schema choice", () => {
  it("reads saved_model.pb as a SavedModel whatever its first byte", async () => {
    expect(disguised[0]).toBe(0x0a);
    const file = await scanOne(disguised, "saved_model.pb");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toContain("savedmodel/py-func");
    expect(file.verdict).toBe("malicious");
  });

  it("also inside a model directory path", async () => {
    const file = await scanOne(disguised, "export/1/saved_model.pb");
    expect(ruleIds(file)).toContain("savedmodel/py-func");
  });

  it("reads keras_metadata.pb as Keras metadata", async () => {
    const file = await scanOne(pyFunc, "keras_metadata.pb");
    expect(ruleIds(file)).not.toContain("savedmodel/py-func");
  });
});
