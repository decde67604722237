import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError, JobFailureSchema, TranscodeResultSchema, type SegmentJob, type TranscodeJob } from '@segmint/protocol';
import { storageKeys, parseJobId } from '../../ingest/jobIds.js';
import { acceptUpload, handleResult, jobOrThrow } from '../../results/resultHandler.js';
import type { Pipeline } from '../../pipeline.js';
import type { BookedPaymentReader } from '../../payments/bookedPayment.js';
import { acceptedSegmentType, rawBody } from '../rawBody.js';

const resultValidator = Compile(TranscodeResultSchema);
const failureValidator = Compile(JobFailureSchema);

/**
 * A worker's links for a job: everything under `/transcode/JOB/WORKER`, with a token bound to both,
 * so a worker can act only on the jobs it won, and two workers' uploads never mix.
 */
export function workerJobLinks(p: Pipeline) {
  return (job: SegmentJob, worker: string): Pick<TranscodeJob, 'sourceUrl' | 'resultUrl' | 'token'> => {
    const base = `${p.config.publicUrl}/transcode/${job.jobId}/${worker}`;
    return { sourceUrl: `${base}/source.ts`, resultUrl: base, token: p.tokens.sign(`${job.jobId}/${worker}`) };
  };
}

type JobParams = { Params: { jobId: string; worker: string } };

/** Worker-facing routes: fetch a job's source, upload renditions, report the result or a failure. */
export function transcodeRoutes(p: Pipeline, opts: { maxSegmentBytes: number; bookedPayment?: BookedPaymentReader }): FastifyPluginAsync {
  const authorized = (req: FastifyRequest<JobParams>): { jobId: string; worker: string } => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    const { jobId, worker } = req.params;
    if (!p.tokens.verify(`${jobId}/${worker}`, token)) throw new ApiError('UNAUTHORIZED', 'bad or missing job token');
    return { jobId, worker };
  };
  const jsonBody = <T>(req: FastifyRequest, validator: { Check(v: unknown): boolean; Errors(v: unknown): { instancePath: string; message: string }[] }): T => {
    let body: unknown;
    try {
      body = JSON.parse((req.body as Buffer | undefined)?.toString() ?? '');
    } catch {
      throw new ApiError('VALIDATION_FAILED', 'body must be JSON');
    }
    if (!validator.Check(body)) {
      const first = validator.Errors(body)[0];
      throw new ApiError('VALIDATION_FAILED', `bad body: ${first ? `${first.instancePath} ${first.message}` : 'invalid'}`);
    }
    return body as T;
  };

  return async (app) => {
    rawBody(app, opts.maxSegmentBytes);

    app.get<JobParams>('/transcode/:jobId/:worker/source.ts', async (req, reply) => {
      const { jobId } = authorized(req);
      const id = parseJobId(jobId);
      const obj = id ? await p.storage.read(storageKeys.source(id.streamId, id.session, id.seq)) : null;
      if (!obj) throw new ApiError('NOT_FOUND', 'source segment is gone');
      return reply.header('content-type', 'video/mp2t').header('content-length', obj.size).send(obj.stream);
    });

    // The tickets booked for this worker's accepted result, again (its answer was lost, or it was
    // killed before storing them): 404 while nothing is booked.
    app.get<JobParams>('/transcode/:jobId/:worker/payment', async (req, reply) => {
      const { jobId, worker } = authorized(req);
      const payment = await opts.bookedPayment?.(jobId, worker);
      if (!payment) throw new ApiError('NOT_FOUND', `no payment booked for job ${jobId} and worker ${worker}`);
      return reply.send({ payment });
    });

    app.put<{ Params: { jobId: string; worker: string; file: string } }>('/transcode/:jobId/:worker/:file', async (req, reply) => {
      const { jobId, worker } = authorized(req);
      const m = /^([A-Za-z0-9_-]{1,32})\.ts$/.exec(req.params.file);
      if (!m) throw new ApiError('NOT_FOUND', 'upload to RENDITION.ts');
      if (!acceptedSegmentType(req.headers['content-type'])) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send video/mp2t');
      if (!Buffer.isBuffer(req.body)) throw new ApiError('INVALID_SEGMENT', 'empty body');
      await acceptUpload(p, await jobOrThrow(p, jobId), worker, m[1]!, req.body);
      return reply.status(204).send();
    });

    app.post<JobParams>('/transcode/:jobId/:worker', async (req, reply) => {
      const { jobId, worker } = authorized(req);
      const result = jsonBody<Static<typeof TranscodeResultSchema>>(req, resultValidator);
      // Tickets for an accepted result (or the same ones again for a retried one): see results/stages/.
      return reply.send(await handleResult(p, await jobOrThrow(p, jobId), worker, result));
    });

    app.post<JobParams>('/transcode/:jobId/:worker/failure', async (req, reply) => {
      const { jobId, worker } = authorized(req);
      const { reason } = jsonBody<Static<typeof JobFailureSchema>>(req, failureValidator);
      await p.dispatcher.settle(await jobOrThrow(p, jobId), worker, { outcome: 'failed', reason });
      return reply.status(204).send();
    });
  };
}
