/**
 * A public RTMP port meets hostile bytes: a seeded fuzz (mutated handshakes and chunk streams
 * derived from a real capture of an ffmpeg publish) and named attacks run against the live server
 * while a real ffmpeg stream keeps publishing. The process must survive, RSS stay bounded, and
 * the real stream's playlist keep growing.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import HLS from 'hls-parser';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { TestRtmpClient } from './rtmpClient.js';
import { exitOf, ffmpegPublish } from './rtmpPublish.js';

const PER_IP = 200;
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let publisher: ChildProcess;
let liveUrl: string;
let rssStart: number;

const LADDER = [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }];
const createStream = async (name: string) => (await api(orch, 'POST', '/api/stream', { name, profiles: LADDER })).json as { id: string; streamKey: string; playbackId: string };
const segmentsOf = async (url: string) => {
  const res = await fetch(url);
  if (res.status !== 200) return 0;
  const pl = HLS.parse(await res.text()) as HLS.types.MediaPlaylist;
  return pl.mediaSequenceBase! + pl.segments.length; // segments ever listed (the live window slides)
};

beforeAll(async () => {
  db = await openDatabase();
  orch = await startTestOrchestrator(db, {
    SEGMINT_IDLE_TIMEOUT: '600',
    SEGMINT_RTMP_HANDSHAKE_TIMEOUT_MS: '1500',
    SEGMINT_RTMP_IDLE_TIMEOUT_MS: '3000',
    SEGMINT_RTMP_MAX_CONNECTIONS_PER_IP: String(PER_IP),
    SEGMINT_RTMP_RECONNECT_WINDOW: '1',
  });
  worker = spawnWorker(orch, ['--concurrency', '1']);
  const live = await createStream('the real stream');
  liveUrl = `${orch.url}/hls/${live.playbackId}/source/index.m3u8`;
  publisher = ffmpegPublish({ port: orch.rtmp!.port, key: live.streamKey, seconds: 300, width: 320, height: 180 });
  await waitFor('the real stream in its playlist', async () => (await segmentsOf(liveUrl)) >= 1, 120_000);
  rssStart = process.memoryUsage().rss;
}, 180_000);

afterAll(async () => {
  await stopProcess(publisher, 'SIGKILL');
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
});

/** Handshaken connection for hand-written chunk bytes. */
const handshaken = async () => TestRtmpClient.connect(orch.rtmp!.port);
const closedWithin = (c: TestRtmpClient, ms: number) => Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
const fmt0 = (csid: number, ts: number, len: number, type: number, sid: number) => {
  const b = Buffer.alloc(12);
  b[0] = csid;
  b.writeUIntBE(ts, 1, 3);
  b.writeUIntBE(len, 4, 3);
  b[7] = type;
  b.writeUInt32LE(sid, 8);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

describe('hostile input on the RTMP port', () => {
  it('closes a connection that sets an oversized chunk size', async () => {
    const c = await handshaken();
    c.socket.write(Buffer.concat([fmt0(2, 0, 4, 1, 0), u32(0x7fffffff)]));
    expect(await closedWithin(c, 20_000)).toBe(true);
  });

  it('closes a connection that announces a 16 MB message', async () => {
    const c = await handshaken();
    c.socket.write(fmt0(6, 0, 0xffffff, 9, 1));
    expect(await closedWithin(c, 20_000)).toBe(true);
  });

  it('holds at most one message under endless extended-timestamp chunks, then idles the connection out', async () => {
    const c = await handshaken();
    c.socket.write(Buffer.concat([fmt0(2, 0, 4, 1, 0), u32(1)])); // chunk size 1: 5 header bytes per payload byte
    c.socket.write(Buffer.concat([fmt0(6, 0xffffff, 8 * 1024 * 1024, 9, 1), u32(0xffffffff), Buffer.from([0x17])]));
    const cont = Buffer.concat([Buffer.from([0xc6]), u32(0xffffffff), Buffer.from([0])]);
    const block = Buffer.concat(Array.from({ length: 10_000 }, () => cont));
    for (let i = 0; i < 100 && !c.socket.destroyed; i++) {
      if (!c.socket.write(block)) await new Promise((r) => c.socket.once('drain', r));
    }
    expect(process.memoryUsage().rss - rssStart).toBeLessThan(256 * 1024 * 1024);
    // the sender goes quiet: the idle timeout (3 s here) closes it
    expect(await closedWithin(c, 30_000)).toBe(true);
  }, 60_000);

  it('closes a slowloris handshake at the handshake timeout', async () => {
    const s = await TestRtmpClient.raw(orch.rtmp!.port);
    s.on('error', () => {});
    let sent = 0;
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write(Buffer.from([sent++ === 0 ? 3 : 0]));
    }, 100);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 30_000))]);
    clearInterval(trickle);
    expect(s.destroyed || s.readableEnded).toBe(true);
    expect(sent).toBeLessThan(1537); // never finished C0+C1: closed while still trickling
  }, 40_000);

  it(`refuses connection ${PER_IP + 1} from one address`, async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < PER_IP; i++) sockets.push(await TestRtmpClient.raw(orch.rtmp!.port));
    await waitFor('server counts them all', async () => orch.rtmp!.connectionCount >= PER_IP, 20_000);
    const extra = await TestRtmpClient.raw(orch.rtmp!.port);
    extra.on('error', () => {});
    const closed = new Promise<boolean>((r) => extra.once('close', () => r(true)));
    expect(await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))])).toBe(true);
    for (const s of sockets) s.destroy();
  }, 60_000);

  it('survives 10,000 seeded mutations of a real ffmpeg publish while the real stream keeps publishing', async () => {
    // 1. capture what ffmpeg sends when publishing (client → server bytes), through a recording proxy
    const victim = await createStream('capture');
    const captured: Buffer[] = [];
    const proxy: Server = createServer((client) => {
      const upstream = connect(orch.rtmp!.port, '127.0.0.1');
      client.on('data', (d: Buffer) => captured.push(d));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    expect(await exitOf(ffmpegPublish({ port, key: victim.streamKey, seconds: 2, width: 320, height: 180 }))).toBe(0);
    proxy.close();
    const capture = Buffer.concat(captured);
    expect(capture.length).toBeGreaterThan(20_000);
    // the same bytes with an unknown key: most cases stop at BadName instead of spawning a segmenter
    const keyAt = capture.indexOf(Buffer.from(victim.streamKey));
    expect(keyAt).toBeGreaterThan(3073);
    const unknownKey = Buffer.from(capture);
    unknownKey.fill('z'.charCodeAt(0), keyAt, keyAt + victim.streamKey.length);

    // 2. mutate: seeded, so a failure reproduces
    let seed = 0x5e6;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(rnd() * n);
    const HS = 1 + 1536 + 1536;
    const mutate = (i: number): Buffer => {
      const base = i % 10 === 0 ? capture : unknownKey;
      const handshake = i % 5 === 0;
      const len = handshake ? HS + int(2000) : Math.min(base.length, HS + 200 + int(30_000));
      const b = Buffer.from(base.subarray(0, len));
      const from = handshake ? 0 : HS;
      const kind = int(4);
      const n = 1 + int(8);
      for (let k = 0; k < n; k++) {
        const at = from + int(b.length - from);
        if (kind === 0) b[at] = int(256); // random byte
        else if (kind === 1) b[at] = b[at]! ^ (1 << int(8)); // bit flip
        else if (kind === 2) b.fill(0xff, at, Math.min(b.length, at + 4)); // max lengths, extended timestamp markers
        else b.fill(0, at, Math.min(b.length, at + 1 + int(16))); // zeroed run
      }
      return rnd() < 0.2 ? Buffer.concat([b, Buffer.from(Array.from({ length: int(4000) }, () => int(256)))]) : b;
    };

    // 3. fire them at the live server, 48 connections at a time
    const before = await segmentsOf(liveUrl);
    let maxRss = 0;
    const one = (bytes: Buffer) =>
      new Promise<void>((resolve) => {
        const s = connect(orch.rtmp!.port, '127.0.0.1', () => s.end(bytes));
        s.on('error', () => {});
        s.on('data', () => {});
        const timer = setTimeout(() => s.destroy(), 150); // most are closed by the server long before
        s.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    let next = 0;
    const TOTAL = 10_000;
    await Promise.all(Array.from({ length: 48 }, async () => {
      while (next < TOTAL) {
        const i = next++;
        await one(mutate(i));
        if (i % 500 === 0) maxRss = Math.max(maxRss, process.memoryUsage().rss);
      }
    }));
    expect(next).toBe(TOTAL);

    // 4. the process is alive, memory bounded, and the real stream kept publishing
    expect(maxRss - rssStart).toBeLessThan(300 * 1024 * 1024);
    await waitFor('the real stream to keep growing', async () => (await segmentsOf(liveUrl)) >= before + 2, 60_000);
    expect(publisher.exitCode).toBeNull();
    await waitFor('fuzz connections to drain', async () => orch.rtmp!.connectionCount <= 2, 30_000);
    const health = await api(orch, 'GET', '/healthz');
    expect(health.status).toBe(200);
  }, 300_000);
});
