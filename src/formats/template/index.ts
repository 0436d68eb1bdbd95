/**
 * The template module: Jinja chat templates (files, and templates found in configs, GGUF
 * metadata and safetensors metadata), analysed without rendering.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { templateRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    jinja: true;
  }
}

/** Jinja templates. */
export const templateModule = {
  name: "template",
  formats: [{ id: "jinja", description: "Jinja template", textual: true, hintExtensions: ["jinja", "txt", "md"] }],
  analyzers: [lazyAnalyzer("jinja", ["jinja"], async () => (await import("./analyzer.js")).jinjaAnalyzer)],
  rules: templateRules,
} as const satisfies FormatModule;
