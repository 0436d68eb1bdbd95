/**
 * The OpenAPI 3.1 description of the scan service, served at `/v1/openapi.json` and committed as
 * `docs/openapi.json` (a test keeps them equal).
 * @module
 */
import { TOOL_VERSION } from "../core/version.js";

const error = {
  description: "An error: `{error: {code, message}}`.",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
};
const accepted = {
  description: "Queued (or the same scan already queued, running or kept: `duplicate: true`).",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Accepted" } } },
};
const optionProps = {
  verify: {
    type: "string",
    enum: ["read", "full"],
    description:
      "Remote targets: verify files read whole, or read every file whole (default: full for OCI registries, read for the Hub, S3 and URLs).",
  },
  hash: { type: "boolean", description: "Compute each file's SHA-256 (default true; the verdict cache needs it)." },
  timeoutSeconds: {
    type: "integer",
    minimum: 1,
    maximum: 86400,
    description: "Whole-scan deadline, clamped to the server's cap.",
  },
  concurrency: {
    type: "integer",
    minimum: 1,
    maximum: 1024,
    description: "Files analysed at once, clamped to the server's cap.",
  },
};

/** The document. */
export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "modelgate scan service",
    version: TOOL_VERSION,
    description:
      "Queue scans of model artifacts (local paths under the served roots, hf://, https://, s3://, oci:// targets, or uploaded files) and fetch their reports. Every route but /healthz and /v1/openapi.json needs `Authorization: Bearer <token>`.",
  },
  security: [{ bearer: [] }],
  paths: {
    "/v1/scans": {
      post: {
        operationId: "submitScan",
        summary: "Queue a scan",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/ScanRequest" } } },
        },
        responses: {
          "202": accepted,
          "400": error,
          "401": error,
          "403": error,
          "404": error,
          "413": error,
          "415": error,
          "429": error,
        },
      },
    },
    "/v1/scans/upload": {
      post: {
        operationId: "uploadScan",
        summary: "Upload one file and queue its scan",
        description:
          "The body is the file (application/octet-stream), streamed to a private temporary file (removed once scanned). The server's policy applies.",
        parameters: [
          {
            name: "name",
            in: "query",
            schema: { type: "string" },
            description: "File name shown in the report (sanitised).",
          },
          { name: "hash", in: "query", schema: { type: "boolean" } },
          { name: "timeoutSeconds", in: "query", schema: optionProps.timeoutSeconds },
          { name: "concurrency", in: "query", schema: optionProps.concurrency },
        ],
        requestBody: {
          required: true,
          content: {
            "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } },
          },
        },
        responses: {
          "202": accepted,
          "400": error,
          "401": error,
          "413": error,
          "415": error,
          "429": error,
          "501": error,
        },
      },
    },
    "/v1/scans/{id}": {
      get: {
        operationId: "getScan",
        summary: "A scan's state, progress and, once completed, its report",
        parameters: [
          { name: "id", in: "path", required: true, schema: { type: "string" } },
          {
            name: "format",
            in: "query",
            schema: { type: "string", enum: ["json", "sarif", "cyclonedx"], default: "json" },
            description: "Report format: modelgate JSON report, SARIF 2.1.0 or CycloneDX 1.6.",
          },
        ],
        responses: {
          "200": {
            description: "The job; `report` is present once `state` is `completed`.",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Job" } } },
          },
          "400": error,
          "401": error,
          "404": error,
          "429": error,
        },
      },
    },
    "/healthz": {
      get: {
        operationId: "health",
        security: [],
        summary: "Liveness: 200 when the queue is reachable",
        responses: {
          "200": {
            description: "Healthy",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } },
          },
          "503": {
            description: "The queue is unreachable",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } },
          },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        summary: "Prometheus text exposition",
        responses: {
          "200": { description: "Metrics", content: { "text/plain": { schema: { type: "string" } } } },
          "401": error,
        },
      },
    },
    "/v1/openapi.json": {
      get: {
        operationId: "openapi",
        security: [],
        summary: "This document",
        responses: {
          "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } },
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: {
      ScanRequest: {
        type: "object",
        additionalProperties: false,
        required: ["target"],
        properties: {
          target: {
            type: "string",
            maxLength: 4096,
            description:
              "A path under a served root (absolute, or relative to the first root), or a remote target under a prefix the server allows (serve --allow-remote; default hf:// only): hf://, https://, s3:// or oci://.",
          },
          policy: {
            type: "object",
            description:
              "An inline policy (the policy file format, without `limits`) that replaces the server's; refused (403 POLICY_NOT_ALLOWED) unless the server runs with --request-policies.",
          },
          options: { type: "object", additionalProperties: false, properties: optionProps },
        },
      },
      Accepted: {
        type: "object",
        required: ["id", "duplicate"],
        properties: { id: { type: "string" }, duplicate: { type: "boolean" } },
      },
      Progress: {
        type: "object",
        required: ["filesTotal", "filesDone", "bytesDone", "path"],
        properties: {
          filesTotal: { type: "integer" },
          filesDone: { type: "integer" },
          bytesDone: { type: "integer" },
          path: { type: "string" },
        },
      },
      Job: {
        type: "object",
        required: ["id", "state", "progress", "attempts", "target", "submittedAt"],
        properties: {
          id: { type: "string" },
          state: { type: "string", enum: ["queued", "running", "completed", "failed"] },
          progress: { $ref: "#/components/schemas/Progress" },
          attempts: { type: "integer" },
          target: { type: "string" },
          submittedAt: { type: "string", format: "date-time" },
          finishedAt: { type: "string", format: "date-time" },
          verdict: { type: "string", enum: ["clean", "suspicious", "malicious", "invalid"] },
          error: {
            type: "object",
            required: ["code", "message"],
            properties: { code: { type: "string" }, message: { type: "string" } },
          },
          format: { type: "string", enum: ["json", "sarif", "cyclonedx"] },
          report: {
            type: "object",
            description: "The report in the requested format (schema/report-v1.schema.json for json).",
          },
        },
      },
      Health: {
        type: "object",
        required: ["status", "version"],
        properties: { status: { type: "string", enum: ["ok", "unavailable"] }, version: { type: "string" } },
      },
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: {
                type: "string",
                enum: [
                  "UNAUTHORIZED",
                  "BAD_REQUEST",
                  "INVALID_TARGET",
                  "PATH_OUTSIDE_ROOT",
                  "PATH_NOT_FOUND",
                  "INVALID_POLICY",
                  "POLICY_NOT_ALLOWED",
                  "REMOTE_NOT_ALLOWED",
                  "NOT_FOUND",
                  "NOT_READY",
                  "PAYLOAD_TOO_LARGE",
                  "UNSUPPORTED_MEDIA_TYPE",
                  "RATE_LIMITED",
                  "UPLOAD_UNAVAILABLE",
                  "UNAVAILABLE",
                  "INTERNAL",
                ],
              },
              message: { type: "string" },
            },
          },
        },
      },
    },
  },
} as const;
