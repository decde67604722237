import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '@segmint/protocol';
import type { ApiKeyStore } from '../../auth/apiKeys.js';
import type { Pipeline } from '../../pipeline.js';
import { checkOutboundUrl, type OutboundPolicy } from '../../egress/outboundAddress.js';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../webhooks/webhookEvents.js';
import type { Webhook, WebhookDelivery, WebhookFields, WebhookStore } from '../../webhooks/webhookStore.js';
import type { WebhookQueue } from '../../webhooks/webhookQueue.js';
import { BEARER, keyOf, requireApiKey } from '../auth.js';
import { PageQuery, pageOf, setNextLink } from '../pagination.js';
import { errorResponses, IdParams } from '../schemas.js';

const EventSchema = Type.Unsafe<WebhookEvent>({ type: 'string', enum: [...WEBHOOK_EVENTS] });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const WebhookSchema = Type.Object({
  id: Type.String(),
  kind: Type.Literal('webhook'),
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(EventSchema),
  sharedSecret: Type.String({ description: 'HMAC-SHA256 key of the Livepeer-Signature header' }),
  streamId: Type.Optional(Type.String({ description: 'only events of this stream; absent: every stream' })),
  createdAt: Type.Number(),
  // absent rather than null while unknown: Livepeer's SDK refuses null in these fields
  status: Type.Object({
    lastTriggeredAt: Type.Optional(Type.Number()),
    lastFailure: Type.Optional(Type.Object({ timestamp: Type.Number(), error: Type.String(), statusCode: Type.Optional(Type.Number()), response: Type.Optional(Type.String()) })),
  }),
});

const WebhookBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://\\S+$', description: 'http(s) URL the events are POSTed to' }),
    events: Type.Optional(Type.Array(EventSchema, { minItems: 1, maxItems: WEBHOOK_EVENTS.length, uniqueItems: true, description: 'default: every event' })),
    sharedSecret: Type.Optional(Type.String({ minLength: 16, maxLength: 200, description: 'default: a random one' })),
    streamId: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'only events of this stream' }))),
  },
  { additionalProperties: false },
);

const DeliverySchema = Type.Object({
  id: Type.String(),
  webhookId: Type.String(),
  eventId: Type.String(),
  event: Type.String(),
  attempt: Type.Number(),
  createdAt: Type.Number(),
  duration: Type.Number({ description: 'seconds (as Studio)' }),
  success: Type.Boolean(),
  error: Type.Optional(Type.String({ description: 'why the attempt failed' })),
  request: Type.Object({ url: Type.String(), method: Type.Literal('POST'), body: Type.String() }),
  // absent rather than null when there was no answer: Livepeer's SDK refuses null here
  response: Type.Object({ status: Type.Optional(Type.Number()), body: Type.Optional(Type.String()) }),
});

const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
const LogParams = Type.Object({ id: Type.String({ maxLength: 64 }), logId: Type.String({ maxLength: 64 }) });

const view = (w: Webhook): Static<typeof WebhookSchema> => {
  const f = w.lastFailure;
  return {
    id: w.id, kind: 'webhook', name: w.name, url: w.url, events: w.events, sharedSecret: w.sharedSecret, ...(w.streamId === null ? {} : { streamId: w.streamId }), createdAt: w.createdAt,
    status: {
      ...(w.lastTriggeredAt === null ? {} : { lastTriggeredAt: w.lastTriggeredAt }),
      ...(f ? { lastFailure: { timestamp: f.timestamp, error: f.error, ...(f.statusCode === null ? {} : { statusCode: f.statusCode }), ...(f.response === null ? {} : { response: f.response }) } } : {}),
    },
  };
};

const deliveryView = (d: WebhookDelivery): Static<typeof DeliverySchema> => ({
  id: d.id, webhookId: d.webhookId, eventId: d.eventId, event: d.event, attempt: d.attempt, createdAt: d.createdAt, duration: d.durationMs / 1000,
  success: d.success, ...(d.error === null ? {} : { error: d.error }), request: { url: d.url, method: 'POST', body: d.requestBody },
  response: { ...(d.statusCode === null ? {} : { status: d.statusCode }), ...(d.responseBody === null ? {} : { body: d.responseBody }) },
});

/** `/api/webhook` (Studio's paths): CRUD and a delivery log per webhook. */
export function webhookRoutes(p: Pipeline, hooks: WebhookStore, keys: ApiKeyStore, o: { outbound: OutboundPolicy; deliveries: WebhookQueue }): FastifyPluginAsync {
  return async (app) => {
    requireApiKey(app, keys);
    const tags = ['webhook'];
    const security = BEARER;

    const fieldsOf = async (ownerId: string, b: Static<typeof WebhookBody>): Promise<WebhookFields> => {
      let url: URL;
      try {
        url = new URL(b.url);
      } catch {
        throw new ApiError('VALIDATION_FAILED', 'body/url is not a URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError('VALIDATION_FAILED', 'body/url must be http or https');
      await checkOutboundUrl(url.toString(), o.outbound).catch((err: Error) => {
        throw new ApiError('URL_NOT_ALLOWED', `body/url: ${err.message}; webhooks are delivered to public addresses only`);
      });
      const streamId = b.streamId ?? null;
      if (streamId !== null && !(await p.streams.getOwned(ownerId, streamId))) throw new ApiError('STREAM_NOT_FOUND', `no stream ${streamId}`);
      return { name: b.name, url: url.toString(), events: b.events ?? [...WEBHOOK_EVENTS], sharedSecret: b.sharedSecret, streamId };
    };

    app.post<{ Body: Static<typeof WebhookBody> }>(
      '/webhook',
      // 200, not 201: Livepeer's SDK reads the webhook only from a 200 (its OpenAPI document's code)
      { schema: { tags, security, summary: 'Create a webhook', body: WebhookBody, response: { 200: WebhookSchema, ...errorResponses('STREAM_NOT_FOUND', 'URL_NOT_ALLOWED') } } },
      async (req) => {
        const ownerId = keyOf(req).ownerId;
        return view(await hooks.create(ownerId, await fieldsOf(ownerId, req.body)));
      },
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/webhook',
      { schema: { tags, security, summary: 'List webhooks, newest first', querystring: ListQuery, response: { 200: Type.Array(WebhookSchema), ...errorResponses() } } },
      async (req, reply) => {
        const { limit, after } = pageOf(req.query);
        const list = await hooks.list(keyOf(req).ownerId, { limit, after });
        setNextLink(req, reply, list, limit);
        return list.map(view);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/webhook/:id',
      { schema: { tags, security, summary: 'Get a webhook', params: IdParams, response: { 200: WebhookSchema, ...errorResponses('WEBHOOK_NOT_FOUND') } } },
      async (req) => {
        const hook = await hooks.get(req.params.id, keyOf(req).ownerId);
        if (!hook) throw new ApiError('WEBHOOK_NOT_FOUND', `no webhook ${req.params.id}`);
        return view(hook);
      },
    );

    app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof WebhookBody> }>(
      '/webhook/:id',
      {
        schema: {
          tags, security, summary: 'Replace a webhook (the secret is kept unless a new one is given)', params: IdParams, body: WebhookBody,
          response: { 200: WebhookSchema, ...errorResponses('WEBHOOK_NOT_FOUND', 'STREAM_NOT_FOUND', 'URL_NOT_ALLOWED') },
        },
      },
      async (req) => {
        const ownerId = keyOf(req).ownerId;
        const hook = await hooks.update(ownerId, req.params.id, await fieldsOf(ownerId, req.body));
        if (!hook) throw new ApiError('WEBHOOK_NOT_FOUND', `no webhook ${req.params.id}`);
        return view(hook);
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/webhook/:id',
      // 200 with the deleted webhook: what Livepeer's SDK parses (it fails on an empty 204)
      { schema: { tags, security, summary: 'Delete a webhook (queued deliveries are dropped); answers the deleted webhook', params: IdParams, response: { 200: WebhookSchema, ...errorResponses('WEBHOOK_NOT_FOUND') } } },
      async (req) => {
        const ownerId = keyOf(req).ownerId;
        const hook = await hooks.get(req.params.id, ownerId);
        if (!hook || !(await hooks.delete(ownerId, req.params.id))) throw new ApiError('WEBHOOK_NOT_FOUND', `no webhook ${req.params.id}`);
        return view(hook);
      },
    );

    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
      '/webhook/:id/log',
      {
        schema: {
          tags, security, summary: "A webhook's delivery log: every attempt, newest first", params: IdParams, querystring: ListQuery,
          response: { 200: Type.Array(DeliverySchema), ...errorResponses('WEBHOOK_NOT_FOUND') },
        },
      },
      async (req, reply) => {
        const hook = await hooks.get(req.params.id, keyOf(req).ownerId);
        if (!hook) throw new ApiError('WEBHOOK_NOT_FOUND', `no webhook ${req.params.id}`);
        const { limit, after } = pageOf(req.query);
        const list = await hooks.deliveries(hook.id, { limit, after });
        setNextLink(req, reply, list, limit);
        return list.map(deliveryView);
      },
    );

    const loggedOrThrow = async (ownerId: string, id: string, logId: string) => {
      const hook = await hooks.get(id, ownerId);
      if (!hook) throw new ApiError('WEBHOOK_NOT_FOUND', `no webhook ${id}`);
      const logged = await hooks.delivery(hook.id, logId);
      if (!logged) throw new ApiError('WEBHOOK_LOG_NOT_FOUND', `no delivery ${logId} in the log of webhook ${id}`);
      return { hook, logged };
    };

    app.get<{ Params: Static<typeof LogParams> }>(
      '/webhook/:id/log/:logId',
      { schema: { tags, security, summary: 'One delivery attempt of a webhook', params: LogParams, response: { 200: DeliverySchema, ...errorResponses('WEBHOOK_NOT_FOUND', 'WEBHOOK_LOG_NOT_FOUND') } } },
      async (req) => deliveryView((await loggedOrThrow(keyOf(req).ownerId, req.params.id, req.params.logId)).logged),
    );

    app.post<{ Params: Static<typeof LogParams> }>(
      '/webhook/:id/log/:logId/resend',
      {
        schema: {
          tags, security, summary: 'Send a logged delivery again, now (same body, fresh signature); answers the new attempt',
          description: 'The new attempt is in the log too. It goes to the webhook\'s current URL, through the same public-address check.',
          params: LogParams, response: { 200: DeliverySchema, ...errorResponses('WEBHOOK_NOT_FOUND', 'WEBHOOK_LOG_NOT_FOUND') },
        },
      },
      async (req) => {
        const { hook, logged } = await loggedOrThrow(keyOf(req).ownerId, req.params.id, req.params.logId);
        return deliveryView(await o.deliveries.resend(hook, logged));
      },
    );
  };
}
