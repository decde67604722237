import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { commitmentEntries, seededJobDraw, workerQueueName, type ResultResponse, type TranscodeJob, type TranscodeResult } from '@segmint/protocol';
import { OrchestratorUnavailableError } from '../errors.js';
import { call, postJson } from '../http.js';
import { encoderFingerprint, transcodeSegment, type H264Encoder } from '@segmint/media';
import { TicketRejectedError, type TicketReceiver } from '../payments/ticketReceiver.js';
import { startPaymentRecovery, type PaymentRecoveryReceiver } from '../payments/recoverPayments.js';

/**
 * A result is posted again (network error, timeout, 5xx) until its hard deadline: the job's
 * deadline plus this grace. The orchestrator keeps a job (and re-acknowledges the accepted
 * worker's retried POST with the same tickets) for an hour, well past it.
 */
export const RESULT_GRACE_MS = 60_000;

export type JobRunnerOptions = {
  connection: ConnectionOptions;
  prefix: string;
  /** The worker's address: it takes jobs from its own queue, the ones it won at auction. */
  address: string;
  /** Segments transcoded side by side (default: CPU cores). */
  concurrency?: number;
  workerId?: string;
  logger: Logger;
  /** Scratch space for sources and renditions (cleaned per job). */
  workDir?: string;
  /** Signs the worker's commitment to a job's renditions (MarketplaceClient.commit). */
  commit(jobId: string, renditions: { name: string; sha256: string }[]): Promise<{ root: string; signature: string }>;
  /** H.264 encoder for every rendition (default libx264, the verifiable profile). */
  encoder?: H264Encoder;
  /** Test-only: a cheater. `rate` of its segments get a first rendition at `bitrate` × the asked bitrate (default 0.7); `seed` makes the choice a function of the job id. */
  cheat?: { rate: number; bitrate?: number; seed?: string };
  /** The encoder fingerprint sent with results (default: encoderFingerprint(encoder)). */
  fingerprint?: string;
  /** Test-only: sleep this long before each segment (a slow worker, for failover tests). */
  delayMs?: number;
  /**
   * Asks to be paid in tickets with each result, and checks and stores them before the job
   * completes; results posted and not yet paid are journaled, and asked for again after a crash.
   */
  payments?: Pick<TicketReceiver, 'offer' | 'receive' | 'posting'> & PaymentRecoveryReceiver;
  /** Test only (default: SEGMINT_WORKER_TEST_CRASH_AFTER_RESULT=1): kill -9 itself once a result's payment is answered, before storing it. */
  testCrashAfterResult?: boolean;
};

/** Test only: a cheater saves work on the first rendition; every check but a re-transcode passes. */
export function cheated(profiles: TranscodeJob['profiles'], jobId: string, cheat?: JobRunnerOptions['cheat']): TranscodeJob['profiles'] {
  if (!cheat || cheat.rate <= 0) return profiles;
  const draw = cheat.seed ? seededJobDraw(cheat.seed, jobId) : Math.random();
  if (draw >= cheat.rate) return profiles;
  return profiles.map((x, i) => (i === 0 ? { ...x, bitrate: Math.max(1000, Math.round(x.bitrate * (cheat.bitrate ?? 0.7))) } : x));
}

/**
 * The worker's job loop: take a segment job it won, fetch the source, run the ladder in one ffmpeg
 * process, upload every rendition, report the facts. On failure it tells the orchestrator at once
 * (so the segment is re-auctioned without waiting for the deadline); there are no BullMQ retries:
 * failover to another worker is the marketplace's job.
 */
export function startJobRunner(opts: JobRunnerOptions): Worker<TranscodeJob, TranscodeResult> {
  const workerId = opts.workerId ?? `${hostname()}-${process.pid}`;
  const root = opts.workDir ?? tmpdir();
  const crashAfterResult = opts.testCrashAfterResult ?? process.env.SEGMINT_WORKER_TEST_CRASH_AFTER_RESULT === '1';
  // Results posted before a crash (or whose answer never came) get their tickets asked for again.
  const recovery = opts.payments ? startPaymentRecovery({ receiver: opts.payments, logger: opts.logger }) : null;

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
      // Past its deadline the segment may be re-auctioned, but it is still done: the first valid
      // result wins, and with no other worker free a late result beats none.
      if (Date.now() > data.deadline) log.debug({ lateMs: Date.now() - data.deadline }, 'starting after the deadline');
      const queuedMs = Date.now() - job.timestamp;
      // Test only: a slow machine (its late result must be dropped or win fairly, never publish twice).
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      // The source streams into ffmpeg as it downloads: decoding starts with the first bytes.
      const src = await call(data.sourceUrl, { headers: auth });
      if (!src.body) throw new OrchestratorUnavailableError('source response has no body');
      const fetchMs = lap();
      const input = Readable.fromWeb(src.body as import('node:stream/web').ReadableStream);
      const { renditions, transcodeMs } = await transcodeSegment({ input, source: data.source, profiles: cheated(data.profiles, data.jobId, opts.cheat), outDir: dir, encoder: opts.encoder });
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
      const fingerprint = opts.fingerprint ?? (await encoderFingerprint(opts.encoder));
      const result: TranscodeResult = {
        renditions: renditions.map(({ path: _path, data: _data, ...facts }) => facts),
        encoderFingerprint: fingerprint,
        workerId,
        transcodeMs: Math.round(transcodeMs),
        // Signed over video and audio hashes and the fingerprint: none can change after the fact.
        commitment: await opts.commit(data.jobId, commitmentEntries(renditions, fingerprint)),
        ...(opts.payments ? { ticketParams: await opts.payments.offer(data.jobId) } : {}),
      };
      const uploadMs = lap();
      const hardDeadline = data.deadline + RESULT_GRACE_MS;
      await opts.payments?.posting({ jobId: data.jobId, resultUrl: data.resultUrl, token: data.token, hardDeadline });
      const answer = await postResult(data.resultUrl, result, auth, hardDeadline, log);
      if (crashAfterResult && answer.payment) process.kill(process.pid, 'SIGKILL');
      // Winning tickets are on disk (fsync'd) before this job completes: completing it is the ack.
      if (opts.payments) {
        const paid = await opts.payments.receive(data.jobId, answer.payment);
        if (paid.tickets > 0) log.debug({ ...paid, credit: answer.payment?.credit }, 'paid');
      }
      log.debug(
        { queuedMs, fetchMs, ffmpegMs: result.transcodeMs, factsMs: transcodeAndFactsMs - result.transcodeMs, uploadMs, resultMs: lap() },
        'segment done',
      );
      return result;
    } catch (err) {
      const message = (err as Error).message;
      log.warn({ err }, 'segment failed');
      // Posted but not stored (no answer, or the tickets could not be checked yet): maybe booked
      // all the same, so its payment is asked for in the background (a 404 ends that).
      const unpaid = opts.payments?.unpaid().find((e) => e.jobId === data.jobId);
      if (unpaid) recovery?.add(unpaid);
      // CHECK_FAILED: the orchestrator already knows. Otherwise tell it, so it re-auctions now.
      // A refused ticket batch: the result itself was accepted, so there is nothing to re-auction.
      if ((err as { code?: string }).code !== 'CHECK_FAILED' && !(err instanceof TicketRejectedError)) {
        await postJson(`${data.resultUrl}/failure`, { reason: message.slice(0, 2000) }, auth).catch((e) =>
          log.warn({ err: (e as Error).message }, 'could not report the failure (the deadline will catch it)'),
        );
      }
      throw new UnrecoverableError(message);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const worker = new Worker<TranscodeJob, TranscodeResult>(workerQueueName(opts.address), process_, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? Math.max(1, cpus().length),
    // A dead worker's jobs are re-auctioned by their deadline; BullMQ's stalled check is a backstop.
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: 0,
  });
  worker.on('closing', () => recovery?.stop());
  // A connection handed over as a client (a Redis Cluster's) is not BullMQ's to close: ours.
  const given = opts.connection;
  if (typeof (given as { disconnect?: unknown }).disconnect === 'function') worker.on('closed', () => (given as { disconnect(): void }).disconnect());
  return worker;
}

/**
 * Posts a result, again with backoff on a retryable failure (unreachable, timeout, 5xx, a cut
 * answer) until `hardDeadline`: the orchestrator answers a retry from the accepted worker with
 * the same tickets, so a lost answer costs nothing. At least one attempt, however late.
 */
async function postResult(url: string, result: TranscodeResult, auth: Record<string, string>, hardDeadline: number, log: Logger): Promise<ResultResponse> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      const res = await postJson(url, result, auth);
      try {
        return (await res.json()) as ResultResponse;
      } catch (err) {
        throw new OrchestratorUnavailableError('the answer to a result was cut off', { cause: err });
      }
    } catch (err) {
      if (!(err as { retryable?: boolean }).retryable || !(err instanceof OrchestratorUnavailableError) || Date.now() + delay > hardDeadline) throw err;
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'posting the result failed; retrying');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
