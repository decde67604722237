import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { receiptTypedData, type Receipt, type UnsignedReceipt, type ViewerSession } from '@segmint/protocol';
import { startEdge, type EdgeNode } from '../edge/src/edgeNode.js';
import { liveStream, type LiveStream } from '../e2e/edgeFixtures.js';
import { spawnWorker, stopProcess } from '../e2e/helpers.js';
import type { Attack, AttackContext } from './attack.js';

/**
 * A colluding edge and viewer try to be paid for bytes never delivered. The edge is a real edge
 * node (registered, signed); the "viewer" is the attacker too: it starts real viewer sessions and
 * signs whatever receipts suit it, which the edge submits. Each variant gains something only if
 * the orchestrator pays for bytes beyond what the honest part of the receipts proves.
 */
type Signed = { segments: { rendition: string; uri: string; bytes: number; sha256: string }[] };

async function setUp(ctx: AttackContext) {
  const worker: ChildProcess = spawnWorker(ctx.orch, ['--concurrency', '2']);
  let stream: LiveStream | undefined;
  let edge: EdgeNode | undefined;
  try {
    stream = await liveStream(ctx.orch, ctx.segments, { name: 'edge-attack', ready: 3 });
    edge = await startEdge({ orchestratorUrl: ctx.orch.url, account: privateKeyToAccount(generatePrivateKey()), port: 0, cacheBytes: 16 << 20, maxViewers: 100, receiptIntervalMs: 3_600_000, receiptsDir: mkdtempSync(join(tmpdir(), 'segmint-edge-attack-')), logger: pino({ level: 'silent' }) });
  } catch (err) {
    stream?.stop();
    await stopProcess(worker);
    throw err;
  }
  const signed = async (rendition: string) => {
    const body = (await (await fetch(`${ctx.orch.url}/hls/${stream!.playbackId}/${rendition}/hashes.json`)).json()) as Signed;
    return body.segments.map((s) => ({ ...s, rendition }));
  };
  /** A viewer session of the attacker's own, steered (there is no other edge) to the attacking edge. */
  const session = async (key: PrivateKeyAccount): Promise<ViewerSession> => {
    const res = await fetch(`${ctx.orch.url}/edges/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ playbackId: stream!.playbackId, viewerKey: key.address }) });
    return (await res.json()) as ViewerSession;
  };
  const receipt = async (key: PrivateKeyAccount, s: ViewerSession, seg: { rendition: string; uri: string; bytes: number; sha256: string }, over: Partial<UnsignedReceipt> = {}): Promise<Receipt> => {
    const unsigned: UnsignedReceipt = { session: s.session, edge: edge!.address, playbackId: stream!.playbackId, rendition: seg.rendition, uri: seg.uri, sha256: seg.sha256, bytes: seg.bytes, time: Date.now(), ...over };
    return { ...unsigned, signature: await key.signTypedData(receiptTypedData(unsigned)) };
  };
  return {
    stream, edge, signed, session, receipt,
    submit: (receipts: Receipt[]) => edge!.client.submit(receipts),
    async stop() {
      await edge!.close();
      stream!.stop();
      await stopProcess(worker);
    },
  };
}

const inflated: Attack = {
  name: 'edge receipts: inflated bytes (and a made-up hash) signed by a colluding viewer',
  async run(ctx) {
    const a = await setUp(ctx);
    try {
      const key = privateKeyToAccount(generatePrivateKey());
      const s = await a.session(key);
      const [seg] = await a.signed('low');
      const answer = await a.submit([
        await a.receipt(key, s, seg!, { bytes: seg!.bytes * 50 }),
        await a.receipt(key, s, seg!, { bytes: seg!.bytes * 50, sha256: 'ab'.repeat(32), uri: seg!.uri.replace('.ts', 'x.ts') }),
      ]);
      return { succeeded: answer.paidBytes > 0, detail: `claimed ${seg!.bytes * 100} bytes; paid ${answer.paidBytes}; ${answer.receipts.map((r) => r.rejected).join(', ')}` };
    } finally {
      await a.stop();
    }
  },
};

const replayed: Attack = {
  name: 'edge receipts: replayed (same receipt again, in a new batch)',
  async run(ctx) {
    const a = await setUp(ctx);
    try {
      const key = privateKeyToAccount(generatePrivateKey());
      const s = await a.session(key);
      const [one, two] = await a.signed('low');
      const first = await a.submit([await a.receipt(key, s, one!)]);
      const r1 = await a.receipt(key, s, one!);
      // the same segment again, re-signed with a new time (a new signature, so a new batch id), plus the original
      const again = await a.submit([r1, await a.receipt(key, s, one!, { time: Date.now() + 1 }), await a.receipt(key, s, two!)]);
      const expected = two!.bytes;
      return {
        succeeded: first.paidBytes !== one!.bytes || again.paidBytes > expected,
        detail: `first submission paid ${first.paidBytes} of ${one!.bytes}; replay batch paid ${again.paidBytes} (only the new segment's ${expected} is due): ${again.receipts.map((r) => r.rejected ?? 'paid').join(', ')}`,
      };
    } finally {
      await a.stop();
    }
  },
};

const sameBatchTwice: Attack = {
  name: 'edge receipts: the very same batch submitted again (as an edge that lost the answer does)',
  async run(ctx) {
    const a = await setUp(ctx);
    try {
      const key = privateKeyToAccount(generatePrivateKey());
      const s = await a.session(key);
      const [one, two, three] = await a.signed('low');
      const batch = [await a.receipt(key, s, one!), await a.receipt(key, s, two!)];
      const first = await a.submit(batch);
      const again = await a.submit(batch);
      // and the same segment twice inside one batch (each receipt would otherwise be "that batch again")
      const doubled = await a.submit([await a.receipt(key, s, three!), await a.receipt(key, s, three!, { time: Date.now() + 1 })]);
      const stats = ((await (await fetch(`${ctx.orch.url}/edges/${a.edge.address}`)).json()) as { stats: Record<string, string> }).stats;
      const credited = Number(stats.paidBytes ?? 0);
      const due = one!.bytes + two!.bytes + three!.bytes;
      return {
        succeeded: credited > due || doubled.paidBytes > three!.bytes,
        detail: `first answer paid ${first.paidBytes}, the same batch again answered ${again.paidBytes} (${again.status}); doubled segment batch paid ${doubled.paidBytes} of ${three!.bytes}; edge credited ${credited} B in all, ${due} B due`,
      };
    } finally {
      await a.stop();
    }
  },
};

const forgedKey: Attack = {
  name: 'edge receipts: signed by a key other than the viewer session\'s',
  async run(ctx) {
    const a = await setUp(ctx);
    try {
      const viewer = privateKeyToAccount(generatePrivateKey());
      const forger = privateKeyToAccount(generatePrivateKey());
      const s = await a.session(viewer);
      const segs = await a.signed('low');
      const answer = await a.submit(await Promise.all(segs.map((seg) => a.receipt(forger, s, seg))));
      // and a session id made up outright
      const madeUp = await a.submit([await a.receipt(forger, { ...s, session: 'AAAAAAAAAAAAAAAAAAAAAA' }, segs[0]!)]);
      return {
        succeeded: answer.paidBytes > 0 || madeUp.paidBytes > 0,
        detail: `${segs.length} forged receipts paid ${answer.paidBytes} (${answer.receipts[0]?.rejected}); made-up session paid ${madeUp.paidBytes} (${madeUp.receipts[0]?.rejected})`,
      };
    } finally {
      await a.stop();
    }
  },
};

const overCap: Attack = {
  name: 'edge receipts: a session vouching for more than it can watch (bitrate × wall time)',
  env: { SEGMINT_EDGE_CAP_SLACK_SEC: '2', SEGMINT_EDGE_CAP_FACTOR: '1' },
  async run(ctx) {
    const a = await setUp(ctx);
    try {
      const key = privateKeyToAccount(generatePrivateKey());
      const started = Date.now();
      const s = await a.session(key);
      // every signed segment of every rendition at once, a moment after the session started
      const all = [...(await a.signed('low')), ...(await a.signed('source'))];
      const claimed = all.reduce((n, x) => n + x.bytes, 0);
      const answer = await a.submit(await Promise.all(all.map((seg) => a.receipt(key, s, seg))));
      // the most the session could have watched: the top rendition's bytes per second × (wall time + slack)
      const durations = (await (await fetch(`${ctx.orch.url}/hls/${a.stream.playbackId}/source/index.m3u8`)).text()).match(/#EXTINF:([0-9.]+)/g)!.map((l) => Number(l.slice(8)));
      const sourceSegs = all.filter((x) => x.rendition === 'source');
      const topRate = Math.max(...sourceSegs.map((x, i) => x.bytes / (durations[i] ?? 2)));
      const bound = topRate * ((Date.now() - started) / 1000 + 2) * 1.05;
      return {
        succeeded: answer.paidBytes > bound || answer.paidBytes >= claimed,
        detail: `claimed ${claimed} bytes of ${all.length} segments; paid ${answer.paidBytes} (bound ≈ ${Math.round(bound)}); over cap: ${answer.receipts.filter((r) => r.rejected === 'RECEIPT_OVER_CAP').length}`,
      };
    } finally {
      await a.stop();
    }
  },
};

export default [inflated, replayed, sameBatchTwice, forgedKey, overCap];
