/** Every event a webhook can subscribe to (Studio's names). */
export const WEBHOOK_EVENTS = [
  'stream.started',
  'stream.idle',
  'recording.ready',
  'asset.created',
  'asset.ready',
  'asset.failed',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * Which events are sent today: stream ones. Recording and asset events are declared (a webhook may
 * subscribe to them) but nothing emits them until recordings and assets exist.
 */
export const EMITTED_EVENTS: readonly WebhookEvent[] = ['stream.started', 'stream.idle'];
