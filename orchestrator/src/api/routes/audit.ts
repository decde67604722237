import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError, RenditionResultSchema } from '@segmint/protocol';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { Pipeline } from '../../pipeline.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { errorResponses } from '../schemas.js';

const Hex = Type.String({ pattern: '^0x[0-9a-fA-F]*$' });

export const AuditSchema = Type.Object({
  jobId: Type.String(),
  streamId: Type.String(),
  session: Type.Integer(),
  seq: Type.Integer(),
  worker: Type.String({ description: 'address of the worker whose result was published' }),
  encoderFingerprint: Type.String(),
  transcodeMs: Type.Optional(Type.Number()),
  renditions: Type.Array(RenditionResultSchema),
  commitment: Type.Object({
    root: Hex,
    signature: Hex,
    chainId: Type.Integer(),
    stakingManager: Type.String({ description: 'EIP-712 verifying contract of the commitment' }),
  }),
  proofs: Type.Record(Type.String(), Type.Array(Hex), { description: 'leaf name (rendition, RENDITION/audio, @fingerprint) → Merkle proof of its (jobId, name, sha256) leaf' }),
  rev: Type.Optional(Type.Integer({ description: 'revision of the published files: > 0 once a caught segment was republished under new names (SESSION_SEQrREV.ts)' })),
  spotCheck: Type.Union([
    Type.Null(),
    Type.Object({
      outcome: Type.String({ description: 'pending, agree, mismatch (tie-break running), caught, verifier-faulty, unresolved, no-verifier, redone (replaced after its worker was caught elsewhere), source-gone; quality checks quality-pass, quality-fail, quality-inconclusive (content too hard to judge: the orchestrator\'s transcode replaced it, the worker is not faulted). verifier "orchestrator": checked by the orchestrator itself' }),
      verifier: Type.Optional(Type.String()),
      verifierTranscodeMs: Type.Optional(Type.Number()),
      tieBreakTranscodeMs: Type.Optional(Type.Number()),
      redo: Type.Optional(Type.Boolean({ description: 'redone after its worker was proven to cheat on another segment' })),
      tieBreaker: Type.Optional(Type.String()),
      faulty: Type.Optional(Type.String({ description: 'the worker two of three proved wrong' })),
      mismatched: Type.Optional(Type.Array(Type.String(), { description: 'renditions whose hashes differ (SSIM checks: whose SSIM is below the threshold)' })),
      ssim: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'rendition → mean SSIM against the source (non-deterministic encoders)' })),
      ssimThreshold: Type.Optional(Type.Number()),
      quality: Type.Optional(Type.Record(Type.String(), Type.Object({
        verdict: Type.String({ description: 'pass, fail, or inconclusive (the content is too hard to judge: an honest encode fails the same measures)' }),
        failures: Type.Array(Type.String(), { description: 'each failed measure, its value and threshold' }),
        meanSsim: Type.Number(),
        minBlockPsnr: Type.Number({ description: 'lowest block PSNR (dB) over any 15-frame window' }),
        detailRatio: Type.Number({ description: 'fine detail of the rendition ÷ the reference\'s' }),
        secondOpinion: Type.Optional(Type.Object({
          encoder: Type.String(),
          failures: Type.Array(Type.String(), { description: 'the honest encode\'s own failed measures against the reference' }),
          unjudged: Type.Array(Type.String(), { description: 'measures that cannot judge this segment (the honest encode failed them too)' }),
        }, { description: 'when the rendition failed: an honest encode of the same segment (x264 ultrafast) compared with the reference too' })),
      }), { description: 'rendition → local comparison with the orchestrator\'s own transcode (quality checks)' })),
      checkMs: Type.Optional(Type.Number({ description: 'orchestrator time spent on the quality check' })),
      verifierRenditions: Type.Optional(Type.Array(RenditionResultSchema)),
      verifierCommitment: Type.Optional(Type.Object({ root: Hex, signature: Hex })),
      clawedBack: Type.Optional(Type.Boolean({ description: 'the faulty worker\'s credit for this job was taken back' })),
      replaced: Type.Optional(Type.Boolean({ description: 'the caught segment now serves the agreeing output' })),
      slash: Type.Optional(Type.Union([Type.Object({ tx: Hex, blockNumber: Type.String() }), Type.Object({ error: Type.String() })])),
    }),
  ]),
  publishedAt: Type.Number(),
});

const VerificationSchema = Type.Object({
  segments: Type.Integer({ description: 'published segments with an audit record (within retention)' }),
  sampled: Type.Integer({ description: 'of which spot-checked' }),
  outcomes: Type.Record(Type.String(), Type.Integer(), { description: 'spot-check outcome → segments' }),
  transcodeMs: Type.Number({ description: 'ffmpeg time of the published results' }),
  checkTranscodeMs: Type.Number({ description: 'ffmpeg time spent checking them (verifiers, tie-breaks, SSIM)' }),
  extraCost: Type.Number({ description: 'checkTranscodeMs ÷ transcodeMs' }),
});
const SkipSchema = Type.Object({
  session: Type.Integer(),
  seq: Type.Integer(),
  reason: Type.Union([Type.Literal('attempts-exhausted'), Type.Literal('no-worker'), Type.Literal('stuck'), Type.Literal('storage')], {
    description: 'attempts-exhausted: every worker tried failed it; no-worker: none free within SEGMINT_DISPATCH_WAIT_MS; stuck: a crash left it in flight before its source was stored; storage: the segment store refused its source',
  }),
  detail: Type.String(),
  skippedAt: Type.Number(),
});
const StreamParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const Params = Type.Object({ id: Type.String({ maxLength: 64 }), seq: Type.String({ pattern: '^[0-9]{1,13}$' }) });
const Query = Type.Object({ session: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'live session (default: the latest)' })) }, { additionalProperties: false });

/** `GET /api/stream/:id/segments/:seq/audit`: who transcoded a published segment, and the proof; `…/skips`: the gaps, and why. */
export function auditRoutes(p: Pipeline, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
      '/stream/:id/segments/:seq/audit',
      {
        schema: {
          tags: ['stream'],
          security: BEARER,
          summary: 'Audit trail of a published segment: worker, signed Merkle commitment, proofs, spot-check',
          params: Params,
          querystring: Query,
          response: { 200: AuditSchema, ...errorResponses('STREAM_NOT_FOUND', 'NOT_FOUND') },
        },
      },
      async (req) => {
        const stream = await p.streams.getOwned(keyOf(req).ownerId, req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        const session = req.query.session !== undefined ? Number(req.query.session) : ((await p.live.meta(stream.id))?.session ?? 1);
        const record = await p.audit.store.get(stream.id, session, Number(req.params.seq));
        if (!record) throw new ApiError('NOT_FOUND', `no audit record for segment ${req.params.seq} of session ${session} (not published, or past retention)`);
        return record;
      },
    );
    app.get<{ Params: Static<typeof StreamParams> }>(
      '/stream/:id/verification',
      {
        schema: {
          tags: ['stream'],
          security: BEARER,
          summary: 'What spot-checks sampled, found and cost for a stream (records within retention)',
          params: StreamParams,
          response: { 200: VerificationSchema, ...errorResponses('STREAM_NOT_FOUND') },
        },
      },
      async (req) => {
        const stream = await p.streams.getOwned(keyOf(req).ownerId, req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        return p.audit.store.summary(stream.id);
      },
    );
    app.get<{ Params: Static<typeof StreamParams> }>(
      '/stream/:id/skips',
      {
        schema: {
          tags: ['stream'],
          security: BEARER,
          summary: 'Segments skipped (gaps in the playlists) and why, within retention',
          params: StreamParams,
          response: { 200: Type.Array(SkipSchema), ...errorResponses('STREAM_NOT_FOUND') },
        },
      },
      async (req) => {
        const stream = await p.streams.getOwned(keyOf(req).ownerId, req.params.id);
        if (!stream) throw new ApiError('STREAM_NOT_FOUND', `no stream ${req.params.id}`);
        return (await p.audit.store.skips(stream.id)).map(({ streamId: _, ...r }) => r);
      },
    );
  };
}
