import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { REPO_ROOT } from "./scan.js";

/** A validator for the published report schema (schema/report-v1.schema.json, made by the build). */
export function reportValidator(): (data: unknown) => { valid: boolean; errors: string } {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "report-v1.schema.json"), "utf8"));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  return (data) => {
    const valid = validate(data) as boolean;
    return { valid, errors: valid ? "" : ajv.errorsText(validate.errors) };
  };
}
