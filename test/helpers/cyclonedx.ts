import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);

/**
 * A validator for the official CycloneDX 1.6 JSON schema, as shipped in @cyclonedx/cyclonedx-library
 * (draft-07, with its SPDX and JSF sub-schemas registered under the ids the BOM schema refers to).
 */
export function cycloneDxValidator(): (data: unknown) => { valid: boolean; errors: string } {
  const dir = join(dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")), "res", "schema");
  const load = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8")) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  // Formats ajv-formats lacks (draft 2019): accept IRIs without whitespace and e-mail addresses.
  ajv.addFormat("iri-reference", /^\S*$/u);
  ajv.addFormat("idn-email", /^[^\s@]+@[^\s@]+$/u);
  for (const name of ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"]) {
    ajv.addSchema({ ...load(name), $id: `http://cyclonedx.org/schema/${name}` });
  }
  const validate = ajv.compile(load("bom-1.6.SNAPSHOT.schema.json"));
  return (data) => {
    const valid = validate(data) as boolean;
    return { valid, errors: valid ? "" : ajv.errorsText(validate.errors, { separator: "\n" }) };
  };
}
