import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { TRANSCODE_QUEUE, type TranscodeJob, type TranscodeResult } from '@segmint/protocol';
import { OrchestratorUnavailableError, ResultRejectedError } from '../errors.js';
import { encoderFingerprint, transcodeSegment } from '../transcoder/transcode.js';

export type JobRunnerOptions = {
  connection: ConnectionOptions;
  prefix: string;
  /** Segments transcoded side by side (default: CPU cores). */
  concurrency?: number;
  workerId?: string;
  logger: Logger;
  /** Scratch space for sources and renditions (cleaned per job). */
  workDir?: string;
};

/** Calls the orchestrator; turns its answers into retryable or fatal errors for BullMQ. */
async function call(url: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
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
  // 422: our output failed a check (try again); 401/404: the job is gone or not ours (give up).
  throw new ResultRejectedError(code, message, res.status === 422 || res.status === 409);
}

/**
 * The worker's job loop: take a segment job, fetch the source, run the ladder in one ffmpeg
 * process, upload every rendition, report the facts. Fatal errors end the job at once
 * (UnrecoverableError); retryable ones go back to BullMQ for another attempt.
 */
export function startJobRunner(opts: JobRunnerOptions): Worker<TranscodeJob, TranscodeResult> {
  const workerId = opts.workerId ?? `${hostname()}-${process.pid}`;
  const root = opts.workDir ?? tmpdir();

  const process_ = async (job: Job<TranscodeJob>): Promise<TranscodeResult> => {
    const data = job.data;
    const log = opts.logger.child({ jobId: data.jobId, seq: data.seq, attempt: job.attemptsMade + 1 });
    await mkdir(root, { recursive: true });
    const dir = await mkdtemp(join(root, 'segmint-job-'));
    const auth = { authorization: `Bearer ${data.token}` };
    const t0 = performance.now();
    const lap = (() => {
      let last = t0;
      return () => {
        const now = performance.now();
        const ms = Math.round(now - last);
        last = now;
        return ms;
      };
    })();
    try {
      const queuedMs = Date.now() - job.timestamp;
      // The source streams into ffmpeg as it downloads: decoding starts with the first bytes.
      const src = await call(data.sourceUrl, { headers: auth });
      if (!src.body) throw new OrchestratorUnavailableError('source response has no body');
      const fetchMs = lap();
      const input = Readable.fromWeb(src.body as import('node:stream/web').ReadableStream);
      const { renditions, transcodeMs } = await transcodeSegment({ input, source: data.source, profiles: data.profiles, outDir: dir });
      const transcodeAndFactsMs = lap();
      await Promise.all(
        renditions.map((r) =>
          call(`${data.resultUrl}/${r.name}.ts`, {
            method: 'PUT',
            headers: { ...auth, 'content-type': 'video/mp2t' },
            body: new Uint8Array(r.data.buffer as ArrayBuffer, r.data.byteOffset, r.data.length),
          }),
        ),
      );
      const result: TranscodeResult = {
        renditions: renditions.map(({ path: _path, data: _data, ...facts }) => facts),
        encoderFingerprint: await encoderFingerprint(),
        workerId,
        transcodeMs: Math.round(transcodeMs),
      };
      const uploadMs = lap();
      await call(data.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(result) });
      log.debug(
        { queuedMs, fetchMs, ffmpegMs: result.transcodeMs, factsMs: transcodeAndFactsMs - result.transcodeMs, uploadMs, resultMs: lap() },
        'segment done',
      );
      return result;
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable ?? true;
      log.warn({ err, retryable }, 'segment failed');
      if (!retryable) throw new UnrecoverableError((err as Error).message);
      throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  return new Worker<TranscodeJob, TranscodeResult>(TRANSCODE_QUEUE, process_, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? Math.max(1, cpus().length),
    // A live segment is worthless after seconds: find a dead worker's jobs quickly.
    lockDuration: 10_000,
    stalledInterval: 5_000,
  });
}
