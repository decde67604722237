import { spawn, type ChildProcess } from 'node:child_process';
import type { RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';
import { ffmpegPath } from '@segmint/media';
import { SOURCE_RENDITION } from '@segmint/protocol';
import type { OutboundPolicy } from '../egress/outboundAddress.js';
import { storageKeys } from '../ingest/jobIds.js';
import type { PublishedRecord } from '../live/liveState.js';
import type { Pipeline } from '../pipeline.js';
import type { MultistreamRef, Stream } from '../streams/streamStore.js';
import type { MultistreamTarget, TargetStore } from './targetStore.js';
import { pinTargetUrl } from './targetUrl.js';

/** A target's push as the stream record shows it. */
export type TargetStatus = {
  phase: 'connecting' | 'connected' | 'disconnected' | 'error' | 'idle';
  updatedAt: number;
  /** Why the last attempt failed (ffmpeg's last words, or the address check). */
  error?: string;
  /** Failed attempts since the last successful connect. */
  failures: number;
};

export type MultistreamEvent = 'multistream.connected' | 'multistream.disconnected' | 'multistream.error';

export type MultistreamPusherParameters = {
  redis: RedisClient;
  prefix: string;
  outbound: OutboundPolicy;
  backoffMs: number;
  maxBackoffMs: number;
  notify(event: MultistreamEvent, stream: Stream, target: MultistreamTarget, ref: MultistreamRef, error?: string): void;
  logger: Logger;
};

const statusKey = (prefix: string, streamId: string) => `${prefix}:multistream:${streamId}`;

/** Each target's push status (absent: never pushed to), for the stream record. */
export async function readTargetStatus(redis: RedisClient, prefix: string, streamId: string): Promise<Record<string, TargetStatus>> {
  const all = await redis.hgetall(statusKey(prefix, streamId));
  return Object.fromEntries(Object.entries(all).map(([id, v]) => [id, JSON.parse(v) as TargetStatus]));
}

/** Most bytes queued to one ffmpeg before segments are dropped (the target is slower than real time). */
const MAX_QUEUED = 16 * 1024 * 1024;
const STATUS_TTL_SEC = 24 * 3600;

type Push = {
  stream: Stream;
  ref: MultistreamRef;
  target: MultistreamTarget | null;
  proc: ChildProcess | null;
  phase: TargetStatus['phase'];
  failures: number;
  retryAt: number;
  /** A spawn (address check, lookup) is under way: segments meanwhile are dropped. */
  starting: boolean;
};

/**
 * Restreams live streams to their multistream targets, in real time: one ffmpeg per (stream,
 * target) fed the stream's MPEG-TS segments as they arrive (the source as ingested, or a rendition
 * as published) and remuxing them to FLV over RTMP, no re-encode. A push that drops or is refused
 * is retried on a later segment after an exponential backoff; its health is kept in Redis for the
 * stream record, and changes are announced as multistream.* webhooks. Segments that arrive while
 * a target is down are not replayed (live restreaming, as Studio's).
 *
 * The orchestrator that receives a stream's segments pushes it (RTMP: the one holding the publisher).
 */
export class MultistreamPusher {
  private readonly pushes = new Map<string, Push>();
  private closed = false;
  private readonly onIngested = (stream: Stream, _session: number, _seq: number, bytes: Buffer) => void this.feed(stream, SOURCE_RENDITION, bytes);
  private readonly onPublished = (streamId: string, records: PublishedRecord[]) => void this.feedPublished(streamId, records);
  private readonly onEnded = (streamId: string) => this.endStream(streamId);

  constructor(
    private readonly p: Pipeline,
    private readonly targets: TargetStore,
    private readonly o: MultistreamPusherParameters,
  ) {
    p.events.on('ingested', this.onIngested);
    p.events.on('published', this.onPublished);
    p.events.on('session.ended', this.onEnded);
  }

  private statusKey = (streamId: string) => statusKey(this.o.prefix, streamId);

  private async feedPublished(streamId: string, records: PublishedRecord[]): Promise<void> {
    const refs = [...this.pushes.values()].filter((x) => x.stream.id === streamId).map((x) => x.ref.profile);
    const stream = refs.length ? null : await this.p.streams.get(streamId).catch(() => null);
    const wanted = new Set(refs.length ? refs : (stream?.multistream.targets ?? []).map((t) => t.profile));
    wanted.delete(SOURCE_RENDITION);
    if (wanted.size === 0) return;
    const s = stream ?? [...this.pushes.values()].find((x) => x.stream.id === streamId)!.stream;
    for (const r of records) {
      for (const name of wanted) {
        if (!r.entry.renditions[name]) continue;
        const obj = await this.p.storage.read(storageKeys.rendition(streamId, name, r.entry.session, r.entry.seq, r.entry.rev)).catch(() => null);
        if (!obj) continue;
        const chunks: Buffer[] = [];
        for await (const c of obj.stream) chunks.push(c as Buffer);
        this.feed(s, name, Buffer.concat(chunks));
      }
    }
  }

  /** One segment of `profile` for each of the stream's targets that takes that profile. */
  private feed(stream: Stream, profile: string, bytes: Buffer): void {
    if (this.closed) return;
    for (const ref of stream.multistream?.targets ?? []) {
      if (ref.profile !== profile) continue;
      const key = `${stream.id}/${ref.id}`;
      let push = this.pushes.get(key);
      if (!push) {
        push = { stream, ref, target: null, proc: null, phase: 'idle', failures: 0, retryAt: 0, starting: false };
        this.pushes.set(key, push);
      }
      push.stream = stream;
      push.ref = ref;
      if (push.proc?.stdin?.writable) {
        if (push.proc.stdin.writableLength < MAX_QUEUED) push.proc.stdin.write(bytes);
        continue;
      }
      if (push.starting || Date.now() < push.retryAt) continue;
      void this.start(push, bytes);
    }
    // targets removed from the stream meanwhile: stop pushing to them
    for (const [key, push] of this.pushes) {
      if (push.stream.id === stream.id && push.ref.profile === profile && !(stream.multistream?.targets ?? []).some((t) => t.id === push.ref.id)) {
        this.pushes.delete(key);
        push.proc?.stdin?.end();
      }
    }
  }

  private async start(push: Push, first: Buffer): Promise<void> {
    push.starting = true;
    try {
      push.target = await this.targets.get(push.ref.id);
      if (!push.target || push.target.disabled) {
        push.retryAt = Date.now() + this.o.maxBackoffMs; // look again later (it may be re-enabled)
        return;
      }
      const { connect, tcUrl } = await pinTargetUrl(push.target.url, this.o.outbound).catch((err: Error) => {
        this.failed(push, err.message);
        return { connect: null, tcUrl: null };
      });
      if (!connect || this.closed) return;
      await this.setPhase(push, 'connecting');
      push.proc = this.spawnFfmpeg(push, connect, tcUrl);
      push.proc.stdin!.write(first);
    } finally {
      push.starting = false;
    }
  }

  private spawnFfmpeg(push: Push, url: string, tcUrl: string | null): ChildProcess {
    const args = [
      '-hide_banner', '-nostats', '-loglevel', 'info', '-probesize', '500000', '-analyzeduration', '1000000', '-f', 'mpegts', '-i', 'pipe:0',
      // video copied; audio re-encoded (cheap): AAC copied out of MPEG-TS has no AudioSpecificConfig
      // when the FLV header is written, and an empty AAC sequence header is refused by strict servers
      '-map', '0:v:0', ...(push.ref.videoOnly ? ['-an'] : ['-map', '0:a:0?', '-c:a', 'aac', '-b:a', '128k']), '-c:v', 'copy',
      ...(tcUrl ? ['-rtmp_tcurl', tcUrl] : []), '-f', 'flv', url,
    ];
    const proc = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    const log = this.o.logger.child({ streamId: push.stream.id, targetId: push.ref.id });
    let tail: string[] = [];
    let connected = false;
    proc.stdin!.on('error', () => {}); // ffmpeg gone: its exit handler decides
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (text: string) => {
      for (const line of text.split(/\r?\n/)) {
        if (!line.trim()) continue;
        tail = [...tail.slice(-4), line.trim()];
        // ffmpeg names its output once the RTMP connect and publish have succeeded
        if (!connected && /^Output #0/.test(line)) {
          connected = true;
          push.failures = 0;
          void this.setPhase(push, 'connected');
          if (push.target) this.o.notify('multistream.connected', push.stream, push.target, push.ref);
        }
      }
    });
    proc.on('exit', (code, signal) => {
      if (push.proc === proc) push.proc = null;
      const ended = this.pushes.get(`${push.stream.id}/${push.ref.id}`) !== push || this.closed;
      log.info({ code, signal, connected }, 'multistream push ended');
      if (ended && connected && push.target) return void this.setPhase(push, 'idle').then(() => this.o.notify('multistream.disconnected', push.stream, push.target!, push.ref));
      if (ended) return void this.setPhase(push, 'idle');
      const why = tail.filter((l) => /error|fail|refused|denied|invalid|could not|unable/i.test(l)).pop() ?? tail.pop() ?? `ffmpeg exited (${code ?? signal})`;
      if (connected && push.target) this.o.notify('multistream.disconnected', push.stream, push.target, push.ref, why);
      this.failed(push, why, connected);
    });
    return proc;
  }

  /** A failed connect or a dropped push: back off (doubling), announce, retry on a later segment. */
  private failed(push: Push, error: string, wasConnected = false): void {
    push.failures += 1;
    push.retryAt = Date.now() + Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (push.failures - 1));
    void this.setPhase(push, wasConnected ? 'disconnected' : 'error', error);
    if (!wasConnected && push.target) this.o.notify('multistream.error', push.stream, push.target, push.ref, error);
  }

  private async setPhase(push: Push, phase: TargetStatus['phase'], error?: string): Promise<void> {
    push.phase = phase;
    const status: TargetStatus = { phase, updatedAt: Date.now(), failures: push.failures, ...(error ? { error: error.slice(0, 500) } : {}) };
    const key = this.statusKey(push.stream.id);
    await this.o.redis.multi().hset(key, push.ref.id, JSON.stringify(status)).expire(key, STATUS_TTL_SEC).exec().catch(() => {});
  }

  /** The session ended: let each ffmpeg flush and close its RTMP connection. */
  private endStream(streamId: string): void {
    for (const [key, push] of this.pushes) {
      if (push.stream.id !== streamId) continue;
      this.pushes.delete(key);
      push.proc?.stdin?.end();
      if (!push.proc) void this.setPhase(push, 'idle');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.p.events.off('ingested', this.onIngested);
    this.p.events.off('published', this.onPublished);
    this.p.events.off('session.ended', this.onEnded);
    const procs = [...this.pushes.values()].map((x) => x.proc).filter((x): x is ChildProcess => x !== null);
    this.pushes.clear();
    await Promise.all(procs.map((proc) => new Promise<void>((done) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return done();
      proc.once('exit', () => done());
      proc.stdin?.end();
      setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
    })));
  }
}
