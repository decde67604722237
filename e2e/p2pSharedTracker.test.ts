import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { PEER_TTL_MS } from '../orchestrator/src/p2p/sharedSwarms.js';
import { swarmInfoHash } from '../orchestrator/src/p2p/tracker.js';
import type { RedisClient } from '../orchestrator/src/redis/redisClient.js';
import { api, startTestOrchestrator, testRedis, waitFor, type TestOrchestrator } from './helpers.js';

// The tracker across orchestrators: two orchestrators of one deployment (one Redis prefix, one
// secret, one database) behind, say, a load balancer. Node WebSocket clients speak the WebTorrent
// tracker protocol as p2p-media-loader's client does: a viewer on one orchestrator gets the offers
// of a viewer on the other, and its answer travels back.
let db: Database;
let a: TestOrchestrator;
let b: TestOrchestrator;
let redis: RedisClient;
const ladder = [{ name: 'low', width: 256, height: 144, bitrate: 150_000 }];
const open: WebSocket[] = [];

beforeAll(async () => {
  db = await openDatabase();
  const shared = { SEGMINT_SECRET: randomBytes(32).toString('hex') };
  a = await startTestOrchestrator(db, shared);
  b = await startTestOrchestrator(db, { ...shared, SEGMINT_REDIS_PREFIX: a.prefix });
  redis = testRedis();
}, 180_000); // pglite and two orchestrators start slowly on a loaded machine
afterAll(async () => {
  for (const ws of open) ws.terminate();
  await b?.stop();
  await a?.stop();
  await redis?.quit();
  await db?.close();
});

type Msg = Record<string, unknown> & { 'failure reason'?: string };
const bin = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');
const newPeerId = () => `-SM0001-${randomBytes(6).toString('hex')}`; // 20 characters, as the client's
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tracker connection to `orch` for `playbackId`, keeping every message it gets. */
async function connect(orch: TestOrchestrator, playbackId: string) {
  const ws = new WebSocket(`${orch.url.replace(/^http/, 'ws')}/tracker/${playbackId}`);
  open.push(ws);
  const got: Msg[] = [];
  ws.on('message', (m) => got.push(JSON.parse(m.toString()) as Msg));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const next = (what: string, pred: (m: Msg) => boolean) => waitFor(what, async () => got.find(pred), 5_000, 20);
  return {
    ws,
    got,
    /** An announce of `peerId` in the swarm `infoHash` with `offers` (each peer it is given gets one). */
    async announce(infoHash: string, peerId: string, offers: { offer: { type: 'offer'; sdp: string }; offer_id: string }[] = []) {
      const before = got.length;
      ws.send(JSON.stringify({ action: 'announce', info_hash: bin(infoHash), peer_id: peerId, numwant: offers.length, event: 'started', uploaded: 0, downloaded: 0, offers }));
      return next('announce reply', (m) => got.indexOf(m) >= before && m.action === 'announce' && !m.offer && !m.answer);
    },
    answer(infoHash: string, peerId: string, to: string, offerId: string, sdp: string) {
      ws.send(JSON.stringify({ action: 'announce', info_hash: bin(infoHash), peer_id: peerId, to_peer_id: to, offer_id: offerId, answer: { type: 'answer', sdp } }));
    },
    next,
  };
}

const offer = (sdp: string) => ({ offer: { type: 'offer' as const, sdp }, offer_id: randomBytes(10).toString('hex') });
const stream = async (name: string, extra: Record<string, unknown> = {}) =>
  (await api(a, 'POST', '/api/stream', { name, profiles: ladder, ...extra })).json as { id: string; playbackId: string };

describe('one swarm per stream across orchestrators', () => {
  it('a viewer on one orchestrator gets the offer of a viewer on the other, and the answer goes back', async () => {
    const s = await stream('shared');
    const low = swarmInfoHash(s.playbackId, 'low');
    const [x, y] = [await connect(a, s.playbackId), await connect(b, s.playbackId)];
    const [xId, yId] = [newPeerId(), newPeerId()];
    expect(await x.announce(low, xId)).toMatchObject({ incomplete: 1 });
    const o = offer('v=0 offer from y');
    expect(await y.announce(low, yId, [o])).toMatchObject({ incomplete: 2 }); // one swarm, two orchestrators

    const got = await x.next('offer relayed to a', (m) => !!m.offer);
    expect(got).toMatchObject({ action: 'announce', offer: o.offer, offer_id: o.offer_id, peer_id: yId, info_hash: bin(low) });
    x.answer(low, xId, yId, o.offer_id, 'v=0 answer from x');
    expect(await y.next('answer relayed to b', (m) => !!m.answer)).toMatchObject({ answer: { type: 'answer', sdp: 'v=0 answer from x' }, offer_id: o.offer_id, peer_id: xId });

    // a viewer that leaves is gone from the swarm at once, on every orchestrator
    x.ws.close();
    await waitFor('x left', async () => (await y.announce(low, yId)).incomplete === 1, 5_000, 100);
  });

  it('swarms stay apart: another rendition or another stream on the other orchestrator is never introduced', async () => {
    const [s, t] = [await stream('one'), await stream('two')];
    const x = await connect(a, s.playbackId);
    await x.announce(swarmInfoHash(s.playbackId, 'low'), newPeerId());
    const other = await connect(b, s.playbackId);
    expect(await other.announce(swarmInfoHash(s.playbackId, 'source'), newPeerId(), [offer('v=0 source')])).toMatchObject({ incomplete: 1 });
    const stranger = await connect(b, t.playbackId);
    expect(await stranger.announce(swarmInfoHash(t.playbackId, 'low'), newPeerId(), [offer('v=0 t')])).toMatchObject({ incomplete: 1 });
    // the filter still holds on b: a stream's connection cannot announce another stream's swarm
    expect((await stranger.announce(swarmInfoHash(s.playbackId, 'low'), newPeerId(), [offer('v=0 sneak')]))['failure reason']).toBe('not a swarm of this stream');
    await sleep(1000);
    expect(x.got.filter((m) => m.offer)).toEqual([]);
    // while a peer of the same swarm on b does reach x
    const same = await connect(b, s.playbackId);
    await same.announce(swarmInfoHash(s.playbackId, 'low'), newPeerId(), [offer('v=0 same')]);
    expect(await x.next('offer', (m) => !!m.offer)).toMatchObject({ offer: { sdp: 'v=0 same' } });
  });

  it('admission holds on every orchestrator: P2P switched off on one is refused by the other', async () => {
    const s = await stream('toggled');
    const low = swarmInfoHash(s.playbackId, 'low');
    const y = await connect(b, s.playbackId);
    const yId = newPeerId();
    expect(await y.announce(low, yId)).toMatchObject({ incomplete: 1 });
    expect((await api(a, 'PATCH', `/api/stream/${s.id}`, { p2p: false })).status).toBeLessThan(300);
    await waitFor('refused on b', async () => (await y.announce(low, yId))['failure reason'] === 'P2P is off for this stream', 10_000, 250);
    const off = await stream('off', { p2p: false });
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${b.url.replace(/^http/, 'ws')}/tracker/${off.playbackId}`);
      ws.on('open', () => (ws.close(), resolve(101)));
      ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
      ws.on('error', () => {}); // terminate() before the upgrade
    });
    expect(status).toBe(403);
  });

  it('one connection per peer id: a live peer cannot be taken over, here or from the other orchestrator', async () => {
    const s = await stream('ids');
    const low = swarmInfoHash(s.playbackId, 'low');
    const [y, thief] = [await connect(b, s.playbackId), await connect(a, s.playbackId)];
    const yId = newPeerId();
    await y.announce(low, yId);
    expect((await thief.announce(low, yId))['failure reason']).toBe('peer_id in use');
    const local = await connect(b, s.playbackId);
    expect((await local.announce(low, yId))['failure reason']).toBe('peer_id in use');
    const z = await connect(a, s.playbackId);
    await z.announce(low, newPeerId());
    // y still gets offers meant for it
    const w = await connect(a, s.playbackId);
    await w.announce(low, newPeerId(), [offer('v=0 1'), offer('v=0 2')]);
    await y.next('offer', (m) => !!m.offer);
    expect(thief.got.filter((m) => m.offer)).toEqual([]);
    expect(local.got.filter((m) => m.offer)).toEqual([]);
  });

  it("a page's one connection carries a peer id per rendition (as p2p-media-loader's client does); closing it leaves both swarms", async () => {
    const s = await stream('renditions');
    const [low, source] = [swarmInfoHash(s.playbackId, 'low'), swarmInfoHash(s.playbackId, 'source')];
    const page = await connect(a, s.playbackId);
    expect(await page.announce(low, newPeerId())).toMatchObject({ incomplete: 1 });
    expect(await page.announce(source, newPeerId())).toMatchObject({ incomplete: 1 });
    const other = await connect(b, s.playbackId);
    const [oLow, oSource] = [newPeerId(), newPeerId()];
    expect(await other.announce(low, oLow)).toMatchObject({ incomplete: 2 });
    expect(await other.announce(source, oSource, [offer('v=0 source')])).toMatchObject({ incomplete: 2 });
    expect(await page.next('offer in the source swarm', (m) => !!m.offer)).toMatchObject({ info_hash: bin(source), peer_id: oSource });
    page.ws.close();
    await waitFor('left both swarms', async () => (await other.announce(low, oLow)).incomplete === 1 && (await other.announce(source, oSource)).incomplete === 1, 5_000, 100);
  });

  it('dead peers vanish: a peer whose orchestrator died is dropped once its TTL passes, and swarm keys expire', async () => {
    const s = await stream('ttl');
    const low = swarmInfoHash(s.playbackId, 'low');
    const [peersKey, atKey] = [`${a.prefix}:p2p:{${s.playbackId}}:peers:${low}`, `${a.prefix}:p2p:{${s.playbackId}}:at:${low}`];
    // a peer left behind by an orchestrator that died: its last announce was a TTL ago
    const ghost = Buffer.from(newPeerId(), 'latin1').toString('hex');
    await redis.zadd(peersKey, Date.now() - 1, ghost);
    await redis.hset(atKey, ghost, 'dead-orchestrator');
    const y = await connect(b, s.playbackId);
    expect(await y.announce(low, newPeerId(), [offer('v=0 to nobody')])).toMatchObject({ incomplete: 1 });
    expect(await redis.zscore(peersKey, ghost)).toBeNull();
    expect(await redis.hget(atKey, ghost)).toBeNull();
    for (const key of [peersKey, atKey]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(PEER_TTL_MS);
    }
  });
});
