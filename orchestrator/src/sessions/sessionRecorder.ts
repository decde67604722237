import { SOURCE_RENDITION } from '@segmint/protocol';
import { storageKeys } from '../ingest/jobIds.js';
import type { PublishedRecord } from '../live/liveState.js';
import type { Pipeline } from '../pipeline.js';
import type { RedisClient } from '../redis/redisClient.js';
import type { Stream, StreamCounters } from '../streams/streamStore.js';
import { usageOf } from '../usage/usageStore.js';
import type { WebhookEvent } from '../webhooks/webhookEvents.js';
import { eventIdOf } from '../webhooks/webhookQueue.js';
import { SessionOutbox, type OutboxEffects, type SessionOutboxOptions } from './sessionOutbox.js';
import type { Session, SessionStore } from './sessionStore.js';

/** Counters of published segments, grouped by session number. */
export function countersOf(records: PublishedRecord[]): Map<number, { counters: StreamCounters; lastSeen: number }> {
  const out = new Map<number, { counters: StreamCounters; lastSeen: number }>();
  for (const { entry } of records) {
    let s = out.get(entry.session);
    if (!s) {
      s = { counters: { sourceSegments: 0, transcodedSegments: 0, sourceSegmentsDuration: 0, transcodedSegmentsDuration: 0, sourceBytes: 0, transcodedBytes: 0 }, lastSeen: 0 };
      out.set(entry.session, s);
    }
    const c = s.counters;
    const source = entry.renditions[SOURCE_RENDITION];
    c.sourceSegments += 1;
    c.sourceSegmentsDuration += entry.durationSec;
    c.sourceBytes += source?.bytes ?? 0;
    const transcoded = Object.entries(entry.renditions).filter(([name]) => name !== SOURCE_RENDITION);
    if (transcoded.length > 0) {
      c.transcodedSegments += 1;
      c.transcodedSegmentsDuration += entry.durationSec;
      c.transcodedBytes += transcoded.reduce((sum, [, r]) => sum + r.bytes, 0);
    }
    s.lastSeen = Math.max(s.lastSeen, entry.ingestedAt);
  }
  return out;
}

/** Queues a webhook event about a session (resolves once queued; `eventId` makes a repeat a no-op). */
export type SessionNotify = (event: WebhookEvent, stream: Stream, session: Session, eventId: string) => Promise<void>;

/** Storage key of a recorded segment (same storage as live segments). */
export const recordingKey = (sessionId: string, rendition: string, seq: number) => `recordings/${sessionId}/${rendition}/${seq}.ts`;

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/**
 * What follows from the live state, each effect idempotent (an outbox entry is applied at least
 * once): a published segment's session record, counters, usage and recording copy, and the
 * `stream.started` webhook of its session's first segment; a session's end and its
 * `stream.idle` / `recording.ready` webhooks. Webhook event ids are a function of (stream,
 * session, event), so a repeat queues nothing new.
 */
export function sessionEffects(p: Pipeline, sessions: SessionStore, notify: SessionNotify): OutboxEffects {
  const event = (stream: Stream, session: Session, name: WebhookEvent) => notify(name, stream, session, eventIdOf(stream.id, session.id, name));
  return {
    async published(streamId, record) {
      const stream = await p.streams.get(streamId);
      if (!stream) return; // deleted meanwhile
      const { entry } = record;
      const session = await sessions.start(stream, entry.session, entry.ingestedAt);
      // Nothing counted yet: this is the session's first segment (its start may have been lost).
      if (session.sourceSegments === 0) await event(stream, session, 'stream.started');
      // Recordings: copied before the live window lets the segment go.
      if (session.record) {
        for (const name of Object.keys(entry.renditions)) {
          const obj = await p.storage.read(storageKeys.rendition(streamId, name, entry.session, entry.seq, entry.rev));
          if (obj) await p.storage.put(recordingKey(session.id, name, entry.seq), await readAll(obj.stream));
        }
        await sessions.addRecordingSegmentOnce(session.id, { seq: entry.seq, durationSec: entry.durationSec, renditions: entry.renditions });
      }
      const { counters, lastSeen } = countersOf([record]).get(entry.session)!;
      const [hour, usage] = [...usageOf([record])][0]!;
      await sessions.addPublishedOnce(`published:${streamId}:${entry.session}:${entry.seq}`, stream, entry.session, counters, lastSeen, hour, usage);
    },
    async ended(streamId, sessionNumber, at) {
      const stream = await p.streams.get(streamId);
      const session = stream ? await sessions.byNumber(streamId, sessionNumber) : null;
      if (!stream || !session) return;
      // Webhooks first, then the end: a crash in between queues them again (the same ids: once).
      const ended = { ...session, endedAt: session.endedAt ?? at };
      await event(stream, ended, 'stream.idle');
      if (ended.record && ended.recordingSegments.length > 0) await event(stream, ended, 'recording.ready');
      await sessions.endOne(streamId, sessionNumber, at);
    },
  };
}

/**
 * Keeps session records, stream counters, usage and recordings, and queues the sessions' webhooks:
 * durably, from each stream's outbox in Redis (see sessionOutbox.ts), drained by whichever
 * orchestrator is up. The pipeline's events only make it drain sooner; a session's start also
 * records it and queues `stream.started` at once. Failures are logged and retried: events must
 * never break the segment path.
 */
export function recordSessions(
  p: Pipeline,
  o: { sessions: SessionStore; redis: RedisClient; prefix: string; notify: SessionNotify; sweepMs?: number; testCrash?: SessionOutboxOptions['testCrash'] },
): { close(): Promise<void> } {
  const log = p.logger.child({ component: 'sessions' });
  const outbox = new SessionOutbox({
    redis: o.redis, prefix: o.prefix, logger: log, effects: sessionEffects(p, o.sessions, o.notify),
    ...(o.sweepMs ? { sweepMs: o.sweepMs } : {}), ...(o.testCrash ? { testCrash: o.testCrash } : {}),
  });
  const started = (stream: Stream, sessionNumber: number) => {
    o.sessions
      .start(stream, sessionNumber, Date.now())
      .then((s) => o.notify('stream.started', stream, s, eventIdOf(stream.id, s.id, 'stream.started')))
      .catch((err: unknown) => log.error({ err }, 'could not record session start (its first segment will)'));
  };
  const nudge = (streamId: string) => outbox.nudge(streamId);
  p.events.on('session.started', started);
  p.events.on('session.ended', nudge);
  p.events.on('published', nudge);
  outbox.start();
  // Applied-entry keys only guard against a repeat within seconds; a week is plenty.
  const forget = setInterval(() => {
    o.sessions.forgetAppliedBefore(Date.now() - 7 * 86_400_000).catch((err: unknown) => log.warn({ err }, 'could not forget old outbox keys'));
  }, 3_600_000);
  forget.unref();
  return {
    async close() {
      clearInterval(forget);
      p.events.off('session.started', started);
      p.events.off('session.ended', nudge);
      p.events.off('published', nudge);
      await outbox.close();
    },
  };
}
