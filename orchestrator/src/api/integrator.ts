import type { FastifyInstance } from 'fastify';
import { blockingDuplicate, createRedis } from '../redis/redisClient.js';
import type { ApiKeyStore } from '../auth/apiKeys.js';
import { RateLimiter } from '../auth/rateLimiter.js';
import type { OrchestratorConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { Pipeline } from '../pipeline.js';
import { recordSessions } from '../sessions/sessionRecorder.js';
import { SessionStore, type Session } from '../sessions/sessionStore.js';
import type { Stream } from '../streams/streamStore.js';
import type { WebhookEvent } from '../webhooks/webhookEvents.js';
import { WebhookQueue } from '../webhooks/webhookQueue.js';
import { WebhookStore } from '../webhooks/webhookStore.js';
import { playbackRoutes } from './routes/playback.js';
import { sessionRoutes } from './routes/sessions.js';
import { usageRoutes } from './routes/usage.js';
import { assetRoutes } from './routes/assets.js';
import { assetTusRoutes } from './routes/assetTus.js';
import { vodRoutes } from './routes/vod.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { AssetRunner } from '../assets/assetRunner.js';
import { AssetStore, type Asset } from '../assets/assetStore.js';
import { signingKeyRoutes } from './routes/signingKeys.js';
import { gatePlayback } from '../access/playbackGate.js';
import { SigningKeyStore } from '../access/signingKeyStore.js';
import { TokenGate } from '../access/tokenGate.js';
import { tokenGateRoutes } from './routes/tokenGate.js';
import { watchRoutes } from './routes/watch.js';
import { UsageStore } from '../usage/usageStore.js';
import { webhookRoutes } from './routes/webhooks.js';
import { taskRoutes } from './routes/tasks.js';
import { clipRoutes } from './routes/clips.js';
import { viewershipRoutes } from './routes/viewership.js';
import { transcodeJobRoutes } from './routes/transcodeJobs.js';
import { deliverOutputs } from '../transcode/deliverOutputs.js';
import { recordViews } from '../viewership/viewRecorder.js';
import { ViewStore } from '../viewership/viewStore.js';
import { cutClip, planClip } from '../clips/clipCutter.js';
import { multistreamRoutes } from './routes/multistream.js';
import { MultistreamPusher } from '../multistream/multistreamPusher.js';
import { TargetStore } from '../multistream/targetStore.js';

export type IntegratorApi = {
  sessions: SessionStore;
  webhooks: WebhookStore;
  usage: UsageStore;
  assets: AssetStore;
  deliveries: WebhookQueue;
  close(): Promise<void>;
};

export type StartIntegratorApiParameters = {
  db: Database;
  apiKeys: ApiKeyStore;
  config: Pick<OrchestratorConfig, 'redisUrl' | 'redisCluster' | 'redisPrefix' | 'webhooks' | 'api' | 'secret' | 'chainRpcUrl' | 'chainId' | 'dataDir'>;
};

/** What a webhook says about a stream (no stream key: receivers need not hold a secret). */
const streamPayload = (s: Stream) => ({ id: s.id, name: s.name, playbackId: s.playbackId, record: s.record, suspended: s.suspended, createdAt: s.createdAt });
const assetPayload = (a: Asset) => ({ id: a.id, name: a.name, playbackId: a.playbackId, status: { phase: a.phase, progress: a.progress, errorMessage: a.errorMessage }, createdAt: a.createdAt });
const sessionPayload = (s: Session) => ({ id: s.id, parentId: s.streamId, createdAt: s.createdAt, lastSeen: s.lastSeen, endedAt: s.endedAt, record: s.record });

/**
 * The integrator side that is not streams and keys: sessions (from pipeline events), webhooks
 * (signed, queued deliveries), usage, playback info, playback access control (JWT) and the watch page.
 * Register after OpenAPI and before the HLS routes (the access check is a root hook).
 */
export async function startIntegratorApi(app: FastifyInstance, p: Pipeline, o: StartIntegratorApiParameters): Promise<IntegratorApi> {
  const sessions = new SessionStore(o.db);
  const webhooks = new WebhookStore(o.db);
  const usage = new UsageStore(o.db);
  const signingKeys = new SigningKeyStore(o.db);
  const assets = new AssetStore(o.db);
  const { config } = o;
  const redis = createRedis({ url: config.redisUrl, cluster: config.redisCluster }, { maxRetriesPerRequest: 3, lazyConnect: true });
  await redis.connect();
  const tokenGate = new TokenGate({ redis, prefix: config.redisPrefix, secret: config.secret, rpcUrl: config.chainRpcUrl, chainId: config.chainId });
  gatePlayback(app, p, signingKeys, tokenGate);
  const views = new ViewStore(o.db);
  recordViews(app, { views, streams: p.streams, assets, redis, prefix: config.redisPrefix, secret: config.secret, flushMs: config.api.viewFlushMs, logger: p.logger.child({ component: 'viewership' }) });
  o.apiKeys.rateLimiter = new RateLimiter(redis, config.redisPrefix, config.api.rateLimitPerMinute);
  // SSRF guard of asset imports and webhook deliveries (see egress/outboundAddress.ts)
  const outbound = { allowPrivate: config.api.allowPrivateUrls, trustedHosts: config.api.trustedUrlHosts };
  // BullMQ given a URL connects to that one server: on a cluster it needs a cluster client.
  const queueConnection = blockingDuplicate(redis);
  const deliveries = new WebhookQueue(webhooks, {
    connection: queueConnection,
    prefix: config.redisPrefix,
    config: config.webhooks,
    outbound,
    logger: p.logger.child({ component: 'webhooks' }),
  });
  await deliveries.ready();

  const notify = async (event: WebhookEvent, stream: Stream, session: Session, eventId: string) => {
    if (!stream.ownerId) return;
    const hooks = await webhooks.subscribers(stream.ownerId, event, stream.id);
    if (hooks.length) await deliveries.enqueue(hooks, event, { stream: streamPayload(stream), session: sessionPayload(session), payload: { sessionId: session.id } }, eventId);
  };
  // Sessions, counters, usage, recordings and their webhooks, durably from the streams' outboxes.
  const recorder = recordSessions(p, {
    sessions, redis, prefix: config.redisPrefix, notify,
    ...(process.env.SEGMINT_TEST_CRASH_AT_OUTBOX ? { testCrash: process.env.SEGMINT_TEST_CRASH_AT_OUTBOX as 'before-published' | 'after-published' } : {}),
  });

  // Restreaming of live streams to their multistream targets, and its webhooks
  const targets = new TargetStore(o.db);
  const pusher = new MultistreamPusher(p, targets, {
    redis, prefix: config.redisPrefix, outbound, backoffMs: config.api.multistreamBackoffMs, maxBackoffMs: config.api.multistreamMaxBackoffMs,
    logger: p.logger.child({ component: 'multistream' }),
    notify: (event, stream, target, ref, error) => {
      if (!stream.ownerId) return;
      const payload = { stream: streamPayload(stream), payload: { target: { id: target.id, name: target.name, profile: ref.profile, videoOnly: ref.videoOnly }, ...(error ? { error } : {}) } };
      webhooks
        .subscribers(stream.ownerId, event, stream.id)
        .then((hooks) => (hooks.length ? deliveries.enqueue(hooks, event, payload) : null))
        .catch((err) => p.logger.error({ err, event, streamId: stream.id }, 'could not queue webhook deliveries'));
    },
  });

  // CORS preflight for browser apps (the answers' CORS headers are set by requireApiKey)
  app.options('/api/*', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .status(204)
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE')
      .header('access-control-allow-headers', 'authorization, content-type, livepeer-jwt')
      .header('access-control-max-age', '600')
      .send());
  await app.register(sessionRoutes(p, sessions, o.apiKeys), { prefix: '/api' });
  await app.register(webhookRoutes(p, webhooks, o.apiKeys, { outbound, deliveries }), { prefix: '/api' });
  await app.register(playbackRoutes(p, assets), { prefix: '/api' });
  await app.register(usageRoutes(usage, o.apiKeys), { prefix: '/api' });
  await app.register(viewershipRoutes(views, usage, o.apiKeys), { prefix: '/api' });
  await app.register(tokenGateRoutes(p, tokenGate, config.chainId), { prefix: '/api' });
  await app.register(signingKeyRoutes(signingKeys, o.apiKeys), { prefix: '/api' });
  await app.register(watchRoutes(p, assets));
  const notifyAsset = (event: 'asset.created' | 'asset.ready' | 'asset.failed', a: Asset) => {
    webhooks
      .subscribers(a.ownerId, event, null)
      .then((hooks) => (hooks.length ? deliveries.enqueue(hooks, event, { asset: assetPayload(a), payload: { assetId: a.id } }) : null))
      .catch((err) => p.logger.error({ err, event, assetId: a.id }, 'could not queue webhook deliveries'));
  };
  const runner = new AssetRunner(p, assets, {
    redis, prefix: config.redisPrefix, dataDir: config.dataDir, outbound, maxAssetBytes: config.api.maxAssetBytes, leaseMs: config.api.assetLeaseMs,
    finished: ({ asset, phase }) => {
      // a transcode job is not an asset of the caller's: its outputs go to the caller's bucket instead
      if (asset.source.type !== 'transcode') return notifyAsset(phase === 'ready' ? 'asset.ready' : 'asset.failed', asset);
      if (phase === 'ready') void deliverOutputs(p, assets, asset, outbound);
    },
    cutClip: async (asset, dest, signal) => {
      if (asset.source.type !== 'clip') throw new Error('not a clip');
      const session = await sessions.getAny(asset.source.sessionId);
      const plan = session ? planClip(session, asset.source.startTime, asset.source.endTime) : null;
      if (!session || !plan) throw new Error('nothing recorded covers the range any more');
      await cutClip(p, session.id, plan, dest, signal);
    },
  });
  // assets another orchestrator left processing are taken over once this one serves HTTP (workers fetch their segments)
  app.addHook('onListen', async () => runner.start());
  await app.register(
    assetRoutes(p, assets, o.apiKeys, runner, { maxAssetBytes: config.api.maxAssetBytes, outbound, created: (a) => notifyAsset('asset.created', a) }),
    { prefix: '/api' },
  );
  await app.register(assetTusRoutes(p, assets, runner, { dataDir: config.dataDir, maxAssetBytes: config.api.maxAssetBytes }));
  await app.register(taskRoutes(assets, o.apiKeys), { prefix: '/api' });
  await app.register(transcodeJobRoutes(assets, o.apiKeys, runner, { outbound }), { prefix: '/api' });
  await app.register(clipRoutes(p, assets, sessions, o.apiKeys, runner, { created: (a) => notifyAsset('asset.created', a) }), { prefix: '/api' });
  await app.register(multistreamRoutes(p, targets, o.apiKeys, { outbound }), { prefix: '/api' });
  await app.register(vodRoutes(p, assets, sessions));
  await app.register(dashboardRoutes(p, o.apiKeys));

  return {
    sessions,
    webhooks,
    usage,
    assets,
    deliveries,
    async close() {
      await pusher.close();
      await recorder.close();
      await runner.close();
      await deliveries.close();
      queueConnection.disconnect();
      o.apiKeys.rateLimiter = null;
      redis.disconnect();
    },
  };
}
