import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Server, { type TrackerSocket } from 'bittorrent-tracker/server';
import type { FastifyInstance } from 'fastify';
import { SOURCE_RENDITION } from '@segmint/protocol';
import type { Pipeline } from '../pipeline.js';
import type { RedisClient } from '../redis/redisClient.js';
import type { Stream } from '../streams/streamStore.js';
import { SharedSwarms } from './sharedSwarms.js';

/** Path of a stream's tracker: `ws(s)://HOST/tracker/PLAYBACK_ID`. */
export const TRACKER_PATH = /^\/tracker\/([A-Za-z0-9_-]{1,64})$/;

/** The player's swarm id of a stream (p2p-media-loader `swarmId`); its renditions are swarms apart. */
export const swarmIdOf = (playbackId: string) => `segmint-${playbackId}`;

/**
 * The tracker info hash (hex, as bittorrent-tracker's server sees it) of one rendition's swarm,
 * computed as p2p-media-loader-core does (utils/peer.ts getStreamHash of `v2-SWARM-main-INDEX`,
 * where the player sets INDEX to the rendition name): 15 bytes of sha1, base64, sent as 20 ASCII bytes.
 */
export function swarmInfoHash(playbackId: string, rendition: string): string {
  const b64 = createHash('sha1').update(`v2-${swarmIdOf(playbackId)}-main-${rendition}`, 'utf8').digest().subarray(0, 15).toString('base64');
  return Buffer.from(b64, 'latin1').toString('hex');
}

type Tag = { playbackId: string; allowed: Set<string> };

/**
 * The WebTorrent tracker players find each other through (bittorrent-tracker's server, websocket
 * only), on the orchestrator's own HTTP port at /tracker/PLAYBACK_ID. A connection is only for
 * that stream, and only while it is public with P2P on; it may announce only the info hashes of
 * that stream's renditions (one swarm per rendition), so viewers never meet peers of other streams
 * or renditions and the tracker cannot be used for anything else. Swarms live in Redis
 * (p2p/sharedSwarms.ts): viewers of one stream meet whichever orchestrator they reached.
 */
export async function attachTracker(app: FastifyInstance, p: Pipeline, shared: { redis: RedisClient; prefix: string }): Promise<void> {
  const cache = new Map<string, { stream: Stream | null; until: number }>();
  const streamOf = async (playbackId: string) => {
    let hit = cache.get(playbackId);
    if (!hit || hit.until < Date.now()) {
      hit = { stream: await p.streams.getByPlaybackId(playbackId), until: Date.now() + 5_000 };
      if (cache.size > 10_000) cache.clear();
      cache.set(playbackId, hit);
    }
    return hit.stream;
  };
  const sharing = (s: Stream | null): s is Stream => !!s && s.p2p && !s.suspended && s.playbackPolicy.type === 'public';

  const tracker = new Server({
    http: false,
    udp: false,
    stats: false,
    ws: { noServer: true, maxPayload: 256 * 1024 },
    interval: 60_000,
    filter: (infoHash, params, cb) => {
      const tag = params.socket?.segmint as Tag | undefined;
      if (!tag?.allowed.has(infoHash)) return refuse(cb, 'not a swarm of this stream');
      streamOf(tag.playbackId).then(
        (s) => (sharing(s) ? (p.metrics.trackerAnnounces.inc({ outcome: 'accepted' }), cb(null)) : refuse(cb, 'P2P is off for this stream')),
        () => refuse(cb, 'stream lookup failed'),
      );
    },
  });
  const refuse = (cb: (err: Error | null) => void, why: string) => {
    p.metrics.trackerAnnounces.inc({ outcome: 'refused' });
    cb(new Error(why));
  };
  const swarms = new SharedSwarms(shared.redis, shared.prefix, p.logger);
  await swarms.start(tracker);
  tracker.on('warning', (err: Error) => p.logger.debug({ err: err.message }, 'tracker warning'));
  tracker.on('error', (err: Error) => p.logger.warn({ err }, 'tracker error'));

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const m = TRACKER_PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m) return reject(socket, 404, 'Not Found');
    const playbackId = m[1]!;
    streamOf(playbackId).then(
      (s) => {
        if (!sharing(s)) return reject(socket, s ? 403 : 404, s ? 'Forbidden' : 'Not Found');
        const renditions = [SOURCE_RENDITION, ...s.profiles.map((x) => x.name)];
        tracker.ws.handleUpgrade(req, socket, head, (ws: TrackerSocket) => {
          ws.segmint = { playbackId, allowed: new Set(renditions.map((r) => swarmInfoHash(playbackId, r))) } satisfies Tag;
          tracker.onWebSocketConnection(ws);
        });
      },
      () => reject(socket, 503, 'Service Unavailable'),
    );
  });
  app.addHook('onClose', (_app, done) => tracker.close(() => (swarms.stop(), done())));
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
