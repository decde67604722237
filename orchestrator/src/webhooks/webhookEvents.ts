/** Every event a webhook can subscribe to (Studio's names). */
export const WEBHOOK_EVENTS = [
  'stream.started',
  'stream.idle',
  'recording.ready',
  'asset.created',
  'asset.ready',
  'asset.failed',
  'multistream.connected',
  'multistream.disconnected',
  'multistream.error',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

