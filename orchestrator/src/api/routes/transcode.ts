import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError, TranscodeResultSchema, type TranscodeJob } from '@segmint/protocol';
import { storageKeys, parseJobId } from '../../ingest/jobIds.js';
import { acceptUpload, handleResult, jobOrThrow } from '../../results/resultHandler.js';
import type { Pipeline } from '../../pipeline.js';
import { acceptedSegmentType, rawBody } from '../rawBody.js';

const resultValidator = Compile(TranscodeResultSchema);

/** Worker-facing routes: fetch a job's source, upload its renditions, report the result. */
export function transcodeRoutes(p: Pipeline, opts: { maxSegmentBytes: number }): FastifyPluginAsync {
  const authorize = async (req: FastifyRequest<{ Params: { jobId: string } }>): Promise<TranscodeJob> => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!p.tokens.verify(req.params.jobId, token)) throw new ApiError('UNAUTHORIZED', 'bad or missing job token');
    return jobOrThrow(p, req.params.jobId);
  };

  return async (app) => {
    rawBody(app, opts.maxSegmentBytes);

    app.get<{ Params: { jobId: string } }>('/transcode/:jobId/source.ts', async (req, reply) => {
      const header = req.headers.authorization ?? '';
      if (!p.tokens.verify(req.params.jobId, header.startsWith('Bearer ') ? header.slice(7) : undefined)) {
        throw new ApiError('UNAUTHORIZED', 'bad or missing job token');
      }
      const id = parseJobId(req.params.jobId);
      const obj = id ? await p.storage.read(storageKeys.source(id.streamId, id.session, id.seq)) : null;
      if (!obj) throw new ApiError('NOT_FOUND', 'source segment is gone');
      return reply.header('content-type', 'video/mp2t').header('content-length', obj.size).send(obj.stream);
    });

    app.put<{ Params: { jobId: string; file: string } }>('/transcode/:jobId/:file', async (req, reply) => {
      const job = await authorize(req);
      const m = /^([A-Za-z0-9_-]{1,32})\.ts$/.exec(req.params.file);
      if (!m) throw new ApiError('NOT_FOUND', 'upload to RENDITION.ts');
      if (!acceptedSegmentType(req.headers['content-type'])) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send video/mp2t');
      if (!Buffer.isBuffer(req.body)) throw new ApiError('INVALID_SEGMENT', 'empty body');
      await acceptUpload(p, job, m[1]!, req.body);
      return reply.status(204).send();
    });

    app.post<{ Params: { jobId: string } }>('/transcode/:jobId', async (req, reply) => {
      const job = await authorize(req);
      let body: unknown;
      try {
        body = JSON.parse((req.body as Buffer | undefined)?.toString() ?? '');
      } catch {
        throw new ApiError('VALIDATION_FAILED', 'result must be JSON');
      }
      if (!resultValidator.Check(body)) {
        const first = resultValidator.Errors(body)[0];
        throw new ApiError('VALIDATION_FAILED', `bad result: ${first ? `${first.instancePath} ${first.message}` : 'invalid'}`);
      }
      return reply.send(await handleResult(p, job, body as Static<typeof TranscodeResultSchema>));
    });
  };
}
