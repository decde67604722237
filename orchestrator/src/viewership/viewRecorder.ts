import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';
import type { AssetStore } from '../assets/assetStore.js';
import type { StreamStore } from '../streams/streamStore.js';
import type { ViewStore } from './viewStore.js';

/** A viewer idle this long ends its view; the next request starts a new one. */
export const VIEW_GAP_MS = 30 * 60_000;
/** Playtime is counted between requests, at most this much per gap (a paused player adds nothing). */
const MAX_STEP_MS = 15_000;

/** Browser, OS and device class from a User-Agent (coarse, as dashboards need it). */
export function classifyAgent(ua: string): { browser: string; os: string; deviceType: string } {
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\/|CriOS\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari'
    : /VLC|Lavf|ffmpeg|ffplay/i.test(ua) ? 'Media player' : 'Other';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iOS/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Linux/.test(ua) ? 'Linux' : 'Other';
  const deviceType = /iPad|Tablet/.test(ua) ? 'tablet' : /Mobi|iPhone|Android/.test(ua) ? 'mobile' : /TV|SmartTV/.test(ua) ? 'tv' : 'desktop';
  return { browser, os, deviceType };
}

type ViewState = { id: string; last: number; pending: number };

/**
 * Counts views and playtime from what players really request: every 2xx answer to a live HLS
 * (`/hls/PLAYBACK_ID/…`) or VOD (`/vod/PLAYBACK_ID/…`) playlist or segment. A view is one viewer
 * (a keyed hash of address and User-Agent, never the address itself) playing one playback id with
 * no gap over 30 min; its playtime is the time between its requests, each gap capped at 15 s. The
 * view's state is in Redis (any orchestrator may serve the next request); rows in PostgreSQL.
 */
export function recordViews(app: FastifyInstance, o: { views: ViewStore; streams: StreamStore; assets: AssetStore; redis: RedisClient; prefix: string; secret: string; flushMs: number; logger: Logger }): void {
  const viewerOf = (req: FastifyRequest, playbackId: string) => createHmac('sha256', o.secret).update(`${req.ip}\n${req.headers['user-agent'] ?? ''}\n${playbackId}`).digest('hex').slice(0, 24);
  const ownerOf = async (playbackId: string) => {
    const stream = await o.streams.getByPlaybackId(playbackId);
    if (stream?.ownerId) return { ownerId: stream.ownerId, streamId: stream.id, assetId: null };
    const asset = stream ? null : await o.assets.getByPlaybackId(playbackId);
    return asset ? { ownerId: asset.ownerId, streamId: null, assetId: asset.id } : null;
  };
  const record = async (req: FastifyRequest, playbackId: string) => {
    const now = Date.now();
    const viewerId = viewerOf(req, playbackId);
    const key = `${o.prefix}:view:${playbackId}:${viewerId}`;
    const raw = await o.redis.get(key);
    if (!raw) {
      // the view's first request (the key lives VIEW_GAP_MS past the last one); a parallel request of the same viewer loses the claim
      if ((await o.redis.set(key, JSON.stringify({ id: '', last: now, pending: 0 }), 'PX', VIEW_GAP_MS, 'NX')) !== 'OK') return;
      const owner = await ownerOf(playbackId);
      if (!owner) return;
      const id = await o.views.start({ ...owner, playbackId, viewerId, ...classifyAgent(String(req.headers['user-agent'] ?? '')), startedAt: now });
      await o.redis.set(key, JSON.stringify({ id, last: now, pending: 0 }), 'PX', VIEW_GAP_MS);
      return;
    }
    const state = JSON.parse(raw) as ViewState;
    if (!state.id) return; // being started by a parallel request
    const next = { id: state.id, last: now, pending: state.pending + Math.min(MAX_STEP_MS, Math.max(0, now - state.last)) };
    if (next.pending >= o.flushMs) {
      await o.views.addPlaytime(next.id, next.pending, now);
      next.pending = 0;
    }
    await o.redis.set(key, JSON.stringify(next), 'PX', VIEW_GAP_MS);
  };
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? '';
    if (reply.statusCode < 200 || reply.statusCode >= 300 || !(route.startsWith('/hls/:playbackId') || route.startsWith('/vod/:playbackId'))) return;
    if (route.endsWith('.jpg')) return; // a thumbnail on a page is not a view
    const playbackId = (req.params as { playbackId?: string }).playbackId;
    if (!playbackId || playbackId.length > 64) return;
    // never in the way of playback: a failure here only loses a count
    await record(req, playbackId).catch((err) => o.logger.warn({ err, playbackId }, 'could not record a view'));
  });
}
