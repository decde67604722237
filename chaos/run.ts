/**
 * `npm run chaos [-- --minutes 5] [--seed N]`: a live RTMP stream through two orchestrators and
 * three workers paid in tickets on anvil, while a seeded schedule kill -9s workers and
 * orchestrators and restarts Redis. Then it counts what a viewer and a worker would miss:
 * segments ingested vs published, skipped (with reasons), published twice, playlists frozen,
 * tickets booked vs stored vs redeemed, credit drift. Exit code 1 when anything was lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { generatePrivateKey } from 'viem/accounts';
import { pendingWins, reconcile } from './accounts.js';
import { Cluster, sleep, waitUntil } from './cluster.js';
import { Observer } from './observer.js';
import { planFaults, type Fault } from './schedule.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const minutes = Number(arg('minutes', '5'));
const seed = Number(arg('seed', String(Date.now() % 100_000)));
const WORKERS = 3;
const PROFILES = [{ name: 'low', width: 320, height: 180, bitrate: 300_000 }];
const t0 = Date.now();
const say = (line: string) => console.log(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-chaos-'));
  const cluster = new Cluster(dir, say);
  const keys = Array.from({ length: WORKERS }, () => generatePrivateKey());
  say(`seed ${seed}, ${minutes} min; logs in ${dir}/logs`);
  let publisher: { stop(): Promise<void>; connects(): number } | undefined;
  try {
    await cluster.start(WORKERS, keys);
    const stream = await createStream(cluster);
    const runMs = minutes * 60_000;
    const faults = planFaults(seed, runMs, WORKERS);
    say(`stream ${stream.id}; ${faults.length} faults planned: ${faults.map((f) => f.kind).join(', ')}`);
    const started = Date.now();
    publisher = cluster.publisher(stream.streamKey, started + runMs, 640, 360);
    let publishing = true;
    const observer = new Observer(cluster.redis.url, cluster.prefix, stream.id, `${cluster.url}/hls/${stream.playbackId}/low/index.m3u8`, () => publishing);
    observer.start();
    for (const f of faults) {
      await sleep(Math.max(0, started + f.atMs - Date.now()));
      // into a whole cluster: the process a previous fault took down is back first
      await waitUntil('every process back', async () => cluster.whole(), 120_000);
      await inject(cluster, f);
    }
    await sleep(Math.max(0, started + runMs - Date.now()));
    await publisher.stop();
    publishing = false;
    say(`publisher stopped after ${publisher.connects()} connection(s); draining`);
    const drained = await waitUntil('every admitted segment resolved', async () => (await observer.inflight()) === 0, 90_000).then(() => true, () => false);
    await observer.settle();
    observer.stop();
    const books = keys.map((key) => ({ key, dir: join(dir, 'payments') }));
    await waitUntil('winning tickets redeemed', async () => (await pendingWins(books)) === 0, 60_000).catch(() => {});
    return await report(cluster, stream, observer, faults.length, drained, books);
  } finally {
    await publisher?.stop();
    await cluster.stop();
    if (!process.argv.includes('--keep')) await rm(dir, { recursive: true, force: true });
  }
}

async function createStream(cluster: Cluster): Promise<{ id: string; streamKey: string; playbackId: string }> {
  const key = await apiKey(cluster);
  const res = await fetch(`${cluster.url}/api/stream`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chaos', profiles: PROFILES }),
  });
  if (res.status !== 201) throw new Error(`stream create: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; streamKey: string; playbackId: string };
}

/** An API key, made the way an operator does (`segmint orchestrator api-key`), in the shared database. */
async function apiKey(cluster: Cluster): Promise<string> {
  const { openDatabase } = await import('../orchestrator/src/db/database.js');
  const { ApiKeyStore } = await import('../orchestrator/src/auth/apiKeys.js');
  const db = await openDatabase({ url: cluster.databaseUrl });
  const { token } = await new ApiKeyStore(db).create('chaos');
  await db.close();
  return token;
}

async function inject(cluster: Cluster, f: Fault): Promise<void> {
  if (f.kind === 'kill-worker') {
    const w = cluster.workers[f.target]!;
    say(`fault: kill -9 worker ${w.index}; back in ${f.downMs} ms`);
    cluster.kill(w);
    setTimeout(() => void cluster.startWorker(w).then(() => (w.restarts += 1)), f.downMs);
  } else if (f.kind === 'kill-orchestrator') {
    const o = cluster.orchestrators[f.target]!;
    say(`fault: kill -9 orchestrator ${o.index}; back in ${f.downMs} ms`);
    cluster.kill(o);
    setTimeout(() => void cluster.startOrchestrator(o).then(() => (o.restarts += 1), (err: Error) => say(`orchestrator ${o.index} did not come back: ${err.message}`)), f.downMs);
  } else {
    say(`fault: Redis shutdown; started again on the same data dir after ${f.downMs} ms`);
    await cluster.restartRedis(f.downMs);
  }
}

async function report(cluster: Cluster, stream: { id: string; playbackId: string }, obs: Observer, faults: number, drained: boolean, books: { key: `0x${string}`; dir: string }[]): Promise<number> {
  const skips = await skipsOf(cluster, stream.id);
  const reasons = Object.entries(skips.reduce<Record<string, number>>((m, s) => ({ ...m, [s.reason]: (m[s.reason] ?? 0) + 1 }), {}));
  const lost = [...obs.ingested].filter((id) => !obs.published.has(id));
  const frozen = await frozenPlaylists(cluster, stream.playbackId, obs);
  const acc = await reconcile(cluster.admin, cluster.prefix, books);
  const unpaid = [...obs.published.keys()].filter((id) => !acc.paidJobs.has(`${stream.id}.${id.replace(':', '.')}`));
  const ticketsLost = acc.ticketsBooked - acc.ticketsStored + (acc.wins - acc.redeemed);
  console.log('');
  console.log(`faults injected:        ${faults}`);
  console.log(`segments ingested:      ${obs.ingested.size}`);
  console.log(`segments published:     ${obs.published.size}`);
  console.log(`segments skipped:       ${skips.length}${reasons.length ? ` (${reasons.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`);
  console.log(`segments duplicated:    ${obs.duplicated()}`);
  console.log(`segments lost:          ${lost.length}${lost.length ? ` (${lost.slice(0, 10).join(' ')})` : ''}${drained ? '' : ' (still in flight 90 s after the publisher stopped)'}`);
  console.log(`playlists frozen:       ${frozen}`);
  console.log(`longest playlist stall: ${(obs.longestStallMs / 1000).toFixed(1)} s (while publishing, reconnects included)`);
  console.log(`results paid:           ${obs.published.size - unpaid.length} of ${obs.published.size}${unpaid.length ? ` (unpaid: ${unpaid.slice(0, 10).join(' ')})` : ''}`);
  console.log(`tickets booked/stored:  ${acc.ticketsBooked} / ${acc.ticketsStored}${acc.plansMissing.length ? ` (missing: ${acc.plansMissing.slice(0, 5).join(' ')})` : ''}`);
  console.log(`winning tickets:        ${acc.wins} stored, ${acc.redeemed} redeemed`);
  console.log(`credit drift:           ${acc.creditDrift} wei`);
  console.log(`chaos: ${faults} faults, ${lost.length} segments lost, ${ticketsLost} tickets lost`);
  const bad = lost.length + frozen + obs.duplicated() + unpaid.length + ticketsLost + (acc.creditDrift > 0n ? 1 : 0);
  return bad === 0 ? 0 : 1;
}

async function skipsOf(cluster: Cluster, streamId: string): Promise<{ reason: string }[]> {
  const { openDatabase } = await import('../orchestrator/src/db/database.js');
  const { AuditStore } = await import('../orchestrator/src/audit/auditStore.js');
  const db = await openDatabase({ url: cluster.databaseUrl });
  const skips = await new AuditStore(db, 86_400).skips(streamId);
  await db.close();
  return skips;
}

/** Rendition playlists whose last segment is behind the last one published (a frozen playlist). */
async function frozenPlaylists(cluster: Cluster, playbackId: string, obs: Observer): Promise<number> {
  const lastIndex = Math.max(-1, ...[...obs.published.values()].flatMap((s) => [...s]));
  const master = HLS.parse(await playlist(`${cluster.url}/hls/${playbackId}/index.m3u8`)) as HLS.types.MasterPlaylist;
  let frozen = 0;
  for (const v of master.variants) {
    const pl = HLS.parse(await playlist(new URL(v.uri, `${cluster.url}/hls/${playbackId}/`).href)) as HLS.types.MediaPlaylist;
    if (pl.mediaSequenceBase! + pl.segments.length - 1 < lastIndex) frozen++;
  }
  return frozen;
}

async function playlist(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`chaos failed: ${(err as Error).stack ?? err}`);
    process.exit(2);
  },
);
