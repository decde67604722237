import { Type, type TSchema } from 'typebox';
import { API_ERRORS, type ApiErrorCode } from '@segmint/protocol';

/** The body of every error answer. */
export const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

/**
 * Error responses of a route for OpenAPI, by code: `...errorResponses('STREAM_NOT_FOUND')` adds
 * 404 with ErrorSchema. 400 (schema) and 401 (key) are added for every API route.
 */
export function errorResponses(...codes: ApiErrorCode[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = { 400: ErrorSchema, 401: ErrorSchema };
  for (const c of codes) out[API_ERRORS[c].status] = ErrorSchema;
  return out;
}

/** `:id` path parameter (UUIDs; anything else is simply not found). */
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** 204 No Content. */
export const NoContent = Type.Null({ description: 'No Content' });
