import { zeroAddress } from 'viem';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createRedis } from './redis/redisClient.js';
import { pino, type Logger } from 'pino';
import { activeStreamsKey, ApiError } from '@segmint/protocol';
import { ApiKeyStore } from './auth/apiKeys.js';
import { AuditStore } from './audit/auditStore.js';
import { JobTokens } from './auth/jobTokens.js';
import { claimSecret, deploymentSecret } from './auth/deploymentSecret.js';
import { registerErrorHandling } from './api/errors.js';
import { registerOpenApi } from './api/openapi.js';
import { apiKeyRoutes } from './api/routes/apiKeys.js';
import { auditRoutes } from './api/routes/audit.js';
import { startIntegratorApi, type IntegratorApi } from './api/integrator.js';
import { hlsRoutes } from './api/routes/hls.js';
import { SegmentSigner } from './hls/segmentSigner.js';
import { attachTracker } from './p2p/tracker.js';
import { ViewerStats } from './p2p/viewerStats.js';
import { livePushRoutes } from './api/routes/livePush.js';
import { streamRoutes } from './api/routes/streams.js';
import { TargetStore } from './multistream/targetStore.js';
import { StreamPuller } from './pull/streamPuller.js';
import { readTargetStatus } from './multistream/multistreamPusher.js';
import { marketplaceRoutes } from './api/routes/marketplace.js';
import { edgeRoutes } from './api/routes/edges.js';
import { EdgeDelivery } from './edges/edgeDelivery.js';
import { transcodeRoutes, workerJobLinks } from './api/routes/transcode.js';
import type { OrchestratorConfig } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { MarketDispatcher } from './dispatch/marketDispatcher.js';
import { Registry } from './marketplace/registry.js';
import { CachedStake, ChainStake, NoChainStake, type StakeReader } from './marketplace/stake.js';
import { parseJobId } from './ingest/jobIds.js';
import { startPayments } from './payments/startPayments.js';
import { bookedPayment } from './payments/bookedPayment.js';
import { CreditLedger } from './payments/creditLedger.js';
import { LiveState } from './live/liveState.js';
import { createMetrics, registerStateMetrics } from './metrics/metrics.js';
import type { Pipeline } from './pipeline.js';
import { skip } from './results/stages/publishResult.js';
import { Slasher } from './verification/slasher.js';
import { noVerifier, redoUnchecked } from './verification/spotCheck.js';
import { HardContent } from './verification/hardContent.js';
import { OwnChecks } from './verification/ownChecks.js';
import { PendingChecks } from './verification/pendingChecks.js';
import { runOwnCheck } from './verification/runOwnCheck.js';
import { sweepStuckSeqs } from './live/stuckSweeper.js';
import { SweepLease } from './redis/sweepLease.js';
import { encoderFingerprint } from '@segmint/media';
import { RtmpServer } from './rtmp/rtmpServer.js';
import { openStorage } from './storage/openStorage.js';
import { StreamStore } from './streams/streamStore.js';

export type Orchestrator = {
  /** Base URL the HTTP server answers at. */
  url: string;
  app: FastifyInstance;
  pipeline: Pipeline;
  apiKeys: ApiKeyStore;
  db: Database;
  /** Sessions, webhooks (stores and delivery queue). */
  integrator: IntegratorApi;
  /** RTMP ingest server; null when SEGMINT_RTMP_PORT is -1. */
  rtmp: RtmpServer | null;
  close(): Promise<void>;
};

export type StartOrchestratorOptions = {
  logger?: Logger;
  /** Share an already open database (tests open one per file: PGlite takes seconds to start). */
  db?: Database;
};

/** Stake from StakingManager when a chain is configured, else none (dev: keep SEGMINT_MIN_STAKE 0). */
async function stakeReader(config: OrchestratorConfig, logger: Logger): Promise<StakeReader> {
  if (!config.chainRpcUrl || !config.stakingManager) {
    if (config.minStake > 0n) logger.warn('SEGMINT_MIN_STAKE is set but no chain is (CHAIN_RPC_URL, SEGMINT_STAKING_MANAGER): no worker will be eligible');
    return new NoChainStake();
  }
  const chain = new ChainStake(config.chainRpcUrl, config.stakingManager);
  const chainId = await chain.chainId().catch((err: Error) => {
    throw new Error(`cannot reach CHAIN_RPC_URL ${config.chainRpcUrl}: ${err.message}`);
  });
  if (chainId !== config.chainId) throw new Error(`CHAIN_RPC_URL is chain ${chainId} but SEGMINT_CHAIN_ID is ${config.chainId}: set SEGMINT_CHAIN_ID=${chainId}`);
  return new CachedStake(chain, { ttlMs: config.stakeCacheMs, maxStaleMs: config.stakeMaxStaleMs, logger: logger.child({ component: 'stake' }) });
}

/** Starts an orchestrator: database, Redis live state, BullMQ dispatch, HTTP server, idle sweep. */
export async function startOrchestrator(given: OrchestratorConfig, opts: StartOrchestratorOptions = {}): Promise<Orchestrator> {
  const config: OrchestratorConfig = { ...given, secret: await deploymentSecret(given.secret, given.dataDir) };
  const logger = opts.logger ?? pino({ level: config.logLevel, name: 'orchestrator' });
  // Reconnects forever, at most 500 ms apart (a restarted Redis is used again within that); a
  // request fails after 3 tries meanwhile rather than hanging.
  const redis = createRedis({ url: config.redisUrl, cluster: config.redisCluster }, { maxRetriesPerRequest: 3, lazyConnect: true, retryStrategy: (times) => Math.min(times * 50, 500) });
  await redis.connect();
  // One secret per deployment: refuse to run beside an orchestrator that signs with another.
  await claimSecret(redis, config.redisPrefix, config.secret).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const storage = await openStorage(config.storage).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  logger.info({ storage: storage.location }, 'segment storage');
  const db = opts.db ?? (await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'pglite') }));
  const metrics = createMetrics();
  const stake = await stakeReader(config, logger);
  const registry = new Registry(redis, config.redisPrefix, stake, config.heartbeatTtlMs, {
    workerRedisUrl: config.workerRedisUrl,
    expireMs: config.workerExpireSec * 1000,
  });
  registerStateMetrics(metrics.registry, { redis, workers: () => registry.views(), liveStreams: () => redis.zcard(activeStreamsKey(config.redisPrefix)) });
  // Checks concluded within 10 minutes count as open; a lost one stops counting after that.
  const pendingChecks = new PendingChecks(redis, config.redisPrefix, config.maxPendingChecks, 600_000);
  const ownChecks = new OwnChecks(redis, config.redisPrefix);
  const dispatcher = new MarketDispatcher({
    pendingChecks,
    redis,
    prefix: config.redisPrefix,
    registry,
    rules: { minStake: config.minStake, maxPricePerPixel: config.maxPricePerPixel },
    attempts: config.attempts,
    deadline: { factor: config.deadlineFactor, minMs: config.deadlineMinMs },
    waitLimitMs: config.dispatchWaitMs,
    links: (job, worker) => workerJobLinks(pipeline)(job, worker),
    metrics,
    logger: logger.child({ component: 'dispatch' }),
  });
  const streams = new StreamStore(db);
  const apiKeys = new ApiKeyStore(db);
  const payments = await startPayments({
    config: config.payments,
    chainRpcUrl: config.chainRpcUrl,
    chainId: config.chainId,
    redis,
    prefix: config.redisPrefix,
    logger: logger.child({ component: 'payments' }),
    metrics,
  });

  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // per-request lines would be one per segment and rendition: metrics cover that instead
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Strict schemas: unknown fields and wrong types are errors, never silently dropped or coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  });

  const pipeline: Pipeline = {
    // publicUrl is filled in once the server listens (the port may be chosen by the OS)
    config: { publicUrl: config.publicUrl, hlsWindow: config.hlsWindow, hlsRetain: config.hlsRetain, spotCheckRate: config.spotCheckRate, testSpotCheckSeed: config.testSpotCheckSeed, ssimExcludeMs: config.ssimExcludeSec * 1000, cheaterExcludeMs: config.cheaterExcludeSec * 1000 },
    streams,
    live: new LiveState(redis, config.redisPrefix),
    storage,
    dispatcher,
    tokens: new JobTokens(config.secret),
    audit: {
      store: new AuditStore(db, config.auditRetentionSec),
      domain: { chainId: config.chainId, stakingManager: config.stakingManager ?? zeroAddress },
      slasher:
        config.chainRpcUrl && config.stakingManager && config.verifierKey
          ? new Slasher(config.chainRpcUrl, config.chainId, config.stakingManager, config.verifierKey)
          : undefined,
    },
    segmentSigner: SegmentSigner.fromConfig(config.segmentSigningKey, config.secret),
    viewerStats: new ViewerStats(redis, config.redisPrefix),
    metrics,
    logger,
    events: new EventEmitter(),
    endSession: async () => {}, // set below, once the sweep's helpers exist
    payments,
    checks: { pending: pendingChecks, own: ownChecks, referenceFingerprint: await encoderFingerprint('libx264'), qualityRate: config.qualityCheckRate, hardContent: new HardContent(redis, config.redisPrefix, config.hardContentSec * 1000) },
    onSessionStart(stream, session) {
      logger.info({ streamId: stream.id, session }, 'stream session started');
      streams.setActive(stream.id, true, Date.now()).catch((err) => logger.error({ err }, 'could not mark stream active'));
      pipeline.events.emit('session.started', stream, session);
    },
  };

  if (config.checkConcurrency > 0) {
    ownChecks.start((d) => runOwnCheck(pipeline, d, (f, except) => redoUnchecked(pipeline, f, except)), config.checkConcurrency, logger.child({ component: 'checks' }));
  }
  dispatcher.onCheckGaveUp((job) => void noVerifier(pipeline, job).catch((err) => logger.warn({ err }, 'could not record a dropped spot-check')));
  // A segment whose job failed every attempt is skipped, so the ones after it still publish.
  dispatcher.onGaveUp((job, reason, detail) => {
    const id = parseJobId(job.jobId);
    logger.warn({ jobId: job.jobId, reason, detail }, 'segment failed every attempt; skipping it');
    metrics.jobsFailed.inc();
    if (!id) return;
    void skip(pipeline, { ...id, reason, detail }).catch((err) => logger.error({ err }, 'could not skip segment'));
  });

  registerErrorHandling(app);
  await registerOpenApi(app);
  const multistream = {
    targets: new TargetStore(db),
    outbound: { allowPrivate: config.api.allowPrivateUrls, trustedHosts: config.api.trustedUrlHosts },
    status: (streamId: string) => readTargetStatus(redis, config.redisPrefix, streamId),
  };
  await app.register(streamRoutes(pipeline, apiKeys, multistream), { prefix: '/api' });
  await app.register(apiKeyRoutes(apiKeys), { prefix: '/api' });
  await app.register(auditRoutes(pipeline, apiKeys), { prefix: '/api' });
  const integrator = await startIntegratorApi(app, pipeline, { db, apiKeys, config });
  await app.register(livePushRoutes(pipeline, { maxSegmentBytes: config.maxSegmentBytes }));
  await app.register(
    transcodeRoutes(pipeline, {
      maxSegmentBytes: config.maxSegmentBytes,
      ...(payments ? { bookedPayment: bookedPayment(payments, new CreditLedger(redis, config.redisPrefix)) } : {}),
    }),
  );
  await app.register(
    marketplaceRoutes(pipeline, {
      registry,
      chainId: config.chainId,
      stakingManager: config.stakingManager ?? zeroAddress,
      minStake: config.minStake,
      maxPricePerPixel: config.maxPricePerPixel,
      heartbeatIntervalMs: Math.max(100, Math.floor(config.heartbeatTtlMs / 3)),
      registerRateLimit: config.registerRateLimit,
      redisPrefix: config.redisPrefix,
    }),
  );
  await app.register(hlsRoutes(pipeline));
  const edges = new EdgeDelivery(pipeline, redis, config.redisPrefix, stake, config.edges, { chainId: config.chainId, stakingManager: config.stakingManager ?? zeroAddress }, multistream.outbound, logger.child({ component: 'edges' }));
  await app.register(edgeRoutes(pipeline, edges));
  await attachTracker(app, pipeline, { redis, prefix: config.redisPrefix });
  app.get('/healthz', async () => {
    await redis.ping();
    return { status: 'ok' };
  });
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  await app.listen({ port: config.httpPort, host: config.httpHost });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  const url = `http://${config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost}:${port}`;
  pipeline.config.publicUrl ||= url;
  edges.start();

  const endSession = async (streamId: string, why: 'idle' | 'terminated') => {
    logger.info({ streamId, why }, 'stream session ended');
    await streams.setActive(streamId, false, Date.now());
    pipeline.events.emit('session.ended', streamId);
  };
  pipeline.endSession = async (streamId: string) => {
    if (await pipeline.live.end(streamId, 'force')) await endSession(streamId, 'terminated');
  };

  const rtmp = config.rtmp.port >= 0 ? await RtmpServer.start(pipeline, { ...config.rtmp, idleTimeoutSec: config.idleTimeoutSec }, logger) : null;
  pipeline.ingestHealth = (streamId) => rtmp?.health(streamId) ?? null;
  // pull streams: republished into our own RTMP ingest, or read over HLS (pull/streamPuller.ts)
  const rtmpHost = config.rtmp.host === '0.0.0.0' || config.rtmp.host === '::' ? '127.0.0.1' : config.rtmp.host;
  const puller = new StreamPuller(pipeline, {
    redis, prefix: config.redisPrefix, outbound: multistream.outbound, rtmpUrl: rtmp ? `rtmp://${rtmpHost.includes(':') ? `[${rtmpHost}]` : rtmpHost}:${rtmp.port}` : '',
    maxSegmentBytes: config.maxSegmentBytes, logger: logger.child({ component: 'pull' }),
  });
  pipeline.startPull = (stream) => {
    if (!rtmp && /^rtmps?:/.test(stream.pull?.source ?? '')) throw new ApiError('VALIDATION_FAILED', 'RTMP pulls need the RTMP ingest (SEGMINT_RTMP_PORT is -1)');
    return puller.start(stream);
  };

  // Each periodic sweep runs on one orchestrator at a time, whichever holds its short lease: with
  // N orchestrators on one Redis the others pay one round trip a tick, not the sweep (bench:scale).
  const leases = {
    live: new SweepLease(redis, config.redisPrefix, 'live', 3000),
    reindex: new SweepLease(redis, config.redisPrefix, 'reindex', 90_000),
    registry: new SweepLease(redis, config.redisPrefix, 'registry', 3 * Math.min(10_000, config.workerExpireSec * 250)),
  };
  // Once a second, from one read of the live indexes: sessions idle past SEGMINT_IDLE_TIMEOUT end,
  // and seqs a crash left in flight are recovered or skipped once every deadline of theirs is long
  // past. (One timer and one read, not two: an idle orchestrator wakes up as little as it can.)
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    liveSweep()
      .catch((err) => logger.warn({ err }, 'live sweep failed'))
      .finally(() => (sweeping = false));
  }, 1000);
  sweep.unref();
  const liveSweep = async () => {
    const [active, draining] = await Promise.all([pipeline.live.activeWithLastIngest(), pipeline.live.drainingStreams()]);
    // the indexes are two cheap reads; the lease is taken only when there is something to sweep
    if (active.length === 0 && draining.length === 0) return;
    if (!(await leases.live.held())) return;
    const cutoff = Date.now() - config.idleTimeoutSec * 1000;
    for (const { streamId } of active.filter((a) => a.lastIngestAt <= cutoff)) {
      if (await pipeline.live.heldOverRtmp(streamId)) continue; // published over RTMP (on any orchestrator), or inside its reconnect window
      if (!(await pipeline.live.end(streamId, cutoff))) continue;
      await endSession(streamId, 'idle');
    }
    await sweepStuckSeqs(pipeline, Date.now(), { active: active.map((a) => a.streamId), draining });
  };
  // The stream indexes repaired from the live state (what a crash between the two left behind).
  const reindex = () => void leases.reindex.held().then(async (mine) => {
    const n = mine ? await pipeline.live.reindex() : 0;
    if (n > 0) logger.warn({ streams: n }, 'streams missing from the live indexes put back');
  }).catch((err) => logger.warn({ err }, 'live reindex failed'));
  const reindexSweep = setInterval(reindex, 60_000);
  reindexSweep.unref();
  reindex();
  // Stale registrations and orphaned worker ACL users (any orchestrator may do it; idempotent).
  const registrySweep = setInterval(() => {
    leases.registry.held().then(async (mine) => {
      const gone = mine ? await registry.sweep() : [];
      if (gone.length) logger.info({ workers: gone }, 'forgot workers not seen for SEGMINT_WORKER_EXPIRE_SEC');
    }).catch((err) => logger.warn({ err }, 'registry sweep failed'));
  }, Math.min(10_000, config.workerExpireSec * 250));
  registrySweep.unref();
  // Redis restarted (ACL users made at runtime are not in its AOF): recreate the workers' users at
  // start and as soon as the connection is back, not at the next sweep, so their queues log in again.
  const recreateAclUsers = () => void registry.sweep().catch((err) => logger.warn({ err }, 'registry sweep after (re)connecting failed'));
  redis.on('ready', recreateAclUsers);
  recreateAclUsers();

  return {
    url,
    app,
    pipeline,
    apiKeys,
    db,
    integrator,
    rtmp,
    async close() {
      clearInterval(sweep);
      clearInterval(reindexSweep);
      clearInterval(registrySweep);
      await Promise.all(Object.values(leases).map((l) => l.release().catch(() => {})));
      edges.stop();
      await puller.close();
      await rtmp?.close();
      await app.close();
      await integrator.close();
      await dispatcher.close();
      await ownChecks.close();
      redis.disconnect();
      storage.close?.();
      if (!opts.db) await db.close();
    },
  };
}
