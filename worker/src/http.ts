import { OrchestratorUnavailableError, ResultRejectedError } from './errors.js';

/**
 * Calls the orchestrator; turns its answers into errors: unreachable or 5xx → retryable
 * OrchestratorUnavailableError, 4xx → ResultRejectedError carrying the API's error code.
 */
export async function call(url: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new OrchestratorUnavailableError(`cannot reach the orchestrator at ${new URL(url).origin}`, { cause: err });
  }
  if (res.ok) return res;
  const text = await res.text();
  let code = `HTTP_${res.status}`;
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    /* not JSON */
  }
  if (res.status >= 500) throw new OrchestratorUnavailableError(`orchestrator answered ${res.status}: ${message}`);
  throw new ResultRejectedError(code, message, res.status === 409 || res.status === 422);
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
