import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const tree = readFileSync(join(SAMPLES, "pmml/tree.pmml"), "utf8");
const withTransform = (body: string) =>
  tree.replace(
    "\t</DataDictionary>",
    `\t</DataDictionary><TransformationDictionary>${body}</TransformationDictionary>`,
  );

describe("PMML", () => {
  it("a tree model is clean and inventoried", async () => {
    const file = await scanOne(enc.encode(tree), "model.pmml");
    expect(file.format).toBe("pmml");
    expect(file.verdict).toBe("clean");
    expect(file.facts).toMatchObject({
      "pmml.version": "4.4",
      "pmml.models": { TreeModel: 1 },
      modelType: "TreeModel",
    });
  });

  it("Apply of a Java class is java-function; of a DefineFunction or built-in it is not", async () => {
    const apply = (fn: string) =>
      `<DerivedField name="d" optype="continuous" dataType="double"><Apply function="${fn}"><FieldRef field="petal_length"/></Apply></DerivedField>`;
    const custom = await scanOne(enc.encode(withTransform(apply("com.example.MyFunction"))), "m.pmml");
    expect(ruleIds(custom)).toContain("pmml/java-function");
    expect(custom.verdict).toBe("suspicious");
    const danger = await scanOne(enc.encode(withTransform(apply("javax.script.ScriptEngineManager"))), "m.pmml");
    expect(danger.verdict).toBe("malicious");
    const defined = await scanOne(
      enc.encode(
        withTransform(
          `<DefineFunction name="my.fn" optype="continuous"><ParameterField name="a"/><FieldRef field="a"/></DefineFunction>${apply("my.fn")}${apply("log10")}`,
        ),
      ),
      "m.pmml",
    );
    expect(defined.verdict).toBe("clean");
  });

  it("Extensions with code are reported, plain metadata extensions are not", async () => {
    const ext = (body: string) => tree.replace("\t<Header", `${body}\t<Header`);
    const script = await scanOne(
      enc.encode(ext(`<Extension name="post"><![CDATA[import os; os.system("echo x")]]></Extension>`)),
      "m.pmml",
    );
    expect(ruleIds(script)).toContain("pmml/extension");
    const nested = await scanOne(
      enc.encode(ext(`<Extension><X-Hook class="org.acme.hooks.Runner"/></Extension>`)),
      "m.pmml",
    );
    expect(ruleIds(nested)).toContain("pmml/extension");
    const plain = await scanOne(
      enc.encode(
        ext(
          `<Extension name="repr" value="PMMLPipeline(steps=[('tree', DecisionTreeClassifier())])"/><Extension name="version" value="1.2.3"/>`,
        ),
      ),
      "m.pmml",
    );
    expect(plain.verdict).toBe("clean");
  });

  it("broken structure is invalid; a .pmml that is no PMML is claim-unmet", async () => {
    const noDict = tree.replace(/<DataDictionary[\s\S]*<\/DataDictionary>/, "");
    expect((await scanOne(enc.encode(noDict), "m.pmml")).verdict).toBe("invalid");
    const noModel = tree.replace(/<TreeModel[\s\S]*<\/TreeModel>/, "");
    expect(ruleIds(await scanOne(enc.encode(noModel), "m.pmml"))).toContain("pmml/malformed");
    const other = await scanOne(enc.encode("<?xml version='1.0'?><notes/>"), "m.pmml");
    expect(ruleIds(other)).toContain("format/claim-unmet");
    expect(other.verdict).toBe("invalid");
  });
});
