import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, startTestOrchestrator, waitFor, type TestOrchestrator } from './helpers.js';

// SSRF: URLs we fetch or post to on an integrator's behalf (asset import, webhook receivers) may
// not reach loopback, private, link-local or metadata addresses unless the operator allows it.
let db: Database;
let strict: TestOrchestrator;
let server: Server;
let local: string;
const hits: string[] = [];

beforeAll(async () => {
  db = await openDatabase();
  server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (req.url === '/pull/index.m3u8') {
      const port = (server.address() as { port: number }).port;
      return void res.writeHead(200).end(['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXTINF:2.0,', `http://localhost:${port}/internal/0.ts`, ''].join('\n'));
    }
    if (req.url === '/to-localhost') return void res.writeHead(302, { location: `http://localhost:${(server.address() as { port: number }).port}/video.mp4` }).end();
    req.resume();
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  local = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // 127.0.0.1 is trusted (as an operator might trust an internal media server); localhost is not
  strict = await startTestOrchestrator(db, { SEGMINT_ALLOW_PRIVATE_URLS: '0', SEGMINT_TRUSTED_URL_HOSTS: '127.0.0.1', SEGMINT_WEBHOOK_BACKOFF_MS: '100', SEGMINT_WEBHOOK_ATTEMPTS: '1' });
}, 120_000);
afterAll(async () => {
  await strict?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await db?.close();
});

const refused = [
  'http://localhost:8080/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.7/hook', 'http://192.168.1.20/hook',
  'http://[::ffff:172.17.0.1]/hook', 'http://0x7f000002/hook', 'http://metadata.google.internal/computeMetadata/v1/',
];

describe('outbound URLs', () => {
  it.each(refused)('webhook create and update refuse %s with 400 URL_NOT_ALLOWED', async (url) => {
    const created = await api(strict, 'POST', '/api/webhook', { name: 'x', url });
    expect({ status: created.status, code: created.json.error.code }).toEqual({ status: 400, code: 'URL_NOT_ALLOWED' });
    expect(created.json.error.message).toMatch(/public addresses only/);
    const { json: ok } = await api(strict, 'POST', '/api/webhook', { name: 'ok', url: `${local}/hook` });
    const updated = await api(strict, 'PUT', `/api/webhook/${ok.id}`, { name: 'x', url });
    expect({ status: updated.status, code: updated.json.error.code }).toEqual({ status: 400, code: 'URL_NOT_ALLOWED' });
    expect((await api(strict, 'DELETE', `/api/webhook/${ok.id}`)).status).toBe(200);
  });

  it.each(refused)('asset import refuses %s with 400 URL_NOT_ALLOWED and creates nothing', async (url) => {
    const before = (await api(strict, 'GET', '/api/asset')).json.length;
    const res = await api(strict, 'POST', '/api/asset/upload/url', { name: 'x', url });
    expect({ status: res.status, code: res.json.error.code }).toEqual({ status: 400, code: 'URL_NOT_ALLOWED' });
    expect((await api(strict, 'GET', '/api/asset')).json.length).toBe(before);
  });

  it('an import redirected to a private address fails the asset with a clear error and never fetches it', async () => {
    const res = await api(strict, 'POST', '/api/asset/upload/url', { name: 'redirected', url: `${local}/to-localhost` });
    expect(res.status).toBe(201);
    const failed = await waitFor('asset failed', async () => {
      const a = (await api(strict, 'GET', `/api/asset/${res.json.asset.id}`)).json;
      return a.status.phase === 'failed' ? a : null;
    });
    expect(failed.status.errorMessage).toMatch(/refused: localhost is a local name \(assets are imported from public addresses only\)/);
    expect(hits).toContain('GET /to-localhost');
    expect(hits).not.toContain('GET /video.mp4');
  });

  it('a webhook whose receiver became private (operator tightened the policy) gets failed deliveries, logged, and no request', async () => {
    // made while private URLs were allowed, delivered by an orchestrator that refuses them
    const lax = await startTestOrchestrator(db, { SEGMINT_ALLOW_PRIVATE_URLS: '1' });
    try {
      const laxKey = (await lax.apiKeys.create('owner')).token; // same database: the key works on both
      const { json: hook } = await api({ ...lax, apiKey: laxKey }, 'POST', '/api/webhook', { name: 'moved', url: `http://localhost:${new URL(local).port}/moved`, events: ['asset.created'] });
      expect(hook.id).toEqual(expect.any(String));
      const owner = { ...strict, apiKey: laxKey };
      expect((await api(owner, 'POST', '/api/asset/request-upload', { name: 'triggers asset.created' })).status).toBe(200);
      const log = await waitFor('a failed delivery', async () => {
        const l = (await api(owner, 'GET', `/api/webhook/${hook.id}/log`)).json as { success: boolean; error?: string; response: object }[];
        return l.length ? l : null;
      });
      expect(log[0]).toMatchObject({ success: false, error: expect.stringMatching(/^refused: localhost is a local name/), response: {} });
      expect(hits.some((h) => h.includes('/moved'))).toBe(false);
    } finally {
      await lax.stop();
    }
  });

  const rtmpRefused = refused.map((u) => u.replace(/^http:/, 'rtmp:').replace(/\/hook$/, '/live/key'));
  it.each(rtmpRefused)('multistream targets refuse %s with 400 URL_NOT_ALLOWED (create, and as a spec on a stream)', async (url) => {
    const created = await api(strict, 'POST', '/api/multistream/target', { name: 'x', url });
    expect({ status: created.status, code: created.json.error.code }).toEqual({ status: 400, code: 'URL_NOT_ALLOWED' });
    const stream = await api(strict, 'POST', '/api/stream', { name: 'x', multistream: { targets: [{ profile: 'source', spec: { url } }] } });
    expect({ status: stream.status, code: stream.json.error.code }).toEqual({ status: 400, code: 'URL_NOT_ALLOWED' });
  });

  it('a multistream target that became private (as by DNS rebinding) is never connected to: error status and webhook', async () => {
    // an RTMP "server" that counts connections
    let connections = 0;
    const rtmp = createTcpServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => rtmp.listen(0, '127.0.0.1', r));
    const dir = await mkdtemp(join(tmpdir(), 'segmint-ssrf-ms-'));
    const lax = await startTestOrchestrator(db, { SEGMINT_ALLOW_PRIVATE_URLS: '1' });
    try {
      const laxKey = (await lax.apiKeys.create('owner')).token;
      const owner = { ...strict, apiKey: laxKey };
      const url = `rtmp://localhost:${(rtmp.address() as { port: number }).port}/live/key`;
      const { json: stream } = await api({ ...lax, apiKey: laxKey }, 'POST', '/api/stream', { name: 'moved', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }], multistream: { targets: [{ profile: 'source', spec: { url } }] } });
      expect(stream.multistream.targets).toHaveLength(1);
      const { json: hook } = await api(owner, 'POST', '/api/webhook', { name: 'ms', url: `${local}/ms-hook`, events: ['multistream.error'] });
      const [segment] = await generateSegments({ dir, count: 1, width: 320, height: 180 });
      expect((await fetch(`${strict.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segment!)) })).status).toBe(200);
      const target = await waitFor('the refusal', async () => {
        const t = (await api(owner, 'GET', `/api/stream/${stream.id}`)).json.multistream.targets[0];
        return t.status?.phase === 'error' ? t : null;
      });
      expect(target.status.error).toMatch(/localhost is a local name: targets must be public addresses/);
      const log = await waitFor('the multistream.error delivery', async () => {
        const l = (await api(owner, 'GET', `/api/webhook/${hook.id}/log`)).json as { event: string }[];
        return l.length ? l : null;
      });
      expect(log[0]!.event).toBe('multistream.error');
      expect(connections).toBe(0);
    } finally {
      await lax.stop();
      rtmp.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(rtmpRefused.slice(0, 3).concat(refused.slice(0, 3)))('pull streams refuse the source %s with 400 URL_NOT_ALLOWED', async (source) => {
    const res = await api(strict, 'POST', '/api/stream', { name: 'x', pull: { source } });
    expect({ status: res.status, code: res.json.error.code }).toEqual({ status: 400, code: 'URL_NOT_ALLOWED' });
  });

  it('a pulled HLS playlist that lists a segment at a private address never gets it fetched', async () => {
    const { json: stream } = await api(strict, 'POST', '/api/stream', { name: 'pull', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }], pull: { source: `${local}/pull/index.m3u8` } });
    expect((await api(strict, 'POST', `/api/stream/${stream.id}/start-pull`)).status).toBe(204);
    await waitFor('the playlist fetched twice (a retry after the refusal)', async () => hits.filter((h) => h === 'GET /pull/index.m3u8').length >= 2, 20_000);
    expect(hits.some((h) => h.includes('/internal/'))).toBe(false);
    expect((await api(strict, 'DELETE', `/api/stream/${stream.id}`)).status).toBe(204);
  });
});
