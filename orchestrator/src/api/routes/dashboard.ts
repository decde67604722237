import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import { DASHBOARD_PAGE } from '../../dashboard/dashboardPage.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { errorResponses } from '../schemas.js';
import type { PublishedRecord } from '../../live/liveState.js';
import type { Pipeline } from '../../pipeline.js';

const RECENT = 30;
const STREAMS = 100;

const DataSchema = Type.Object({
  streams: Type.Array(Type.Object({
    id: Type.String(), name: Type.String(), playbackId: Type.String(), isActive: Type.Boolean(), isHealthy: Type.Union([Type.Boolean(), Type.Null()]),
    issues: Type.Array(Type.String()), lastSeen: Type.Union([Type.Number(), Type.Null()]), sourceSegments: Type.Number(), transcodedSegments: Type.Number(),
  })),
  segments: Type.Array(Type.Object({ streamId: Type.String(), streamName: Type.String(), seq: Type.Number(), renditions: Type.Number(), durationSec: Type.Number(), latencyMs: Type.Number(), publishedAt: Type.Number() })),
});

/**
 * `/dashboard` (HTML, public: it holds no data) and `/dashboard/data.json` (Bearer API key): the
 * key owner's live streams (names and playback ids only, never stream keys) and their last
 * segments published.
 */
export function dashboardRoutes(p: Pipeline, apiKeys: ApiKeyStore): FastifyPluginAsync {
  return async (app) => {
    const recent: { streamId: string; seq: number; renditions: number; durationSec: number; latencyMs: number; publishedAt: number }[] = [];
    const onPublished = (streamId: string, records: PublishedRecord[]) => {
      const now = Date.now();
      for (const { entry } of records) {
        recent.unshift({ streamId, seq: entry.seq, renditions: Object.keys(entry.renditions).length, durationSec: entry.durationSec, latencyMs: now - entry.ingestedAt, publishedAt: now });
      }
      recent.length = Math.min(recent.length, RECENT);
    };
    p.events.on('published', onPublished);
    app.addHook('onClose', async () => void p.events.off('published', onPublished));

    app.get('/dashboard', { schema: { tags: ['dashboard'], summary: 'Operator dashboard (HTML, refreshes every 2 s)' } }, async (_req, reply) =>
      reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_PAGE));

    await app.register(async (owned) => {
      requireApiKey(owned, apiKeys);
      owned.get('/dashboard/data.json', {
        schema: { tags: ['dashboard'], summary: 'What the dashboard shows: this key owner\'s streams', security: BEARER, response: { 200: DataSchema, ...errorResponses('UNAUTHORIZED') } },
      }, async (req) => {
        const owner = keyOf(req).ownerId;
        // live streams first (Redis knows which), then the rest of the recently published
        const live = await p.live.idleStreams(Number.MAX_SAFE_INTEGER);
        const ids = [...new Set([...live, ...recent.map((r) => r.streamId)])];
        const all = await Promise.all(ids.map((id) => p.streams.get(id)));
        const streams = all.filter((s) => s !== null && s.ownerId === owner && !s.name.startsWith('asset ')).slice(0, STREAMS);
        const views = await Promise.all(
          streams.map(async (s) => {
            const meta = await p.live.meta(s!.id);
            const isActive = meta ? !meta.ended : s!.isActive;
            const lastSeen = meta?.lastIngestAt ?? s!.lastSeen;
            const stale = isActive && lastSeen !== null && Date.now() - lastSeen > 6_000;
            return {
              id: s!.id, name: s!.name, playbackId: s!.playbackId, isActive, isHealthy: isActive ? !stale : null,
              issues: stale ? ['no segment received for over 6 s'] : [], lastSeen, sourceSegments: s!.sourceSegments, transcodedSegments: s!.transcodedSegments,
            };
          }),
        );
        const names = new Map(views.map((v) => [v.id, v.name]));
        return { streams: views, segments: recent.filter((r) => names.has(r.streamId)).map((r) => ({ ...r, streamName: names.get(r.streamId)! })) };
      });
    });
  };
}
