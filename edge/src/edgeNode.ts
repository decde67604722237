import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Address } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { Type, type Static } from 'typebox';
import { EDGE_SIGNATURE_HEADER, ReceiptSchema } from '@segmint/protocol';
import type { WorkerPayments } from '../../worker/src/payments/workerPayments.js';
import { EdgeClient } from './edgeClient.js';
import { ReceiptJournal } from './receiptJournal.js';
import { ReceiptSink, ReceiptSinkFull } from './receiptSink.js';
import { ResponseSigner } from './responseSigner.js';
import { SegmentCache } from './segmentCache.js';

export type EdgeOptions = {
  orchestratorUrl: string;
  /** Where segments and playlists are pulled from: the orchestrator (default) or another edge. */
  originUrl?: string;
  account: PrivateKeyAccount;
  port: number;
  host?: string;
  /** URL viewers reach this edge at (default http://HOST:PORT). */
  publicUrl?: string;
  cacheBytes: number;
  maxViewers: number;
  receiptIntervalMs?: number;
  /** Where the receipts viewers hand in are journaled (fsync'd) until the orchestrator has answered them. */
  receiptsDir: string;
  payments?: WorkerPayments | null;
  logger?: Logger;
  /** Tests and attacks only: what a dishonest edge serves instead of the segment. */
  tamper?: (body: Buffer, where: { playbackId: string; rendition: string; uri: string }) => Buffer;
};

export type EdgeStats = { servedBytes: number; servedSegments: number; originBytes: number; cacheBytes: number; cacheHits: number; cacheMisses: number };

export type EdgeNode = { url: string; address: string; app: FastifyInstance; client: EdgeClient; receipts: ReceiptSink; stats: () => EdgeStats; close(): Promise<void> };

const PLAYLIST_TTL_MS = 500;
const M3U8 = 'application/vnd.apple.mpegurl';
const Id = '^[A-Za-z0-9_-]{1,64}$';
const SegmentParams = Type.Object({ playbackId: Type.String({ pattern: Id }), rendition: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }), file: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}\\.ts$' }) });
const ReceiptsBody = Type.Object({ receipts: Type.Array(ReceiptSchema, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false });

/**
 * Starts an edge node: registers with the orchestrator (signed, heartbeating), serves HLS
 * playlists (pulled through, half a second fresh) and segments (pulled on demand, cached within
 * `cacheBytes`, each answer carrying the edge's signed commitment to its hash), and takes the
 * viewers' receipts, which it submits to be paid per verified byte.
 */
export async function startEdge(o: EdgeOptions): Promise<EdgeNode> {
  const logger = o.logger ?? pino({ level: 'info', name: 'edge' });
  const origin = (o.originUrl ?? o.orchestratorUrl).replace(/\/$/, '');
  const cache = new SegmentCache(o.cacheBytes);
  const counters = { servedBytes: 0, servedSegments: 0, originBytes: 0 };
  const app = Fastify({ loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 512 * 1024 });
  // players post receipts as text/plain (no CORS preflight; sendBeacon when a page closes): JSON all the same
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('the body is not JSON'), { statusCode: 400, code: 'VALIDATION_FAILED' }), undefined);
    }
  });
  // bad input: a stable code and a 4xx, as the orchestrator answers
  app.setErrorHandler((err: import('fastify').FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (err.validation || status === 400) return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: err.message } });
    if (status === 413) return reply.status(413).send({ error: { code: 'PAYLOAD_TOO_LARGE', message: err.message } });
    if (status === 415) return reply.status(415).send({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message } });
    if (status >= 400 && status < 500) return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: err.message } });
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', EDGE_SIGNATURE_HEADER);
  });

  const pull = async (path: string): Promise<Buffer | null> => {
    const res = await fetch(`${origin}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return null;
    const b = Buffer.from(await res.arrayBuffer());
    counters.originBytes += b.length;
    return b;
  };
  const playlists = new Map<string, { at: number; body: Promise<Buffer | null> }>();
  const playlist = (path: string) => {
    const hit = playlists.get(path);
    if (hit && Date.now() - hit.at < PLAYLIST_TTL_MS) return hit.body;
    if (playlists.size > 1000) playlists.clear();
    const body = pull(path).catch(() => null);
    playlists.set(path, { at: Date.now(), body });
    return body;
  };

  // set once registered (the URL it registers is known only once listening)
  let signer: ResponseSigner | null = null;
  let receipts: ReceiptSink | null = null;
  let address = '';

  app.get<{ Params: { playbackId: string; rendition?: string } }>('/hls/:playbackId/index.m3u8', async (req, reply) => servePlaylist(`/hls/${req.params.playbackId}/index.m3u8`, reply));
  app.get<{ Params: { playbackId: string; rendition: string } }>('/hls/:playbackId/:rendition/index.m3u8', async (req, reply) => servePlaylist(`/hls/${req.params.playbackId}/${req.params.rendition}/index.m3u8`, reply));
  async function servePlaylist(path: string, reply: import('fastify').FastifyReply) {
    if (!/^\/hls\/[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,32})?\/index\.m3u8$/.test(path)) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'no such playlist' } });
    const body = await playlist(path);
    if (!body) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'the origin has no such playlist (yet)' } });
    return reply.header('content-type', M3U8).header('cache-control', 'max-age=1').send(body);
  }

  app.get<{ Params: Static<typeof SegmentParams> }>('/hls/:playbackId/:rendition/:file', { schema: { params: SegmentParams } }, async (req, reply) => {
    const { playbackId, rendition, file } = req.params;
    const path = `/hls/${playbackId}/${rendition}/${file}`;
    const stored = await cache.get(path, () => pull(path)).catch(() => null);
    if (!signer) return reply.status(503).send({ error: { code: 'UNAVAILABLE', message: 'edge starting' } });
    if (!stored) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'segment not available at the origin' } });
    const body = o.tamper ? o.tamper(stored, { playbackId, rendition, uri: file }) : stored;
    counters.servedBytes += body.length;
    counters.servedSegments++;
    return reply
      .header('content-type', 'video/mp2t')
      .header('cache-control', 'max-age=86400, immutable')
      .header(EDGE_SIGNATURE_HEADER, await signer.sign(playbackId, rendition, file, body))
      .send(body);
  });

  app.options('/receipts', async (_req, reply) => reply.header('access-control-allow-methods', 'POST').header('access-control-allow-headers', 'content-type').status(204).send());
  app.post<{ Body: Static<typeof ReceiptsBody> }>('/receipts', { schema: { body: ReceiptsBody } }, async (req, reply) => {
    if (!receipts) return reply.status(503).send({ error: { code: 'UNAVAILABLE', message: 'edge starting' } });
    try {
      // receipts naming another edge would pay nothing: not kept. 204 only once journaled (fsync'd)
      receipts.add(req.body.receipts.filter((r) => r.edge.toLowerCase() === address));
    } catch (err) {
      if (err instanceof ReceiptSinkFull) return reply.status(503).send({ error: { code: err.code, message: err.message } });
      throw err;
    }
    return reply.status(204).send();
  });
  app.get('/healthz', async () => ({ status: 'ok', edge: address }));
  app.get('/stats', async () => ({ ...stats(), receipts: receipts ? { ...receipts.totals, owedWei: receipts.totals.owedWei.toString() } : null }));

  await app.listen({ port: o.port, host: o.host ?? '127.0.0.1' });
  const addr = app.server.address();
  const url = (o.publicUrl || `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${typeof addr === 'object' && addr ? addr.port : o.port}`).replace(/\/$/, '');
  const client = new EdgeClient({ orchestratorUrl: o.orchestratorUrl.replace(/\/$/, ''), account: o.account, url, maxViewers: o.maxViewers, logger });
  const registered = await client.start().catch(async (err) => {
    await app.close();
    throw err;
  });
  signer = new ResponseSigner(o.account, { chainId: registered.chainId, stakingManager: registered.stakingManager as Address });
  const journal = new ReceiptJournal(o.receiptsDir, client.address);
  receipts = new ReceiptSink(client, o.payments ?? null, o.receiptIntervalMs ?? 2000, journal, logger);
  receipts.start();
  address = client.address;

  const stats = (): EdgeStats => ({ ...counters, cacheBytes: cache.bytes, cacheHits: cache.hits, cacheMisses: cache.misses });
  logger.info({ edge: client.address, url, origin, cacheBytes: o.cacheBytes }, 'edge started');
  return {
    url, address: client.address, app, client, receipts: receipts!, stats,
    async close() {
      client.stop();
      await app.close(); // no receipt comes in after the last submission
      await receipts!.stop();
      journal.close();
      await o.payments?.close();
    },
  };
}
