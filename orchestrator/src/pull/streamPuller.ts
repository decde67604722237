import { spawn, type ChildProcess } from 'node:child_process';
import type { RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';
import { ffmpegPath } from '@segmint/media';
import type { OutboundPolicy } from '../egress/outboundAddress.js';
import { outboundRequest } from '../egress/outboundRequest.js';
import { ingestSegment } from '../ingest/segmentIngest.js';
import { pinTargetUrl } from '../multistream/targetUrl.js';
import type { Pipeline } from '../pipeline.js';
import type { Stream } from '../streams/streamStore.js';
import { parsePlaylist } from './hlsPlaylist.js';

export type StreamPullerParameters = {
  redis: RedisClient;
  prefix: string;
  outbound: OutboundPolicy;
  /** Our own RTMP ingest (an RTMP source is republished into it, as any publisher). */
  rtmpUrl: string;
  logger: Logger;
  /** Most bytes of one pulled HLS segment. */
  maxSegmentBytes: number;
};

const LEASE_MS = 30_000;
const MAX_FAILURES = 5;

/**
 * Pulls streams from their `pull.source` into the same ingest path a publisher takes: an RTMP
 * source is republished by ffmpeg into our own RTMP ingest (connecting only to the checked,
 * public address); an HLS source is read by us, every playlist and segment request through the
 * outbound guard (redirects included), and each MPEG-TS segment is ingested as if pushed over
 * HTTP. One orchestrator pulls a stream at a time (a lease in RedisClient). A pull ends with the source
 * (end of playlist, or the RTMP source closing cleanly), on terminate, or after 5 failures in a row.
 */
export class StreamPuller {
  private readonly running = new Map<string, { abort: AbortController; proc?: ChildProcess }>();
  private closed = false;

  constructor(private readonly p: Pipeline, private readonly o: StreamPullerParameters) {
    p.events.on('session.ended', (streamId: string) => this.stop(streamId));
  }

  private leaseKey = (streamId: string) => `${this.o.prefix}:pull:${streamId}`;

  /** Starts pulling (false: this or another orchestrator is already pulling it). */
  async start(stream: Stream): Promise<boolean> {
    if (this.closed || !stream.pull || this.running.has(stream.id)) return false;
    if ((await this.o.redis.set(this.leaseKey(stream.id), '1', 'PX', LEASE_MS, 'NX')) !== 'OK') return false;
    const run = { abort: new AbortController() };
    this.running.set(stream.id, run);
    const renew = setInterval(() => void this.o.redis.pexpire(this.leaseKey(stream.id), LEASE_MS).catch(() => {}), LEASE_MS / 3).unref();
    const log = this.o.logger.child({ streamId: stream.id });
    void this.loop(stream, run, log)
      .catch((err) => log.warn({ err }, 'pull failed'))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(stream.id);
        void this.o.redis.del(this.leaseKey(stream.id)).catch(() => {});
      });
    return true;
  }

  private async loop(stream: Stream, run: { abort: AbortController; proc?: ChildProcess }, log: Logger): Promise<void> {
    let failures = 0;
    while (!run.abort.signal.aborted && failures < MAX_FAILURES) {
      try {
        const done = /^rtmps?:/.test(stream.pull!.source) ? await this.pullRtmp(stream, run) : await this.pullHls(stream, run.abort.signal);
        if (done) return void log.info('pull source ended');
        failures = 0;
      } catch (err) {
        failures++;
        log.warn({ err: (err as Error).message, failures }, 'pull attempt failed');
      }
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** failures)).unref());
    }
  }

  /** ffmpeg reads the source and publishes it to our RTMP ingest; true when the source ended cleanly. */
  private async pullRtmp(stream: Stream, run: { abort: AbortController; proc?: ChildProcess }): Promise<boolean> {
    const { connect, tcUrl } = await pinTargetUrl(stream.pull!.source, this.o.outbound);
    const args = [
      '-hide_banner', '-loglevel', 'error', '-rw_timeout', '15000000', ...(tcUrl ? ['-rtmp_tcurl', tcUrl] : []), '-i', connect,
      '-map', '0:v:0', '-map', '0:a:0?', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', `${this.o.rtmpUrl}/live/${stream.streamKey}`,
    ];
    const proc = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'], signal: run.abort.signal });
    run.proc = proc;
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const code = await new Promise<number | null>((done) => {
      proc.once('error', () => done(-1));
      proc.once('exit', (c) => done(c));
    });
    if (code === 0 || run.abort.signal.aborted) return true;
    throw new Error(err.trim().split('\n').slice(-3).join(' / ') || `ffmpeg exited with ${code}`);
  }

  /** Follows a live HLS playlist, ingesting each new segment; true at #EXT-X-ENDLIST. */
  private async pullHls(stream: Stream, signal: AbortSignal): Promise<boolean> {
    let url = new URL(stream.pull!.source);
    let next = -1;
    while (!signal.aborted) {
      const playlist = parsePlaylist((await this.get(url, stream, signal, 1024 * 1024)).toString('utf8'));
      if (playlist.kind === 'master') {
        if (!playlist.variants[0]) throw new Error('the master playlist lists no variant');
        url = new URL(playlist.variants[0], url);
        continue;
      }
      for (const s of playlist.segments) {
        if (s.seq <= next) continue;
        const bytes = await this.get(new URL(s.uri, url), stream, signal, this.o.maxSegmentBytes);
        const fresh = await this.p.streams.get(stream.id);
        if (!fresh) return true; // deleted meanwhile; a suspended one is refused by the ingest
        await ingestSegment(this.p, fresh, s.seq, bytes, 'http');
        next = s.seq;
      }
      if (playlist.ended) return true;
      await new Promise((r) => setTimeout(r, (playlist.targetDuration * 1000) / 2).unref());
    }
    return true;
  }

  private async get(url: URL, stream: Stream, signal: AbortSignal, limit: number): Promise<Buffer> {
    const res = await outboundRequest(url, { ...this.o.outbound, headers: stream.pull!.headers ?? {}, maxRedirects: 3, signal: AbortSignal.any([signal, AbortSignal.timeout(20_000)]) });
    if (res.status !== 200) {
      res.body.destroy();
      throw new Error(`${url} answered HTTP ${res.status}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > limit) {
        res.body.destroy();
        throw new Error(`${url} is larger than ${limit} bytes`);
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  stop(streamId: string): void {
    this.running.get(streamId)?.abort.abort();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.running.values()) r.abort.abort();
    while (this.running.size) await new Promise((r) => setTimeout(r, 20));
  }
}
