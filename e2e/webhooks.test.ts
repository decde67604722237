import type { ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { deleteKeys, scanKeys } from '../orchestrator/src/redis/redisClient.js';
import { generateSegments } from '@segmint/media';
import { loadOrchestratorConfig } from '../orchestrator/src/config.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { startOrchestrator } from '../orchestrator/src/orchestrator.js';
import { verifySignature } from '../orchestrator/src/webhooks/signature.js';
import { WEBHOOK_EVENTS } from '../orchestrator/src/webhooks/webhookEvents.js';
import { api, REDIS_ENV, spawnWorker, testRedis, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Webhooks and sessions as an integrator sees them: a real HTTP receiver, a real worker.
type Received = { headers: IncomingHttpHeaders; body: string; answered: number };

/** A webhook receiver on a free port; `fail` requests get 500 first, `down` answers 503 to all. */
async function startReceiver() {
  const got: Received[] = [];
  const state = { fail: 0, down: false };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const answered = state.down ? 503 : state.fail-- > 0 ? 500 : 204;
      got.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end(answered === 204 ? '' : 'not now');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    got,
    state,
    delivered: (event: string) => got.filter((g) => g.answered === 204).map((g) => ({ ...g, json: JSON.parse(g.body) })).filter((g) => g.json.event === event),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let dir: string;
let segments: string[];
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-hooks-'));
  [db, segments, receiver] = await Promise.all([openDatabase(), generateSegments({ dir, count: 2, width: 640, height: 360 }), startReceiver()]);
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '3', SEGMINT_WEBHOOK_BACKOFF_MS: '200', SEGMINT_WEBHOOK_ATTEMPTS: '5' });
  worker = spawnWorker(orch, ['--concurrency', '1']);
}, 120_000);
afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await receiver?.close();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const push = async (key: string, seq: number, o = orch) =>
  fetch(`${o.url}/live/${key}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[seq % segments.length]!)) });

describe('webhooks and sessions', () => {
  it('signs and delivers stream.started and stream.idle; records the session and its counters', async () => {
    const { json: hook } = await api(orch, 'POST', '/api/webhook', { name: 'app', url: receiver.url, events: ['stream.started', 'stream.idle'] });
    expect(hook).toMatchObject({ kind: 'webhook', events: ['stream.started', 'stream.idle'], sharedSecret: expect.any(String), status: {} });
    expect(hook.status.lastTriggeredAt).toBeUndefined();
    // another owner's webhook must hear nothing of this stream
    const stranger = { ...orch, apiKey: (await orch.apiKeys.create('stranger')).token };
    const strangerRx = await startReceiver();
    expect((await api(stranger, 'POST', '/api/webhook', { name: 'spy', url: strangerRx.url })).status).toBe(200);

    const { json: stream } = await api(orch, 'POST', '/api/stream', { name: 'hooked', profiles: low });
    for (const seq of [0, 1]) expect((await push(stream.streamKey, seq)).status).toBe(200);

    const [started] = await waitFor('stream.started delivered', async () => (receiver.delivered('stream.started').length ? receiver.delivered('stream.started') : null), 30_000);
    const sig = verifySignature(String(started!.headers['livepeer-signature']), started!.body, hook.sharedSecret);
    expect(sig.valid).toBe(true);
    expect(String(started!.headers['livepeer-signature'])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(String(started!.headers['livepeer-signature']), `${started!.body} `, hook.sharedSecret).valid).toBe(false);
    expect(started!.json).toMatchObject({ event: 'stream.started', webhookId: hook.id, stream: { id: stream.id, playbackId: stream.playbackId }, payload: { sessionId: expect.any(String) } });
    expect(started!.body).not.toContain(stream.streamKey);

    const sessions = await api(orch, 'GET', `/api/stream/${stream.id}/sessions`);
    expect(sessions.json).toHaveLength(1);
    const session = sessions.json[0];
    expect(session).toMatchObject({ kind: 'session', id: started!.json.payload.sessionId, parentId: stream.id, isActive: true, recordingStatus: 'none', playbackId: stream.playbackId });

    // playback info while live
    const playback = await api(orch, 'GET', `/api/playback/${stream.playbackId}`);
    expect(playback.json).toMatchObject({
      type: 'live',
      meta: {
        live: 1,
        source: [
          { hrn: 'HLS (TS)', type: 'html5/application/vnd.apple.mpegurl', url: `${orch.url}/hls/${stream.playbackId}/index.m3u8` },
          { hrn: 'Thumbnail (JPEG)', type: 'image/jpeg', url: `${orch.url}/hls/${stream.playbackId}/thumbnail.jpg` },
        ],
        watchUrl: `${orch.url}/watch/${stream.playbackId}`,
      },
    });

    // both segments transcoded → counters on the stream and the session
    const counted = await waitFor('counters', async () => {
      const s = (await api(orch, 'GET', `/api/stream/${stream.id}`)).json;
      return s.transcodedSegments === 2 ? s : null;
    }, 180_000);
    expect(counted).toMatchObject({ sourceSegments: 2, transcodedSegments: 2 });
    expect(counted.sourceBytes).toBeGreaterThan(counted.transcodedBytes);
    expect(counted.sourceSegmentsDuration).toBeCloseTo(4, 0);

    // usage: minutes and pixels transcoded, per stream and per key that created it
    const usage = await waitFor('usage', async () => {
      const u = (await api(orch, 'GET', `/api/data/usage?from=${stream.createdAt - 1}`)).json;
      return u.streams.some((s: { streamId: string; segments: number }) => s.streamId === stream.id && s.segments === 2) ? u : null;
    }, 10_000);
    const mine = usage.streams.find((s: { streamId: string }) => s.streamId === stream.id);
    expect(mine.usageMins).toBeCloseTo(4 / 60, 2);
    expect(mine.pixels).toBeGreaterThan(320 * 180 * 25 * 3.5);
    expect(mine.pixels).toBeLessThan(320 * 180 * 31 * 4.5);
    const keyId = (await orch.apiKeys.verify(orch.apiKey))!.id;
    expect(usage.keys.find((k: { apiKeyId: string }) => k.apiKeyId === keyId).segments).toBeGreaterThanOrEqual(2);
    expect((await api(stranger, 'GET', '/api/data/usage')).json).toMatchObject({ segments: 0, streams: [], keys: [] });
    expect((await api(orch, 'GET', '/api/data/usage?from=10&to=5')).json.error.code).toBe('VALIDATION_FAILED');
    expect((await api(orch, 'GET', '/api/data/usage?from=yesterday')).json.error.code).toBe('VALIDATION_FAILED');

    // idle for SEGMINT_IDLE_TIMEOUT → stream.idle, the session ends
    const [idle] = await waitFor('stream.idle delivered', async () => (receiver.delivered('stream.idle').length ? receiver.delivered('stream.idle') : null), 30_000);
    expect(idle!.json).toMatchObject({ event: 'stream.idle', payload: { sessionId: session.id }, stream: { id: stream.id } });
    const ended = (await api(orch, 'GET', `/api/session/${session.id}`)).json;
    expect(ended).toMatchObject({ isActive: false, endedAt: expect.any(Number), sourceSegments: 2, transcodedSegments: 2 });
    expect((await api(orch, 'GET', `/api/playback/${stream.playbackId}`)).json.meta.live).toBe(0);
    expect((await api(orch, 'GET', '/api/session')).json.map((s: { id: string }) => s.id)).toContain(session.id);

    // the delivery log shows each attempt; the stranger saw nothing and cannot read ours
    const log = (await api(orch, 'GET', `/api/webhook/${hook.id}/log`)).json;
    expect(log.map((d: { event: string }) => d.event).sort()).toEqual(['stream.idle', 'stream.started']);
    expect(log[0]).toMatchObject({ success: true, attempt: 1, response: { status: 204 }, request: { url: receiver.url, method: 'POST' } });
    // Only deliveries count: on a shared machine the receiver's port may have served another
    // test's orchestrator a moment ago, whose workers still send it heartbeats.
    expect(strangerRx.got.filter((r) => r.headers['livepeer-signature'])).toHaveLength(0);
    expect((await api(stranger, 'GET', `/api/session/${session.id}`)).json.error.code).toBe('SESSION_NOT_FOUND');
    expect((await api(stranger, 'GET', `/api/webhook/${hook.id}/log`)).json.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect((await api(stranger, 'GET', `/api/stream/${stream.id}/sessions`)).json.error.code).toBe('STREAM_NOT_FOUND');
    await strangerRx.close();
    await api(orch, 'DELETE', `/api/webhook/${hook.id}`);
  }, 270_000);

  it('keeps a recorded session: recording.ready, then a VOD playlist of every segment', async () => {
    const rx = await startReceiver();
    const { json: hook } = await api(orch, 'POST', '/api/webhook', { name: 'rec', url: rx.url, events: ['recording.ready'] });
    const { json: stream } = await api(orch, 'POST', '/api/stream', { name: 'recorded', profiles: low, record: true });
    for (const seq of [0, 1]) expect((await push(stream.streamKey, seq)).status).toBe(200);
    const [ready] = await waitFor('recording.ready', async () => (rx.delivered('recording.ready').length ? rx.delivered('recording.ready') : null), 180_000);
    expect(ready!.json).toMatchObject({ event: 'recording.ready', stream: { id: stream.id }, session: { record: true } });
    const session = (await api(orch, 'GET', `/api/session/${ready!.json.payload.sessionId}`)).json;
    expect(session).toMatchObject({ recordingStatus: 'ready', recordingUrl: expect.stringMatching(/\/recording\/[0-9a-f-]+\/index\.m3u8$/) });
    const master = await (await fetch(session.recordingUrl)).text();
    expect(master).toContain('low/index.m3u8');
    const media = await (await fetch(session.recordingUrl.replace('index.m3u8', 'low/index.m3u8'))).text();
    expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media).toContain('#EXT-X-ENDLIST');
    expect(media.split('\n').filter((l) => l.endsWith('.ts'))).toEqual(['0.ts', '1.ts']);
    const seg = await fetch(session.recordingUrl.replace('index.m3u8', 'low/1.ts'));
    expect(seg.status).toBe(200);
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(188);
    await api(orch, 'DELETE', `/api/webhook/${hook.id}`);
    await rx.close();
  }, 240_000);

  it('retries a failing receiver with growing delays and logs every attempt', async () => {
    const rx = await startReceiver();
    rx.state.fail = 2;
    const { json: hook } = await api(orch, 'POST', '/api/webhook', { name: 'flaky', url: rx.url, events: ['stream.started'] });
    const { json: stream } = await api(orch, 'POST', '/api/stream', { name: 'flaky', profiles: low });
    expect((await push(stream.streamKey, 0)).status).toBe(200);
    await waitFor('delivered after two failures', async () => rx.delivered('stream.started').length > 0, 30_000);
    const log = ((await api(orch, 'GET', `/api/webhook/${hook.id}/log`)).json as { attempt: number; success: boolean; createdAt: number; response: { status: number } }[]).reverse();
    expect(log.map((d) => [d.attempt, d.success, d.response.status])).toEqual([[1, false, 500], [2, false, 500], [3, true, 204]]);
    // exponential: the second wait is longer than the first (200 ms, then 400 ms)
    expect(log[2]!.createdAt - log[1]!.createdAt).toBeGreaterThan(log[1]!.createdAt - log[0]!.createdAt);
    // every attempt carried the same signed body
    expect(new Set(rx.got.map((g) => g.body)).size).toBe(1);
    expect((await api(orch, 'GET', `/api/webhook/${hook.id}`)).json.status).toMatchObject({ lastTriggeredAt: expect.any(Number), lastFailure: { statusCode: 500 } });
    await api(orch, 'DELETE', `/api/webhook/${hook.id}`);
    await rx.close();
  }, 60_000);

  it('a delivery still queued when the orchestrator stops is delivered by the next one', async () => {
    const rx = await startReceiver();
    rx.state.down = true;
    const prefix = `segmint-e2e-restart-${Date.now()}`;
    const config = loadOrchestratorConfig([], {
      SEGMINT_HTTP_PORT: '0', SEGMINT_RTMP_PORT: '-1', ...REDIS_ENV, SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: join(dir, 'restart'),
      SEGMINT_WEBHOOK_BACKOFF_MS: '500', SEGMINT_WEBHOOK_ATTEMPTS: '8', SEGMINT_ALLOW_PRIVATE_URLS: '1',
    });
    const logger = pino({ level: 'silent' });
    const first = await startOrchestrator(config, { db, logger });
    const { token } = await first.apiKeys.create('restart');
    const as = (o: { url: string }) => ({ ...orch, url: o.url, apiKey: token });
    try {
      const { json: hook } = await api(as(first), 'POST', '/api/webhook', { name: 'restart', url: rx.url, events: ['stream.started'] });
      const { json: stream } = await api(as(first), 'POST', '/api/stream', { name: 'restart', profiles: low });
      expect((await fetch(`${first.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[0]!)) })).status).toBe(200);
      await waitFor('a failed attempt', async () => rx.got.length > 0, 30_000);
      await first.close();

      rx.state.down = false;
      const second = await startOrchestrator(config, { db, logger });
      try {
        await waitFor('delivered by the second orchestrator', async () => rx.delivered('stream.started').length > 0, 60_000);
        const log = (await api(as(second), 'GET', `/api/webhook/${hook.id}/log`)).json as { success: boolean }[];
        expect(log[0]!.success).toBe(true);
        expect(log.filter((d) => !d.success).length).toBeGreaterThanOrEqual(1);
      } finally {
        await second.close();
      }
    } finally {
      const redis = testRedis();
      await deleteKeys(redis, await scanKeys(redis, `${prefix}:*`));
      await redis.quit();
      await rx.close();
    }
  }, 120_000);
});

describe('webhook API refuses bad input', () => {
  it.each([
    ['no url', { name: 'x' }],
    ['a url that is not http', { name: 'x', url: 'ftp://example.com/x' }],
    ['an unknown event', { name: 'x', url: 'http://127.0.0.1:1/x', events: ['stream.exploded'] }],
    ['an unknown field', { name: 'x', url: 'http://127.0.0.1:1/x', retries: 3 }],
    ['a short secret', { name: 'x', url: 'http://127.0.0.1:1/x', sharedSecret: 'abc' }],
  ])('create with %s → 400 VALIDATION_FAILED', async (_what, body) => {
    const { status, json } = await api(orch, 'POST', '/api/webhook', body);
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('updates with PUT (keeping the secret), 404s on unknown ids and other owners\' streams', async () => {
    const { json: hook } = await api(orch, 'POST', '/api/webhook', { name: 'a', url: 'http://127.0.0.1:1/a' });
    expect(hook.events).toEqual([...WEBHOOK_EVENTS]); // default: every event
    const put = await api(orch, 'PUT', `/api/webhook/${hook.id}`, { name: 'b', url: 'http://127.0.0.1:1/b', events: ['stream.idle'] });
    expect(put.json).toMatchObject({ name: 'b', url: 'http://127.0.0.1:1/b', events: ['stream.idle'], sharedSecret: hook.sharedSecret });
    expect((await api(orch, 'GET', '/api/webhook')).json.map((h: { id: string }) => h.id)).toContain(hook.id);
    const stranger = { ...orch, apiKey: (await orch.apiKeys.create('stranger')).token };
    const { json: theirs } = await api(stranger, 'POST', '/api/stream', { name: 'theirs', profiles: low });
    expect((await api(orch, 'POST', '/api/webhook', { name: 'c', url: 'http://127.0.0.1:1/c', streamId: theirs.id })).json.error.code).toBe('STREAM_NOT_FOUND');
    expect((await api(stranger, 'PUT', `/api/webhook/${hook.id}`, { name: 'x', url: 'http://127.0.0.1:1/x' })).json.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect((await api(stranger, 'DELETE', `/api/webhook/${hook.id}`)).json.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect(await api(orch, 'DELETE', `/api/webhook/${hook.id}`)).toMatchObject({ status: 200, json: { id: hook.id, name: 'b' } });
    expect((await api(orch, 'GET', `/api/webhook/${hook.id}`)).json.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect((await api(orch, 'GET', '/api/playback/nope')).json.error.code).toBe('PLAYBACK_NOT_FOUND');
    expect((await api(orch, 'GET', '/api/session/nope')).json.error.code).toBe('SESSION_NOT_FOUND');
  });
});
