import { createHash } from 'node:crypto';
import type { Hex } from 'viem';
import type { Logger } from 'pino';
import { EDGE_SIGNATURE_HEADER } from '@segmint/protocol';
import { outboundRequest } from '../egress/outboundRequest.js';
import type { OutboundPolicy } from '../egress/outboundAddress.js';
import type { EdgeFaults } from './edgeFaults.js';
import type { EdgeRegistry, EdgeView } from './edgeRegistry.js';
import type { SignedSegments } from './signedSegments.js';

/** Largest segment the mystery viewer reads (a hostile edge could stream forever). */
const MAX_BYTES = 64 * 1024 * 1024;

export type MysteryOutcome = { edge: string; verdict: 'ok' | 'wrong' | 'slow' | 'failed' | 'nothing-to-check'; latencyMs?: number };

/**
 * The mystery viewer: now and then fetches a random signed segment of a recently watched stream
 * from each fresh edge, as any viewer would (no header tells it apart), and compares hash and
 * latency. Wrong bytes: the edge is convicted on the orchestrator's own observation (slashed too
 * when its signature covers them); slow or failing: its fail streak grows (steering skips it at 3).
 */
export class MysteryViewer {
  constructor(
    private readonly o: { registry: EdgeRegistry; segments: SignedSegments; faults: EdgeFaults; maxLatencyMs: number; outbound: OutboundPolicy; logger: Logger },
  ) {}

  /** One round over every fresh, non-excluded edge. */
  async round(): Promise<MysteryOutcome[]> {
    const edges = (await this.o.registry.views()).filter((e) => e.fresh && !e.excluded);
    return Promise.all(edges.map((e) => this.check(e).catch((err) => {
      this.o.logger.warn({ edge: e.edge, err: (err as Error).message }, 'mystery check failed to run');
      return { edge: e.edge, verdict: 'failed' as const };
    })));
  }

  private async pick(): Promise<{ playbackId: string; rendition: string; uri: string; bytes: number; sha256: string } | null> {
    const recent = await this.o.registry.redis.zrangebyscore(this.o.registry.k.playbacks, Date.now() - 600_000, '+inf');
    for (const playbackId of shuffle(recent)) {
      const s = await this.o.segments.get(playbackId);
      const all = [...(s?.byId.values() ?? [])];
      if (all.length) return { playbackId, ...all[Math.floor(Math.random() * all.length)]! };
    }
    return null;
  }

  async check(e: EdgeView): Promise<MysteryOutcome> {
    const seg = await this.pick();
    if (!seg) return { edge: e.edge, verdict: 'nothing-to-check' };
    const started = Date.now();
    let body: Buffer;
    let signature: string | undefined;
    try {
      const res = await outboundRequest(`${e.url}/hls/${encodeURIComponent(seg.playbackId)}/${seg.rendition}/${seg.uri}`, { ...this.o.outbound, signal: AbortSignal.timeout(this.o.maxLatencyMs * 5) });
      if (res.status !== 200) {
        res.body.resume();
        throw new Error(`status ${res.status}`);
      }
      signature = res.headers[EDGE_SIGNATURE_HEADER] as string | undefined;
      body = await readCapped(res.body);
    } catch (err) {
      await this.o.registry.mystery(e.edge, false, null);
      return { edge: e.edge, verdict: 'failed' };
    }
    const latencyMs = Date.now() - started;
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== seg.sha256 || body.length !== seg.bytes) {
      await this.o.registry.mystery(e.edge, false, latencyMs);
      const report = { edge: e.edge, playbackId: seg.playbackId, rendition: seg.rendition, uri: seg.uri, receivedSha256: sha256, receivedBytes: body.length, edgeSignature: (signature ?? '0x') as Hex };
      await this.o.faults.convict(e.edge, report, seg.sha256, 'mystery-viewer', await this.o.faults.signedBy(e.edge, report, report.edgeSignature));
      return { edge: e.edge, verdict: 'wrong', latencyMs };
    }
    const slow = latencyMs > this.o.maxLatencyMs;
    await this.o.registry.mystery(e.edge, !slow, latencyMs);
    return { edge: e.edge, verdict: slow ? 'slow' : 'ok', latencyMs };
  }
}

async function readCapped(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += (c as Buffer).length;
    if (n > MAX_BYTES) throw new Error('segment too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
