import { SOURCE_RENDITION } from '@segmint/protocol';
import type { PublishedRecord } from '../live/liveState.js';
import type { Pipeline } from '../pipeline.js';
import type { Stream, StreamCounters } from '../streams/streamStore.js';
import type { UsageStore } from '../usage/usageStore.js';
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

export type SessionEvents = {
  started(stream: Stream, session: Session): void;
  ended(stream: Stream, session: Session): void;
};

/**
 * Keeps session records, stream counters and usage from the pipeline's events, and tells `on` (webhooks)
 * when a session starts or ends. Failures are logged: events must never break the segment path.
 */
export function recordSessions(p: Pipeline, sessions: SessionStore, usage: UsageStore, on: SessionEvents): () => void {
  const log = p.logger.child({ component: 'sessions' });
  const fail = (what: string) => (err: unknown) => log.error({ err }, what);

  const started = (stream: Stream, sessionNumber: number) => {
    sessions.start(stream, sessionNumber, Date.now()).then((s) => on.started(stream, s), fail('could not record session start'));
  };
  const ended = (streamId: string) => {
    (async () => {
      const ended = await sessions.end(streamId, Date.now());
      const stream = ended.length ? await p.streams.get(streamId) : null;
      if (stream) for (const s of ended) on.ended(stream, s);
    })().catch(fail('could not record session end'));
  };
  const published = (streamId: string, records: PublishedRecord[]) => {
    (async () => {
      for (const [sessionNumber, { counters, lastSeen }] of countersOf(records)) {
        await sessions.addCounters(streamId, sessionNumber, counters, lastSeen);
        await p.streams.addCounters(streamId, counters, lastSeen);
      }
      const stream = await p.streams.get(streamId);
      if (stream) await usage.add(stream, records);
    })().catch(fail('could not add segment counters'));
  };

  p.events.on('session.started', started);
  p.events.on('session.ended', ended);
  p.events.on('published', published);
  return () => {
    p.events.off('session.started', started);
    p.events.off('session.ended', ended);
    p.events.off('published', published);
  };
}
