import { SegmintError, type SegmintErrorOptions } from './SegmintError.js';

/**
 * Every error code the HTTP API can answer with, its status and meaning. README lists them
 * all (a test checks), so integrators can branch on `error.code`.
 */
export const API_ERRORS = {
  VALIDATION_FAILED: { status: 400, description: 'The request does not match the route schema.' },
  BAD_SEQUENCE: { status: 400, description: 'Segment sequence number is not an integer in range.' },
  INVALID_PROFILES: { status: 400, description: 'The rendition ladder is inconsistent (duplicate or reserved names).' },
  URL_NOT_ALLOWED: { status: 400, description: 'A URL to fetch from or post to (asset import, webhook) is, or resolves to, a loopback, private, link-local or metadata address.' },
  UNAUTHORIZED: { status: 401, description: 'Missing or invalid API key or job token.' },
  REGISTRATION_FORGED: { status: 401, description: 'A worker registration is not signed by the worker address it names.' },
  EDGE_REGISTRATION_FORGED: { status: 401, description: 'An edge registration is not signed by the edge address it names (for this orchestrator and chain).' },
  NOT_FOUND: { status: 404, description: 'No such route or resource.' },
  STREAM_NOT_FOUND: { status: 404, description: 'No stream with this id or stream key.' },
  SESSION_NOT_FOUND: { status: 404, description: 'No session with this id (for this API key\'s owner).' },
  WEBHOOK_NOT_FOUND: { status: 404, description: 'No webhook with this id (for this API key\'s owner).' },
  API_KEY_NOT_FOUND: { status: 404, description: 'No API key with this id (for this API key\'s owner).' },
  PLAYBACK_NOT_FOUND: { status: 404, description: 'No stream or asset with this playback id.' },
  ASSET_NOT_FOUND: { status: 404, description: 'No asset with this id (for this API key\'s owner).' },
  WEBHOOK_LOG_NOT_FOUND: { status: 404, description: 'No delivery with this id in this webhook\'s log.' },
  TASK_NOT_FOUND: { status: 404, description: 'No task with this id (for this API key\'s owner).' },
  MULTISTREAM_TARGET_NOT_FOUND: { status: 404, description: 'No multistream target with this id (for this API key\'s owner).' },
  SIGNING_KEY_NOT_FOUND: { status: 404, description: 'No signing key with this id (for this API key\'s owner).' },
  PLAYBACK_DENIED: { status: 401, description: 'The stream plays only with a valid playback JWT (missing, expired, for another playback id, or not signed by an enabled signing key).' },
  INSUFFICIENT_TOKENS: { status: 403, description: 'The signed-in wallet holds less of the gating token than the stream requires.' },
  FORBIDDEN: { status: 403, description: 'The API key may not do this (e.g. used from an origin it is not allowed for).' },
  WORKER_NOT_REGISTERED: { status: 404, description: 'The worker is not registered (or its registration expired): register again.' },
  EDGE_NOT_REGISTERED: { status: 404, description: 'The edge is not registered: register again.' },
  EDGE_EXCLUDED: { status: 403, description: 'The edge was proven to serve wrong bytes (or failed the mystery viewer with wrong bytes): it gets no viewers and no payment until its exclusion ends.' },
  EDGE_REGISTRATION_REPLAYED: { status: 409, description: 'An edge registration reuses a nonce (replay): sign a new one with a higher nonce.' },
  FAULT_NOT_PROVEN: { status: 422, description: 'An edge fault report does not prove a fault: no such signed segment, the bytes reported are the signed ones, or the edge signature does not cover the hash reported.' },
  REGISTRATION_REPLAYED: { status: 409, description: 'A worker registration reuses a nonce (replay): sign a new one with a higher nonce.' },
  SEGMENT_CONFLICT: { status: 409, description: 'A different segment with this sequence number was already received.' },
  SEGMENT_TOO_LATE: { status: 409, description: 'Segments after this one were already published.' },
  CLIP_UNAVAILABLE: { status: 422, description: 'Nothing recorded covers the clip\'s range (the stream does not record, or the range is outside the session).' },
  STREAM_SUSPENDED: { status: 403, description: 'The stream is suspended.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'Body exceeds the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'Body content type is not accepted by this route.' },
  INVALID_SEGMENT: { status: 422, description: 'Body is not an MPEG-TS segment with H.264 video.' },
  COMMITMENT_INVALID: { status: 422, description: 'A transcode result\'s commitment is not the signed Merkle root of its renditions.' },
  CHECK_FAILED: { status: 422, description: 'A transcode result failed the orchestrator checks.' },
  FINGERPRINT_MISMATCH: { status: 422, description: 'A transcode result names another encoder fingerprint than the one its worker registered and won the job with.' },
  JOB_NOT_ASSIGNED: { status: 403, description: 'The worker was never handed this job (or it was long ago): only the auction\'s winner may post a result.' },
  TICKET_PARAMS_INVALID: { status: 422, description: 'The ticket parameters offered with a result are not ones this orchestrator signs (recipient, face value, win probability or expiry).' },
  REGISTRATION_RATE_LIMITED: { status: 429, description: 'Too many worker registrations from this IP address or for this worker address; retry after the Retry-After header\'s seconds.' },
  RATE_LIMITED: { status: 429, description: 'Too many API requests with this key; retry after the Retry-After header\'s seconds.' },
  INTERNAL: { status: 500, description: 'Unexpected failure (a bug: please report it).' },
  UNAVAILABLE: { status: 503, description: 'A dependency (Redis, database) is unreachable; retry.' },
  STORAGE_UNAVAILABLE: { status: 503, description: 'The segment store (S3-compatible object store or local disk) is unreachable or refused the request (down, access denied, disk full); retry after the Retry-After header\'s seconds.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error the API turns into `{"error": {"code", "message"}}` with the code's status. */
export class ApiError extends SegmintError {
  override name = 'ApiError';
  declare readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string, options: Omit<SegmintErrorOptions, 'status'> = {}) {
    super(code, message, { ...options, status: API_ERRORS[code].status });
  }
}
