import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import {
  ApiError, EdgeFaultReportSchema, EdgeHeartbeatSchema, EdgeRegisteredSchema, EdgeRegistrationSchema, edgeRegistrationSigner,
  ReceiptBatchSchema, ViewerSessionRequestSchema, ViewerSessionSchema, type TicketParams,
} from '@segmint/protocol';
import type { EdgeDelivery } from '../../edges/edgeDelivery.js';
import type { EdgeView } from '../../edges/edgeRegistry.js';
import type { Pipeline } from '../../pipeline.js';
import { errorResponses } from '../schemas.js';

const AddressParams = Type.Object({ address: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }) });
const EdgeSchema = Type.Object({
  address: Type.String(),
  url: Type.String(),
  maxViewers: Type.Integer(),
  registeredAt: Type.Number(),
  online: Type.Boolean({ description: 'heartbeat fresh' }),
  excluded: Type.Boolean({ description: 'proven to serve wrong bytes: no viewers, no payment' }),
  load: Type.Integer({ description: 'viewer sessions steered here and not idle' }),
  stake: Type.String({ description: 'wei bonded on StakingManager' }),
  mysteryFailStreak: Type.Integer(),
  latencyMs: Type.Number({ description: 'EWMA of the mystery viewer\'s fetch time' }),
  stats: Type.Record(Type.String(), Type.String(), { description: 'receipts, paidBytes, rejected.CODE, mysteryOk, mysteryFailed, faults' }),
});

const view = (e: EdgeView): Static<typeof EdgeSchema> => ({
  address: e.edge, url: e.url, maxViewers: e.maxViewers, registeredAt: e.registeredAt, online: e.fresh, excluded: e.excluded, load: e.load,
  stake: e.stake.toString(), mysteryFailStreak: e.mysteryFailStreak, latencyMs: e.latencyMs, stats: e.stats,
});

/**
 * Edge delivery routes (docs/edge.md): edges register, heartbeat and submit viewers' receipts;
 * players start a viewer session (steered to an edge or the origin) and report an edge's wrong bytes.
 */
export function edgeRoutes(p: Pipeline, edges: EdgeDelivery): FastifyPluginAsync {
  const token = (edge: string) => p.tokens.sign(`edge/${edge.toLowerCase()}`);
  const authorize = (req: FastifyRequest, edge: string) => {
    const h = req.headers.authorization ?? '';
    if (!p.tokens.verify(`edge/${edge.toLowerCase()}`, h.startsWith('Bearer ') ? h.slice(7) : undefined)) throw new ApiError('UNAUTHORIZED', 'bad or missing edge token (register first)');
  };
  return async (app) => {
    const tags = ['edges'];
    app.addHook('onSend', async (req, reply) => {
      if (req.url.startsWith('/edges/sessions') || req.url.startsWith('/edges/faults')) reply.header('access-control-allow-origin', '*');
    });

    app.post<{ Body: Static<typeof EdgeRegistrationSchema> }>(
      '/edges/register',
      { schema: { tags, summary: 'Register an edge (EIP-712 signed by the edge address)', body: EdgeRegistrationSchema, response: { 200: EdgeRegisteredSchema, ...errorResponses('EDGE_REGISTRATION_FORGED', 'EDGE_REGISTRATION_REPLAYED') } } },
      async (req) => {
        const r = req.body;
        const signer = await edgeRegistrationSigner(r, p.config.publicUrl, edges.domain.chainId).catch(() => null);
        if (signer?.toLowerCase() !== r.edge.toLowerCase()) {
          throw new ApiError('EDGE_REGISTRATION_FORGED', `not signed by ${r.edge} (sign with the edge's key, for orchestrator ${p.config.publicUrl} on chain ${edges.domain.chainId})`);
        }
        if (!(await edges.registry.register(r))) throw new ApiError('EDGE_REGISTRATION_REPLAYED', `nonce ${r.nonce} is not above the last one used by ${r.edge}`);
        req.log.info({ edge: r.edge, url: r.url }, 'edge registered');
        return {
          edge: r.edge.toLowerCase(), token: token(r.edge), heartbeatIntervalMs: Math.max(100, Math.floor(edges.config.heartbeatTtlMs / 3)),
          pricePerByte: edges.config.pricePerByte.toString(), chainId: edges.domain.chainId, stakingManager: edges.domain.stakingManager,
        };
      },
    );

    app.post<{ Body: Static<typeof EdgeHeartbeatSchema> }>(
      '/edges/heartbeat',
      { schema: { tags, summary: 'Edge heartbeat (Bearer token from registration)', body: EdgeHeartbeatSchema, response: { 204: Type.Null(), ...errorResponses('EDGE_NOT_REGISTERED') } } },
      async (req, reply) => {
        authorize(req, req.body.edge);
        if (!(await edges.registry.heartbeat(req.body.edge))) throw new ApiError('EDGE_NOT_REGISTERED', `${req.body.edge} is not registered: register again`);
        return reply.status(204).send();
      },
    );

    app.post<{ Body: Static<typeof ReceiptBatchSchema> }>(
      '/edges/receipts',
      { schema: { tags, summary: 'An edge submits viewers\' receipts; answered with what each paid and the tickets', body: ReceiptBatchSchema, response: errorResponses('EDGE_NOT_REGISTERED', 'EDGE_EXCLUDED', 'TICKET_PARAMS_INVALID') } },
      async (req) => {
        authorize(req, req.body.edge);
        return edges.submit(req.body.edge, req.body.receipts, req.body.ticketParams as TicketParams | undefined);
      },
    );

    app.post<{ Body: Static<typeof ViewerSessionRequestSchema> }>(
      '/edges/sessions',
      { schema: { tags, summary: 'A player starts a viewer session: steered to an edge (or the origin), bound to its session key', body: ViewerSessionRequestSchema, response: { 200: ViewerSessionSchema, ...errorResponses('PLAYBACK_NOT_FOUND', 'RATE_LIMITED') } } },
      async (req) => edges.startSession(req.body, req.ip),
    );

    app.post<{ Body: Static<typeof EdgeFaultReportSchema> }>(
      '/edges/faults',
      { schema: { tags, summary: 'Report an edge that served wrong bytes, with its signature over them', body: EdgeFaultReportSchema, response: errorResponses('EDGE_NOT_REGISTERED', 'FAULT_NOT_PROVEN') } },
      async (req) => edges.faults.report(req.body, `viewer session ${req.body.session}`),
    );

    app.get('/edges', { schema: { tags, summary: 'Registered edges', response: { 200: Type.Array(EdgeSchema) } } }, async () => (await edges.registry.views()).map(view));

    app.get<{ Params: Static<typeof AddressParams> }>(
      '/edges/:address',
      { schema: { tags, summary: 'One edge, with its proven faults', params: AddressParams, response: { 200: Type.Object({ ...EdgeSchema.properties, faults: Type.Array(Type.Unknown()) }), ...errorResponses('EDGE_NOT_REGISTERED') } } },
      async (req) => {
        const e = (await edges.registry.views()).find((x) => x.edge === req.params.address.toLowerCase());
        if (!e) throw new ApiError('EDGE_NOT_REGISTERED', `${req.params.address} is not registered`);
        return { ...view(e), faults: await edges.registry.faults(e.edge) };
      },
    );
  };
}
