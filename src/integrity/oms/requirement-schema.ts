/**
 * The zod schema of the signature result a requirement is checked against (`requirement.ts`). The
 * check itself reads results with a plain reader that accepts exactly what this schema accepts (a
 * test compares the two), so a scan that requires no signature loads no zod.
 * @module
 */
import { z } from "zod";
import { SIGNATURE_STATUSES } from "./requirement.js";

/**
 * The fields of the report's `signature` result this check relies on. Extra fields are allowed.
 * `keyFingerprint` is the SHA-256 (hex) of the verifying key's DER SubjectPublicKeyInfo.
 */
export const SignatureResultSchema = z.looseObject({
  status: z.enum(SIGNATURE_STATUSES),
  method: z.string().optional(),
  identity: z.string().optional(),
  issuer: z.string().optional(),
  keyFingerprint: z.string().optional(),
  path: z.string().optional(),
  message: z.string().optional(),
  /** The model root the result is for, relative to the scanned directory (`.` or absent: the directory itself). */
  model: z.string().optional(),
  /** How much of the scanned directory verified signatures cover (set by scans). */
  coverage: z
    .looseObject({
      complete: z.boolean(),
      uncoveredCount: z.number().optional(),
      uncovered: z.array(z.string()).optional(),
    })
    .optional(),
});
