/**
 * Errors the service answers with: a stable code, an HTTP status and a message.
 * @module
 */

/** Stable error codes of the HTTP API. */
export type ServiceErrorCode =
  | "UNAUTHORIZED"
  | "BAD_REQUEST"
  | "INVALID_TARGET"
  | "PATH_OUTSIDE_ROOT"
  | "PATH_NOT_FOUND"
  | "INVALID_POLICY"
  | "POLICY_NOT_ALLOWED"
  | "REMOTE_NOT_ALLOWED"
  | "NOT_FOUND"
  | "NOT_READY"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "UPLOAD_UNAVAILABLE"
  | "UNAVAILABLE"
  | "INTERNAL";

/** HTTP status of each code. */
export const SERVICE_ERROR_STATUS: { readonly [C in ServiceErrorCode]: number } = Object.freeze({
  UNAUTHORIZED: 401,
  BAD_REQUEST: 400,
  INVALID_TARGET: 400,
  PATH_OUTSIDE_ROOT: 403,
  PATH_NOT_FOUND: 404,
  INVALID_POLICY: 400,
  POLICY_NOT_ALLOWED: 403,
  REMOTE_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  NOT_READY: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UPLOAD_UNAVAILABLE: 501,
  UNAVAILABLE: 503,
  INTERNAL: 500,
});

/** An error the API answers with `{error: {code, message}}` and its status. */
export class ServiceError extends Error {
  /** Stable code. */
  readonly code: ServiceErrorCode;
  /** HTTP status. */
  readonly status: number;

  /**
   * @param code - stable code
   * @param message - what went wrong (never the content of a file)
   */
  constructor(code: ServiceErrorCode, message: string) {
    super(message);
    this.name = "ServiceError";
    this.code = code;
    this.status = SERVICE_ERROR_STATUS[code];
  }
}
