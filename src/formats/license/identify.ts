/**
 * Licences as a model repository states them: the model card's `license:` (Hugging Face slugs
 * such as `apache-2.0`, `cc-by-nc-4.0`, `llama3`, `other` with `license_name`), `LICENSE*` and
 * `COPYING*` files recognised by their opening words, and `license` fields of configs. Ids are
 * normalised to SPDX where the slug names an SPDX licence unambiguously; the rest keep their slug.
 * @module
 */

/** Hugging Face licence slugs that name one SPDX licence. */
const SPDX_BY_SLUG: Readonly<Record<string, string>> = {
  "apache-2.0": "Apache-2.0",
  mit: "MIT",
  "bsd-2-clause": "BSD-2-Clause",
  "bsd-3-clause": "BSD-3-Clause",
  "bsd-3-clause-clear": "BSD-3-Clause-Clear",
  "cc0-1.0": "CC0-1.0",
  "cc-by-2.0": "CC-BY-2.0",
  "cc-by-3.0": "CC-BY-3.0",
  "cc-by-4.0": "CC-BY-4.0",
  "cc-by-sa-3.0": "CC-BY-SA-3.0",
  "cc-by-sa-4.0": "CC-BY-SA-4.0",
  "cc-by-nc-2.0": "CC-BY-NC-2.0",
  "cc-by-nc-3.0": "CC-BY-NC-3.0",
  "cc-by-nc-4.0": "CC-BY-NC-4.0",
  "cc-by-nd-4.0": "CC-BY-ND-4.0",
  "cc-by-nc-nd-3.0": "CC-BY-NC-ND-3.0",
  "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
  "cc-by-nc-sa-2.0": "CC-BY-NC-SA-2.0",
  "cc-by-nc-sa-3.0": "CC-BY-NC-SA-3.0",
  "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0",
  "mpl-2.0": "MPL-2.0",
  "gpl-2.0": "GPL-2.0-only",
  "gpl-3.0": "GPL-3.0-only",
  "lgpl-2.1": "LGPL-2.1-only",
  "lgpl-3.0": "LGPL-3.0-only",
  "agpl-3.0": "AGPL-3.0-only",
  "afl-3.0": "AFL-3.0",
  "artistic-2.0": "Artistic-2.0",
  "bsl-1.0": "BSL-1.0",
  "epl-2.0": "EPL-2.0",
  "ecl-2.0": "ECL-2.0",
  "osl-3.0": "OSL-3.0",
  "odbl-1.0": "ODbL-1.0",
  "odc-by-1.0": "ODC-By-1.0",
  "pddl-1.0": "PDDL-1.0",
  wtfpl: "WTFPL",
  zlib: "Zlib",
  unlicense: "Unlicense",
  "openrail++": "openrail++",
};

/** Opening words of common licence texts, and the licence they identify. */
const TEXTS: readonly (readonly [RegExp, string])[] = [
  [/Apache License\s+Version 2\.0/i, "Apache-2.0"],
  [/^\s*MIT License|Permission is hereby granted, free of charge, to any person obtaining a copy/im, "MIT"],
  [/GNU AFFERO GENERAL PUBLIC LICENSE\s+Version 3/i, "AGPL-3.0-only"],
  [/GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3/i, "LGPL-3.0-only"],
  [/GNU GENERAL PUBLIC LICENSE\s+Version 3/i, "GPL-3.0-only"],
  [/GNU GENERAL PUBLIC LICENSE\s+Version 2/i, "GPL-2.0-only"],
  [/Mozilla Public License,? (?:Version|v\.) 2\.0/i, "MPL-2.0"],
  [/Attribution-NonCommercial-ShareAlike 4\.0 International/i, "CC-BY-NC-SA-4.0"],
  [/Attribution-NonCommercial-NoDerivatives 4\.0 International/i, "CC-BY-NC-ND-4.0"],
  [/Attribution-NonCommercial 4\.0 International/i, "CC-BY-NC-4.0"],
  [/Attribution-ShareAlike 4\.0 International/i, "CC-BY-SA-4.0"],
  [/Creative Commons Attribution 4\.0 International|Attribution 4\.0 International/i, "CC-BY-4.0"],
  [/CC0 1\.0 Universal/i, "CC0-1.0"],
  [/LLAMA 2 COMMUNITY LICENSE AGREEMENT/i, "llama2"],
  [/(?:META )?LLAMA 3(?:\.\d)? COMMUNITY LICENSE AGREEMENT/i, "llama3"],
  [/Gemma Terms of Use/i, "gemma"],
  [/CreativeML Open RAIL-M/i, "creativeml-openrail-m"],
  [/Open RAIL-?M/i, "openrail"],
  [/Redistribution and use in source and binary forms, with or without modification/i, "BSD-3-Clause"],
];

/**
 * The licence id a model card or config states, normalised (lowercase slug, or its SPDX id).
 * @param value - the stated value (`apache-2.0`, `Apache-2.0`, `other`)
 */
export function normaliseLicense(value: string): string {
  const slug = value.trim().toLowerCase();
  return SPDX_BY_SLUG[slug] ?? Object.values(SPDX_BY_SLUG).find((id) => id.toLowerCase() === slug) ?? slug;
}

/** Whether an id is an SPDX licence id (as opposed to a Hugging Face slug such as `llama3`). */
export function isSpdxId(id: string): boolean {
  return Object.values(SPDX_BY_SLUG).includes(id) && id !== "openrail++";
}

/**
 * The licence a licence file's text states, from its opening words (first 8 KiB).
 * @param text - the file's text
 */
export function identifyLicenseText(text: string): string | undefined {
  const head = text.slice(0, 8192);
  for (const [pattern, id] of TEXTS) if (pattern.test(head)) return id;
  return undefined;
}

/** The YAML front matter of a model card (between the opening `---` and the next `---`). */
export function frontMatter(card: string): string | undefined {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(card.slice(0, 256 * 1024));
  return m?.[1];
}
