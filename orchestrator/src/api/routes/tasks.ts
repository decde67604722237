import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { Asset, AssetStore } from '../../assets/assetStore.js';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams } from '../schemas.js';

const TaskPhase = Type.Union([Type.Literal('pending'), Type.Literal('waiting'), Type.Literal('running'), Type.Literal('failed'), Type.Literal('completed'), Type.Literal('cancelled')]);

/** A task as Studio shows it: the work behind an asset (upload, import, clip). */
export const TaskSchema = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('upload'), Type.Literal('clip'), Type.Literal('transcode-file')], { description: 'upload: a direct upload or a URL import (Studio names both so)' }),
  createdAt: Type.Number(),
  scheduledAt: Type.Number(),
  outputAssetId: Type.Optional(Type.String({ description: 'the asset the task makes (not for transcode-file: its outputs are in your bucket)' })),
  params: Type.Object({
    upload: Type.Optional(Type.Object({ url: Type.Optional(Type.String({ description: 'the import URL' })) })),
    clip: Type.Optional(Type.Object({
      clipStrategy: Type.Object({ playbackId: Type.String(), startTime: Type.Number(), endTime: Type.Number() }),
      sessionId: Type.Optional(Type.String()),
    })),
    'transcode-file': Type.Optional(Type.Object({
      input: Type.Object({ url: Type.Optional(Type.String()) }),
      storage: Type.Object({ url: Type.String({ description: 'endpoint/bucket (the keys are never shown)' }) }),
      outputs: Type.Object({ hls: Type.Optional(Type.Object({ path: Type.String() })), mp4: Type.Optional(Type.Object({ path: Type.String() })) }),
    })),
  }),
  status: Type.Object({
    phase: TaskPhase,
    updatedAt: Type.Number(),
    progress: Type.Number({ description: '0–1' }),
    errorMessage: Type.Optional(Type.String()),
  }),
});

const PHASES: Record<Asset['phase'], Static<typeof TaskSchema>['status']['phase']> = {
  waiting: 'waiting', uploading: 'running', processing: 'running', ready: 'completed', failed: 'failed',
};

/** The task view of an asset: one task per asset, with the asset's id (what upload and import return as `task.id`). */
export function taskOf(a: Asset): Static<typeof TaskSchema> {
  const s = a.source;
  const status = { phase: PHASES[a.phase], updatedAt: a.updatedAt, progress: a.progress, ...(a.errorMessage ? { errorMessage: a.errorMessage } : {}) };
  const base = { id: a.id, createdAt: a.createdAt, scheduledAt: a.createdAt };
  if (s.type === 'transcode') {
    // transcoded is not done: the outputs must be in the bucket too
    const phase = s.deliverError ? 'failed' : a.phase === 'ready' && !s.delivered ? 'running' : status.phase;
    return {
      ...base, type: 'transcode-file',
      params: {
        'transcode-file': {
          input: 'url' in s.input ? { url: s.input.url } : { url: `${s.input.endpoint.replace(/\/+$/, '')}/${s.input.bucket}/${s.input.path}` },
          storage: { url: `${s.storage.endpoint.replace(/\/+$/, '')}/${s.storage.bucket}` },
          outputs: s.outputs,
        },
      },
      status: { ...status, phase, ...(phase === 'running' ? { progress: Math.min(status.progress, 0.99) } : {}), ...(s.deliverError ? { errorMessage: s.deliverError } : {}) },
    };
  }
  return {
    ...base,
    type: s.type === 'clip' ? 'clip' : 'upload',
    outputAssetId: a.id,
    params: s.type === 'clip'
      ? { clip: { clipStrategy: { playbackId: s.playbackId, startTime: s.startTime, endTime: s.endTime }, sessionId: s.sessionId } }
      : { upload: s.type === 'url' ? { url: s.url } : {} },
    status,
  };
}

const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

/** Studio's `/api/task`: uploads, imports and clips with their phase and progress (read-only). */
export function taskRoutes(assets: AssetStore, keys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['task'];
    const security = BEARER;
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/task',
      { schema: { tags, security, summary: 'List tasks, newest first', querystring: ListQuery, response: { 200: Type.Array(TaskSchema), ...errorResponses() } } },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const list = await assets.list(keyOf(req).ownerId, { limit, after, withTranscodes: true });
        setNextLink(req, reply, list, limit);
        return list.map(taskOf);
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/task/:id',
      { schema: { tags, security, summary: 'Get a task (status.phase, status.progress)', params: IdParams, response: { 200: TaskSchema, ...errorResponses('TASK_NOT_FOUND') } } },
      async (req) => {
        const a = await assets.get(req.params.id, keyOf(req).ownerId);
        if (!a) throw new ApiError('TASK_NOT_FOUND', `no task ${req.params.id}`);
        return taskOf(a);
      },
    );
  };
}
