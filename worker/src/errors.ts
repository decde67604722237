import { SegmintError } from '@segmint/protocol';

export { TranscodeError } from '@segmint/media';

/** The orchestrator could not be reached or answered 5xx. Retryable. */
export class OrchestratorUnavailableError extends SegmintError {
  override name = 'OrchestratorUnavailableError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ORCHESTRATOR_UNAVAILABLE', message, { ...options, retryable: true });
  }
}

/**
 * The orchestrator refused the work: retryable when it rejected our output (a check failed: try
 * again), fatal when the job itself is gone (stream deleted, token refused).
 */
export class ResultRejectedError extends SegmintError {
  override name = 'ResultRejectedError';
  constructor(code: string, message: string, retryable: boolean) {
    super(code, message, { retryable });
  }
}
