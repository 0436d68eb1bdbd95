import { describe, expect, it } from "vitest";
import { scanOne } from "../../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("library functions that resolve or execute names from the data", () => {
  it.each([
    // getattr(estimator, <name from the data>)(...): a resolver
    ["sklearn.metrics._scorer", "_cached_call"],
    ["sklearn.metrics._plot.base", "_check_classifier_response_method"],
    // every function of torch.fx.graph_module builds or execs code (_exec_with_source among them)
    ["torch.fx.graph_module", "_exec_with_source"],
  ])("%s.%s is critical", async (module, name) => {
    const file = await scanOne(latin1(`c${module}\n${name}\n(NS'x'\ntR.`), "m.pkl");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.some((f) => f.severity === "critical")).toBe(true);
  });
});
