import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import { signPlaybackJwt } from '../orchestrator/src/access/playbackJwt.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';

// Playback access control: a jwt stream plays only with a JWT signed by its owner's signing key.
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess;
let dir: string;
let stream: { id: string; playbackId: string; streamKey: string };
let key: { id: string; publicKey: string; privateKey: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-acl-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 640, height: 360 })]);
  db = database;
  orch = await startTestOrchestrator(db, { SEGMINT_IDLE_TIMEOUT: '600' });
  worker = spawnWorker(orch, ['--concurrency', '1']);
  key = (await api(orch, 'POST', '/api/access-control/signing-key', { name: 'player' })).json;
  stream = (await api(orch, 'POST', '/api/stream', { name: 'paid', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }], playbackPolicy: { type: 'jwt' } })).json;
  const res = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(files[0]!)) });
  expect(res.status).toBe(200);
  await waitFor('segment published', async () => (await api(orch, 'GET', `/api/stream/${stream.id}`)).json.transcodedSegments === 1, 90_000, 250);
}, 150_000);
afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const code = async (res: Response) => ({ status: res.status, code: res.status === 200 ? null : ((await res.json()) as { error: { code: string } }).error.code });
const jwtFor = (playbackId: string, o: { expiresInSec?: number; k?: typeof key } = {}) =>
  signPlaybackJwt({ privateKey: (o.k ?? key).privateKey, publicKey: (o.k ?? key).publicKey, playbackId, expiresInSec: o.expiresInSec });

describe('playback access control', () => {
  it('signing keys: the private key is shown once; lists and gets never show it', async () => {
    expect(key).toMatchObject({ name: 'player', disabled: false, publicKey: expect.any(String), privateKey: expect.any(String) });
    const listed = (await api(orch, 'GET', '/api/access-control/signing-key')).json;
    expect(listed.map((k: { id: string }) => k.id)).toContain(key.id);
    expect(JSON.stringify(listed)).not.toContain(key.privateKey);
    expect((await api(orch, 'GET', `/api/access-control/signing-key/${key.id}`)).json.privateKey).toBeUndefined();
    const stranger = { ...orch, apiKey: (await orch.apiKeys.create('stranger')).token };
    expect((await api(stranger, 'GET', `/api/access-control/signing-key/${key.id}`)).json.error.code).toBe('SIGNING_KEY_NOT_FOUND');
    expect((await api(stranger, 'PATCH', `/api/access-control/signing-key/${key.id}`, { disabled: true })).json.error.code).toBe('SIGNING_KEY_NOT_FOUND');
    expect((await api(orch, 'PATCH', `/api/access-control/signing-key/${key.id}`, { colour: 'red' })).json.error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses every playlist and segment without a valid JWT', async () => {
    const base = `${orch.url}/hls/${stream.playbackId}`;
    for (const url of [`${base}/index.m3u8`, `${base}/low/index.m3u8`, `${base}/low/1_0.ts`]) {
      expect(await code(await fetch(url))).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
    }
    const denied = async (token: string) => {
      const res = await fetch(`${base}/low/index.m3u8?jwt=${encodeURIComponent(token)}`);
      return { ...(await code(res.clone())), message: res.status === 401 ? ((await res.json()) as { error: { message: string } }).error.message : '' };
    };
    expect(await denied('not.a.jwt')).toMatchObject({ status: 401, code: 'PLAYBACK_DENIED' });
    expect(await denied(jwtFor(stream.playbackId, { expiresInSec: -60 }))).toMatchObject({ status: 401, message: expect.stringContaining('expired') });
    expect(await denied(jwtFor('0123456789abcdef'))).toMatchObject({ status: 401, message: expect.stringContaining('another playback id') });
    // a key of another owner, even naming its own public key, is not this stream's owner's
    const stranger = { ...orch, apiKey: (await orch.apiKeys.create('stranger')).token };
    const theirs = (await api(stranger, 'POST', '/api/access-control/signing-key', { name: 'theirs' })).json;
    expect(await denied(jwtFor(stream.playbackId, { k: theirs }))).toMatchObject({ status: 401, code: 'PLAYBACK_DENIED' });
    // a forged signature over the right claims
    const good = jwtFor(stream.playbackId);
    const forged = `${good.split('.').slice(0, 2).join('.')}.${jwtFor(stream.playbackId, { k: theirs }).split('.')[2]}`;
    expect(await denied(forged)).toMatchObject({ status: 401, message: expect.stringContaining('signature') });
  });

  it('plays with a JWT: playlists carry it on every URI, segments accept it, a header works too', async () => {
    const token = jwtFor(stream.playbackId);
    const master = await fetch(`${orch.url}/hls/${stream.playbackId}/index.m3u8?jwt=${encodeURIComponent(token)}`);
    expect(master.status).toBe(200);
    const uris = (await master.text()).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(uris.length).toBeGreaterThan(0);
    for (const u of uris) expect(u).toContain(`jwt=${encodeURIComponent(token)}`);
    const low = uris.find((u) => u.startsWith('low/'))!;
    const media = await fetch(`${orch.url}/hls/${stream.playbackId}/${low}`);
    expect(media.status).toBe(200);
    const segment = (await media.text()).split('\n').find((l) => l && !l.startsWith('#'))!;
    expect(segment).toMatch(/^1_0\.ts\?jwt=/);
    const seg = await fetch(`${orch.url}/hls/${stream.playbackId}/low/${segment}`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect((await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_0.ts`, { headers: { 'livepeer-jwt': token } })).status).toBe(200);
  });

  it('a disabled signing key stops playback; public streams never need a token', async () => {
    const token = jwtFor(stream.playbackId);
    expect((await api(orch, 'PATCH', `/api/access-control/signing-key/${key.id}`, { disabled: true })).status).toBe(204);
    await waitFor('token refused', async () => (await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_0.ts?jwt=${token}`)).status === 401, 15_000, 250);
    expect((await api(orch, 'PATCH', `/api/stream/${stream.id}`, { playbackPolicy: { type: 'public' } })).status).toBe(204);
    await waitFor('public again', async () => (await fetch(`${orch.url}/hls/${stream.playbackId}/low/1_0.ts`)).status === 200, 15_000, 250);
  });
});
