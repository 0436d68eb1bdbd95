/**
 * The template module: Jinja chat templates (files, and templates found in configs, GGUF
 * metadata and safetensors metadata), analysed without rendering.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    jinja: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "templateRules");

/** Jinja templates. */
export const templateModule = {
  name: "template",
  formats: [{ id: "jinja", description: "Jinja template", textual: true, hintExtensions: ["jinja", "txt", "md"] }],
  analyzers: [lazyAnalyzer("jinja", ["jinja"], async () => (await import("./analyzer.js")).jinjaAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
