/**
 * Webhook delivery knobs. Part of ORCHESTRATOR_KNOBS (config.ts spreads them in). No imports from
 * config.ts: it imports this file.
 *
 * Retries: BullMQ exponential backoff, attempt n waits backoff × 2^(n-1); the defaults (10
 * attempts, 10 s) keep retrying for about 85 minutes after the first failure.
 */
export const WEBHOOK_KNOBS = {
  webhookAttempts: { env: 'SEGMINT_WEBHOOK_ATTEMPTS', flag: '--webhook-attempts', default: '10', help: 'Delivery attempts per webhook event (exponential backoff between them)' },
  webhookBackoffMs: { env: 'SEGMINT_WEBHOOK_BACKOFF_MS', flag: '--webhook-backoff-ms', default: '10000', help: 'First retry delay of a failed webhook delivery; doubles each attempt (defaults: ~85 min of retries)' },
  webhookTimeoutMs: { env: 'SEGMINT_WEBHOOK_TIMEOUT_MS', flag: '--webhook-timeout-ms', default: '10000', help: 'A webhook receiver must answer within this (else the attempt failed)' },
} as const;

export type WebhookConfig = { attempts: number; backoffMs: number; timeoutMs: number };

type IntParser = (name: string, v: string, min: number, max: number) => number;

export function parseWebhookKnobs(k: Record<keyof typeof WEBHOOK_KNOBS, string>, int: IntParser): WebhookConfig {
  return {
    attempts: int('SEGMINT_WEBHOOK_ATTEMPTS', k.webhookAttempts, 1, 30),
    backoffMs: int('SEGMINT_WEBHOOK_BACKOFF_MS', k.webhookBackoffMs, 10, 3_600_000),
    timeoutMs: int('SEGMINT_WEBHOOK_TIMEOUT_MS', k.webhookTimeoutMs, 100, 120_000),
  };
}

/** Default config (tests and tools that build an orchestrator config by hand). */
export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = { attempts: 10, backoffMs: 10_000, timeoutMs: 10_000 };
