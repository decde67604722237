import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type, type Static } from 'typebox';
import {
  ApiError,
  CapabilitiesSchema,
  MarketplaceInfoSchema,
  RegisteredSchema,
  RegistrationSchema,
  registrationSigner,
  type MarketplaceInfo,
} from '@segmint/protocol';
import { RateLimitedError, RateLimiter } from '../../auth/rateLimiter.js';
import type { Registry, WorkerView } from '../../marketplace/registry.js';
import type { Pipeline } from '../../pipeline.js';
import { errorResponses } from '../schemas.js';

export type MarketplaceRouteOptions = {
  registry: Registry;
  chainId: number;
  /** Verifying contract of commitments; the zero address when no chain is configured. */
  stakingManager: `0x${string}`;
  minStake: bigint;
  maxPricePerPixel: bigint;
  heartbeatIntervalMs: number;
  /** Registrations per minute per worker address (signed ones) and per client IP (any); 0: no limit. */
  registerRateLimit: { perAddress: number; perIp: number };
  /** Redis key prefix (the rate counters live under it, shared by every orchestrator). */
  redisPrefix: string;
};

const AddressParams = Type.Object({ address: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }) });
const HeartbeatBody = Type.Object({ worker: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }) }, { additionalProperties: false });

const WorkerSchema = Type.Object({
  address: Type.String(),
  pricePerPixel: Type.String({ description: 'wei per pixel' }),
  capabilities: CapabilitiesSchema,
  registeredAt: Type.Number(),
  online: Type.Boolean({ description: 'heartbeat fresh' }),
  stake: Type.String({ description: 'wei bonded on StakingManager' }),
  stakeUnavailable: Type.Boolean({ description: 'no stake read recently enough (chain RPC down past SEGMINT_STAKE_MAX_STALE_MS): wins nothing until a read succeeds; stake then shows 0' }),
  jailed: Type.Boolean(),
  inflight: Type.Integer(),
  performance: Type.Object({
    latencyRatio: Type.Number({ description: 'EWMA of wall time ÷ segment duration' }),
    successRate: Type.Number({ description: 'EWMA of results valid and on time' }),
    jobs: Type.Integer(),
    failures: Type.Integer(),
    faults: Type.Integer({ description: 'outputs proven wrong by spot-checks' }),
  }),
});

/**
 * Worker-facing marketplace routes: what to sign, registration (EIP-712, replay-protected),
 * heartbeats, and a public view of the workers (prices, stake, measured performance).
 */
export function marketplaceRoutes(p: Pipeline, o: MarketplaceRouteOptions): FastifyPluginAsync {
  const heartbeatToken = (worker: string) => p.tokens.sign(`worker/${worker.toLowerCase()}`);
  const info = (): MarketplaceInfo => ({
    orchestrator: p.config.publicUrl,
    chainId: o.chainId,
    stakingManager: o.stakingManager,
    minStake: o.minStake.toString(),
    maxPricePerPixel: o.maxPricePerPixel.toString(),
    heartbeatIntervalMs: o.heartbeatIntervalMs,
  });

  const perAddress = new RateLimiter(o.registry.redis, `${o.redisPrefix}:mkt:register:address`, o.registerRateLimit.perAddress);
  const perIp = new RateLimiter(o.registry.redis, `${o.redisPrefix}:mkt:register:ip`, o.registerRateLimit.perIp);
  const limit = async (limiter: RateLimiter, id: string, what: string, reply: FastifyReply) => {
    try {
      await limiter.hit(id);
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      reply.header('retry-after', String(err.retryAfterSec));
      throw new ApiError('REGISTRATION_RATE_LIMITED', `too many registrations ${what}; retry in ${err.retryAfterSec} s`);
    }
  };

  return async (app) => {
    const tags = ['marketplace'];

    app.get('/marketplace/info', { schema: { tags, summary: 'What a worker signs into its registration', response: { 200: MarketplaceInfoSchema } } }, async () => info());

    app.post<{ Body: Static<typeof RegistrationSchema> }>(
      '/marketplace/register',
      {
        schema: {
          tags,
          summary: 'Register a worker (EIP-712 signed by the worker address)',
          body: RegistrationSchema,
          response: { 200: RegisteredSchema, ...errorResponses('REGISTRATION_FORGED', 'REGISTRATION_REPLAYED', 'REGISTRATION_RATE_LIMITED') },
        },
      },
      async (req, reply) => {
        const r = req.body;
        // Per IP before any work; per address only once signed (else anyone could use up a worker's quota).
        await limit(perIp, req.ip, `from ${req.ip}`, reply);
        let signer: string;
        try {
          signer = await registrationSigner(r, info().orchestrator, o.chainId);
        } catch {
          throw new ApiError('REGISTRATION_FORGED', 'the signature does not decode');
        }
        if (signer.toLowerCase() !== r.worker.toLowerCase()) {
          throw new ApiError('REGISTRATION_FORGED', `signed by ${signer}, not by ${r.worker} (sign with the worker's key, for orchestrator ${info().orchestrator} on chain ${o.chainId})`);
        }
        await limit(perAddress, r.worker.toLowerCase(), `for ${r.worker}`, reply);
        const stored = await o.registry.register(r);
        if (!stored) throw new ApiError('REGISTRATION_REPLAYED', `nonce ${r.nonce} is not above the last one used by ${r.worker}`);
        if (!stored.redis) throw new Error('the registry gives workers no Redis credentials (workerRedisUrl unset)');
        req.log.info({ worker: r.worker, pricePerPixel: r.pricePerPixel, capabilities: r.capabilities }, 'worker registered');
        return { worker: r.worker.toLowerCase(), heartbeatToken: heartbeatToken(r.worker), heartbeatIntervalMs: o.heartbeatIntervalMs, redis: stored.redis };
      },
    );

    app.post<{ Body: Static<typeof HeartbeatBody> }>(
      '/marketplace/heartbeat',
      { schema: { tags, summary: 'Worker heartbeat (Bearer heartbeatToken)', body: HeartbeatBody, response: { 204: Type.Null(), ...errorResponses('WORKER_NOT_REGISTERED') } } },
      async (req, reply) => {
        const header = req.headers.authorization ?? '';
        if (!p.tokens.verify(`worker/${req.body.worker.toLowerCase()}`, header.startsWith('Bearer ') ? header.slice(7) : undefined)) {
          throw new ApiError('UNAUTHORIZED', 'bad or missing heartbeat token (register first)');
        }
        if (!(await o.registry.heartbeat(req.body.worker))) throw new ApiError('WORKER_NOT_REGISTERED', `${req.body.worker} is not registered: register again`);
        return reply.status(204).send();
      },
    );

    const view = (c: WorkerView): Static<typeof WorkerSchema> => ({
      address: c.worker,
      pricePerPixel: c.pricePerPixel.toString(),
      capabilities: c.capabilities,
      registeredAt: c.registeredAt,
      online: c.heartbeatFresh,
      stake: c.stake.toString(),
      stakeUnavailable: c.stakeUnavailable === true,
      jailed: c.jailed,
      inflight: c.inflight,
      performance: { ...c.perf, ...c.counts },
    });

    app.get(
      '/marketplace/workers',
      { schema: { tags, summary: 'Registered workers', response: { 200: Type.Array(WorkerSchema) } } },
      // One pipelined read of every worker (the same few round trips for any number of workers).
      async () => (await o.registry.views()).map(view),
    );

    app.get<{ Params: Static<typeof AddressParams> }>(
      '/marketplace/workers/:address',
      { schema: { tags, summary: 'One worker', params: AddressParams, response: { 200: WorkerSchema, ...errorResponses('WORKER_NOT_REGISTERED') } } },
      async (req) => {
        const c = (await o.registry.views()).find((x) => x.worker === req.params.address.toLowerCase());
        if (!c) throw new ApiError('WORKER_NOT_REGISTERED', `${req.params.address} is not registered`);
        return view(c);
      },
    );
  };
}
