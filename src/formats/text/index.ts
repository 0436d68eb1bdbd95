/**
 * The text module: recognises text content (JSON, Python, notebooks, shell scripts, plain text;
 * Jinja, Sigstore bundles, YAML and MLflow's `MLmodel` are declared by their own modules) and the
 * extensions that hint at each. The Hugging Face module analyses what can run.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { detectText } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    json: true;
    python: true;
    notebook: true;
    shell: true;
    text: true;
  }
}

/** Text formats. */
export const textModule = {
  name: "text",
  formats: [
    {
      id: "json",
      description: "JSON text",
      textual: true,
      inert: true,
      hintExtensions: ["json", "txt", "md", "ipynb"],
    },
    { id: "python", description: "Python source", textual: true, hintExtensions: ["py", "txt", "md"] },
    { id: "notebook", description: "Jupyter notebook", textual: true, hintExtensions: ["json", "ipynb"] },
    { id: "shell", description: "shell script", textual: true, hintExtensions: ["txt", "md"] },
    { id: "text", description: "UTF-8 text", textual: true, inert: true, hintExtensions: ["txt", "md", "jinja", "py"] },
  ],
  detectors: [{ rank: 190, detect: detectText }],
} as const satisfies FormatModule;
