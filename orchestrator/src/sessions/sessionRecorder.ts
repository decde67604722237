import { SOURCE_RENDITION } from '@segmint/protocol';
import { storageKeys } from '../ingest/jobIds.js';
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
  /** A recorded session ended with at least one segment kept. */
  recordingReady(stream: Stream, session: Session): void;
};

/** Storage key of a recorded segment (same storage as live segments). */
export const recordingKey = (sessionId: string, rendition: string, seq: number) => `recordings/${sessionId}/${rendition}/${seq}.ts`;

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

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
  // recordings: each published segment of a recorded session is copied (in order, per stream)
  // before the live window lets it go
  const recording = new Map<string, Promise<void>>();
  const record = (streamId: string, records: PublishedRecord[]) => {
    const next = (recording.get(streamId) ?? Promise.resolve()).then(async () => {
      const bySession = new Map<number, PublishedRecord[]>();
      for (const r of records) bySession.set(r.entry.session, [...(bySession.get(r.entry.session) ?? []), r]);
      for (const [sessionNumber, list] of bySession) {
        const session = await sessions.byNumber(streamId, sessionNumber);
        if (!session?.record) continue;
        for (const { entry } of list) {
          for (const name of Object.keys(entry.renditions)) {
            const obj = await p.storage.read(storageKeys.rendition(streamId, name, entry.session, entry.seq, entry.rev));
            if (obj) await p.storage.put(recordingKey(session.id, name, entry.seq), await readAll(obj.stream));
          }
        }
        await sessions.addRecordingSegments(session.id, list.map(({ entry }) => ({ seq: entry.seq, durationSec: entry.durationSec, renditions: entry.renditions })));
      }
    }).catch(fail('could not keep recorded segments'));
    recording.set(streamId, next);
    void next.then(() => {
      if (recording.get(streamId) === next) recording.delete(streamId);
    });
  };

  const ended = (streamId: string) => {
    (async () => {
      await recording.get(streamId);
      const ended = await sessions.end(streamId, Date.now());
      const stream = ended.length ? await p.streams.get(streamId) : null;
      if (!stream) return;
      for (const s of ended) {
        on.ended(stream, s);
        if (s.record && s.recordingSegments.length > 0) on.recordingReady(stream, s);
      }
    })().catch(fail('could not record session end'));
  };
  const published = (streamId: string, records: PublishedRecord[]) => {
    record(streamId, records);
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
