import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, generateSegments } from '@segmint/media';
import type * as LivepeerSdk from './livepeer-sdk/node_modules/livepeer/index.js';
import type { Events } from './livepeer-sdk/node_modules/livepeer/models/components/index.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { presignedGet } from '../orchestrator/src/transcode/s3Object.js';
import S3rver from 's3rver';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { S3RVER_KEYS } from './s3Server.js';

// Livepeer's own SDK (the `livepeer` npm package, pinned in e2e/livepeer-sdk/ and installed apart
// from the workspace: its runtime deps include jest 29) pointed at Segmint by its serverURL only.
// Every call parses our answer with the SDK's own zod schemas, so a shape or status code that
// differs from Studio's fails here.
const SDK_ENTRY = join(import.meta.dirname, 'livepeer-sdk/node_modules/livepeer/index.js');

let db: Database;
let orch: TestOrchestrator;
let sdk: LivepeerSdk.Livepeer;
let worker: ChildProcess;
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000, fps: 30 }];

beforeAll(async () => {
  if (!existsSync(SDK_ENTRY)) throw new Error('the Livepeer SDK is not installed: run `npm ci --prefix e2e/livepeer-sdk` (make install does)');
  const { Livepeer } = (await import(SDK_ENTRY)) as typeof LivepeerSdk;
  db = await openDatabase();
  orch = await startTestOrchestrator(db, { SEGMINT_VIEW_FLUSH_MS: '1000' });
  worker = spawnWorker(orch, ['--concurrency', '1']); // clips are transcoded like any asset
  sdk = new Livepeer({ apiKey: orch.apiKey, serverURL: `${orch.url}/api` });
}, 120_000);
afterAll(async () => {
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
});

describe('the Livepeer SDK against Segmint', () => {
  it('creates, gets, lists and updates a stream, and reads its playback info', async () => {
    const { stream } = await sdk.stream.create({ name: 'sdk stage', profiles: low, record: true });
    expect(stream).toMatchObject({ name: 'sdk stage', record: true, isActive: false });
    expect(stream!.id).toEqual(expect.any(String));
    expect(stream!.streamKey).toEqual(expect.any(String));
    expect(stream!.profiles).toEqual([expect.objectContaining({ name: 'low', width: 320, height: 180, bitrate: 200_000, fps: 30 })]);
    const id = stream!.id!;

    const got = await sdk.stream.get(id);
    expect(got.stream).toMatchObject({ id, name: 'sdk stage', playbackId: stream!.playbackId });

    const all = await sdk.stream.getAll();
    expect(all.data?.map((s) => s.id)).toContain(id);

    const updated = await sdk.stream.update({ name: 'sdk renamed', record: false, suspended: true }, id);
    expect(updated.statusCode).toBe(204);
    expect((await sdk.stream.get(id)).stream).toMatchObject({ name: 'sdk renamed', record: false, suspended: true });

    const { playbackInfo } = await sdk.playback.get(stream!.playbackId!);
    expect(playbackInfo?.type).toBe('live');
    const hls = playbackInfo?.meta.source.find((s) => s.hrn === 'HLS (TS)');
    expect(hls?.url).toBe(`${orch.url}/hls/${stream!.playbackId}/index.m3u8`);

    await sdk.stream.terminate(id);
    await sdk.stream.delete(id);
    await expect(sdk.stream.get(id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('lists the sessions of a stream once a segment starts one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-'));
    try {
      const [segment] = await generateSegments({ dir, count: 1, width: 320, height: 180 });
      const { stream } = await sdk.stream.create({ name: 'sdk live', profiles: low, record: true });
      const push = await fetch(`${orch.url}/live/${stream!.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segment!)) });
      expect(push.status).toBe(200);
      const sessions = await waitFor('a session', async () => ((await sdk.session.getAll()).data ?? []).filter((x) => x.parentId === stream!.id));
      expect(sessions[0]).toMatchObject({ parentId: stream!.id, record: true, recordingStatus: 'waiting', playbackId: stream!.playbackId });
      expect((await sdk.session.get(sessions[0]!.id!)).session?.id).toBe(sessions[0]!.id);
      expect((await sdk.stream.get(stream!.id!)).stream).toMatchObject({ isActive: true, lastSeen: expect.any(Number) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('creates, gets, lists, updates and deletes a webhook', async () => {
    const { webhook } = await sdk.webhook.create({ name: 'sdk hook', url: 'http://127.0.0.1:9/hooks', events: ['stream.started', 'asset.ready'] as Events[] });
    expect(webhook).toMatchObject({ name: 'sdk hook', url: 'http://127.0.0.1:9/hooks', events: ['stream.started', 'asset.ready'] });
    const id = webhook!.id!;
    expect((await sdk.webhook.get(id)).webhook?.id).toBe(id);
    expect((await sdk.webhook.getAll()).data?.map((w) => w.id)).toContain(id);
    const { webhook: updated } = await sdk.webhook.update({ name: 'sdk hook 2', url: 'http://127.0.0.1:9/other', events: ['stream.idle'] as Events[] }, id);
    expect(updated).toMatchObject({ id, name: 'sdk hook 2', url: 'http://127.0.0.1:9/other', events: ['stream.idle'] });
    expect((await sdk.webhook.getLogs(id)).data).toEqual([]);
    await sdk.webhook.delete(id);
    await expect(sdk.webhook.get(id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('requests an asset upload URL, and gets, lists and renames the asset', async () => {
    const { data } = await sdk.asset.create({ name: 'sdk clip.mp4' });
    expect(data?.url).toMatch(/^http:\/\/.+\/api\/asset\/upload\/direct\?token=/);
    expect(data?.tusEndpoint).toMatch(/^http:\/\/.+\/api\/asset\/upload\/tus\?token=/);
    expect(data?.asset).toMatchObject({ name: 'sdk clip.mp4', status: { phase: 'waiting' } });
    const id = data!.asset.id!;
    expect(data?.task.id).toEqual(expect.any(String));
    expect((await sdk.asset.get(id)).asset).toMatchObject({ id, name: 'sdk clip.mp4' });
    expect((await sdk.asset.getAll()).data?.map((a) => a.id)).toContain(id);
    expect((await sdk.asset.update({ name: 'renamed.mp4' }, id)).asset).toMatchObject({ id, name: 'renamed.mp4' });
    await sdk.asset.delete(id);
    await expect(sdk.asset.get(id)).rejects.toMatchObject({ statusCode: 404 });

    // an import: 201 with the asset and its task (an upload task naming the URL)
    const url = 'http://127.0.0.1:9/nothing-here.mp4';
    const imported = await sdk.asset.createViaUrl({ name: 'sdk import.mp4', url });
    expect(imported.statusCode).toBe(201);
    const { asset, task } = imported.twoHundredAndOneApplicationJsonData!;
    expect(asset).toMatchObject({ name: 'sdk import.mp4', source: { type: 'url', url } });
    expect((await sdk.task.get(task.id!)).task).toMatchObject({ type: 'upload', params: { upload: { url } }, outputAssetId: asset.id });
  });

  it('creates a signing key with no body (as the SDK sends it), 200 with the private key once', async () => {
    const created = await sdk.accessControl.create();
    expect(created.statusCode).toBe(200);
    expect(created.signingKey).toMatchObject({ name: 'signing key', publicKey: expect.any(String), disabled: false });
    const id = created.signingKey!.id!;
    expect((await sdk.accessControl.get(id)).signingKey?.publicKey).toBe(created.signingKey!.publicKey);
    expect((await sdk.accessControl.getAll()).data?.map((k) => k.id)).toContain(id);
    expect((await sdk.accessControl.update({ disabled: true, name: 'off' }, id)).statusCode).toBe(204);
    expect((await sdk.accessControl.get(id)).signingKey).toMatchObject({ name: 'off', disabled: true });
    await sdk.accessControl.delete(id);
  });

  it('tracks an upload as a task: waiting, then running or completed once the file arrives', async () => {
    const { data } = await sdk.asset.create({ name: 'sdk task.ts' });
    const taskId = data!.task.id!;
    const { task } = await sdk.task.get(taskId);
    expect(task).toMatchObject({ id: taskId, type: 'upload', outputAssetId: data!.asset.id, status: { phase: 'waiting', progress: 0 } });
    expect((await sdk.task.getAll()).data?.map((t) => t.id)).toContain(taskId);
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-'));
    try {
      const [segment] = await generateSegments({ dir, count: 1, width: 320, height: 180 });
      expect((await fetch(data!.url, { method: 'PUT', body: new Uint8Array(await readFile(segment!)) })).status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const after = (await sdk.task.get(taskId)).task!;
    expect(['running', 'completed', 'failed']).toContain(after.status?.phase);
    expect(after.status!.updatedAt).toBeGreaterThanOrEqual(task!.status!.updatedAt);
    await expect(sdk.task.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ statusCode: 404 });
  });

  it("reads one delivery of a webhook's log and resends it: the receiver gets the same body again", async () => {
    const received: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
      const { webhook } = await sdk.webhook.create({ name: 'sdk log', url, events: ['asset.created'] as Events[] });
      await sdk.asset.create({ name: 'sdk hooked.mp4' });
      const first = await waitFor('a logged delivery', async () => (await sdk.webhook.getLogs(webhook!.id!)).data?.[0]);
      expect(first).toMatchObject({ webhookId: webhook!.id, event: 'asset.created', success: true, response: { status: 200, body: 'ok' } });
      const { webhookLog } = await sdk.webhook.getLog(webhook!.id!, first!.id);
      expect(webhookLog).toMatchObject({ id: first!.id, request: { url, method: 'POST', body: received[0] } });

      const resent = await sdk.webhook.resendLog(webhook!.id!, first!.id);
      expect(resent.webhookLog).toMatchObject({ webhookId: webhook!.id, success: true, request: { body: received[0] } });
      expect(resent.webhookLog!.id).not.toBe(first!.id);
      expect(received).toHaveLength(2);
      expect(received[1]).toBe(received[0]);
      expect((await sdk.webhook.getLogs(webhook!.id!)).data?.map((l) => l.id).sort()).toEqual([first!.id, resent.webhookLog!.id].sort());
      await expect(sdk.webhook.getLog(webhook!.id!, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ statusCode: 404 });
      await sdk.webhook.delete(webhook!.id!);
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });

  it('multistream targets: create, get, list, update, delete; added to and removed from a stream', async () => {
    const created = await sdk.multistream.create({ name: 'sdk twitch', url: 'rtmp://127.0.0.1:1/live/secret-key' });
    expect(created.statusCode).toBe(201);
    const target = created.multistreamTarget!;
    expect(target).toMatchObject({ name: 'sdk twitch', disabled: false, createdAt: expect.any(Number) });
    expect(JSON.stringify(target)).not.toContain('secret-key');
    expect((await sdk.multistream.get(target.id!)).multistreamTarget?.name).toBe('sdk twitch');
    expect((await sdk.multistream.getAll()).data?.map((t) => t.id)).toContain(target.id);
    expect((await sdk.multistream.update({ url: 'rtmp://127.0.0.1:1/live/other', disabled: true }, target.id!)).statusCode).toBe(204);
    expect((await sdk.multistream.get(target.id!)).multistreamTarget).toMatchObject({ name: 'sdk twitch', disabled: true });

    const { stream } = await sdk.stream.create({ name: 'sdk restream', profiles: low, multistream: { targets: [{ profile: 'source', id: target.id! }] } });
    expect(stream!.multistream?.targets).toEqual([expect.objectContaining({ id: target.id, profile: 'source', videoOnly: false })]);
    expect((await sdk.stream.addMultistreamTarget({ profile: 'low', videoOnly: true, spec: { name: 'yt', url: 'rtmp://127.0.0.1:1/app/k2' } }, stream!.id!)).statusCode).toBe(204);
    const both = (await sdk.stream.get(stream!.id!)).stream!.multistream!.targets!;
    expect(both.map((t) => [t.profile, t.videoOnly])).toEqual([['source', false], ['low', true]]);
    expect((await sdk.stream.removeMultistreamTarget(stream!.id!, target.id!)).statusCode).toBe(204);
    expect((await sdk.stream.get(stream!.id!)).stream!.multistream!.targets!.map((t) => t.profile)).toEqual(['low']);
    expect((await sdk.stream.update({ multistream: { targets: [] } }, stream!.id!)).statusCode).toBe(204);
    expect((await sdk.stream.get(stream!.id!)).stream!.multistream!.targets).toEqual([]);

    // bad input: a profile the stream lacks, another scheme, an unknown target
    await expect(sdk.stream.addMultistreamTarget({ profile: 'hd', id: target.id! }, stream!.id!)).rejects.toMatchObject({ statusCode: 400 });
    await expect(sdk.multistream.create({ name: 'x', url: 'http://127.0.0.1/live' })).rejects.toMatchObject({ statusCode: 400 });
    await expect(sdk.stream.addMultistreamTarget({ profile: 'source', id: '00000000-0000-4000-8000-000000000000' }, stream!.id!)).rejects.toMatchObject({ statusCode: 404 });
    expect((await sdk.multistream.delete(target.id!)).statusCode).toBe(204);
    await expect(sdk.multistream.get(target.id!)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('restreams a live stream over RTMP to a second Segmint, reports its health, reconnects after a drop, with webhooks', async () => {
    const second = await startTestOrchestrator(db);
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-ms-'));
    const events: { event: string; payload: { target: { id: string }; error?: string } }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        events.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const remote = (await api(second, 'POST', '/api/stream', { name: 'the other platform', profiles: low })).json;
      const arrived: { session: number; seq: number; bytes: number }[] = [];
      second.pipeline.events.on('ingested', (s: { id: string }, session: number, seq: number, bytes: Buffer) => {
        if (s.id === remote.id) arrived.push({ session, seq, bytes: bytes.length });
      });
      const { webhook } = await sdk.webhook.create({ name: 'ms', url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/`, events: ['multistream.connected', 'multistream.disconnected', 'multistream.error'] as Events[] });
      const url = `rtmp://127.0.0.1:${second.rtmp!.port}/live/${remote.streamKey}`;
      const { stream } = await sdk.stream.create({ name: 'sdk multistreamed', profiles: low, multistream: { targets: [{ profile: 'source', spec: { name: 'second', url } }] } });
      const targetId = stream!.multistream!.targets![0]!.id!;
      const status = async () => (await api(orch, 'GET', `/api/stream/${stream!.id}`)).json.multistream.targets[0].status;

      const segments = await generateSegments({ dir, count: 12, width: 320, height: 180 });
      let next = 0;
      const pushUntil = async <T>(what: string, done: () => Promise<T | undefined | false>) => {
        while (next < segments.length) {
          const res = await fetch(`${orch.url}/live/${stream!.streamKey}/${next}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(segments[next++]!)) });
          expect(res.status).toBe(200);
          const v = await waitFor(what, async () => (await done()) || undefined, 1500).catch(() => undefined);
          if (v) return v;
        }
        throw new Error(`ran out of segments waiting for ${what}`);
      };

      // the source reaches the other server as a real RTMP publish, cut into H.264 segments there
      await pushUntil('segments at the second server', async () => arrived.length >= 2);
      expect(arrived[0]).toMatchObject({ seq: 0, bytes: expect.any(Number) });
      expect(await status()).toMatchObject({ phase: 'connected', failures: 0 });
      await waitFor('multistream.connected', async () => events.find((e) => e.event === 'multistream.connected'));
      expect(events.find((e) => e.event === 'multistream.connected')!.payload.target.id).toBe(targetId);

      // the other side drops the connection: health and webhook say so, and the push comes back
      expect((await api(second, 'DELETE', `/api/stream/${remote.id}/terminate`)).status).toBe(204);
      await pushUntil('the drop to be seen', async () => events.some((e) => e.event === 'multistream.disconnected'));
      expect(events.find((e) => e.event === 'multistream.disconnected')!.payload.target.id).toBe(targetId);
      await pushUntil('a reconnect', async () => events.filter((e) => e.event === 'multistream.connected').length >= 2);
      const before = arrived.length;
      await pushUntil('segments after the reconnect', async () => arrived.length >= before + 1);
      expect(await status()).toMatchObject({ phase: 'connected', failures: 0 });
      await sdk.webhook.delete(webhook!.id!);
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
      await second.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('clips a recorded live session into a new asset: a clip task, ready with the asked duration, listed per stream and per session', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-clip-'));
    try {
      const segments = await generateSegments({ dir, count: 4, width: 320, height: 180 });
      const { stream } = await sdk.stream.create({ name: 'sdk clipped', profiles: low, record: true });
      for (const [seq, file] of segments.entries()) {
        const res = await fetch(`${orch.url}/live/${stream!.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(file)) });
        expect(res.status).toBe(200);
      }
      const sessionId = await waitFor('a session', async () => ((await sdk.session.getAll()).data ?? []).find((x) => x.parentId === stream!.id)?.id);
      const session = await waitFor('4 recorded segments', async () => {
        const s = await orch.integrator.sessions.getAny(sessionId);
        return s && s.recordingSegments.length >= 4 ? s : null;
      });
      // 2.5 s into the session to 5 s: starts on the keyframe opening the second segment (2 s), so 3 s
      const { data } = await sdk.stream.createClip({ playbackId: stream!.playbackId!, startTime: session.createdAt + 2500, endTime: session.createdAt + 5000, sessionId, name: 'highlight' });
      expect(data?.asset).toMatchObject({ name: 'highlight', source: { type: 'clip', sessionId, playbackId: stream!.playbackId } });
      const { task } = await sdk.task.get(data!.task.id!);
      expect(task).toMatchObject({ type: 'clip', outputAssetId: data!.asset.id, params: { clip: { sessionId, clipStrategy: { playbackId: stream!.playbackId, startTime: session.createdAt + 2500 } } } });
      const ready = await waitFor('the clip ready', async () => {
        const { asset } = await sdk.asset.get(data!.asset.id);
        if (asset?.status?.phase === 'failed') throw new Error(asset.status.errorMessage);
        return asset?.status?.phase === 'ready' ? asset : null;
      }, 90_000, 250);
      expect(ready.videoSpec?.duration).toBeCloseTo(3, 1);
      expect((await sdk.task.get(data!.task.id!)).task?.status).toMatchObject({ phase: 'completed', progress: 1 });
      expect((await sdk.stream.getClips(stream!.id!)).data?.map((a) => a.id)).toEqual([data!.asset.id]);
      expect((await sdk.session.getClips(sessionId)).data?.map((a) => a.id)).toEqual([data!.asset.id]);
      expect((await sdk.session.getRecorded(stream!.id!, true)).data?.map((x) => x.id)).toEqual([sessionId]);

      // bad input: an empty range, a range nothing covers, a stream that does not record
      await expect(sdk.stream.createClip({ playbackId: stream!.playbackId!, startTime: session.createdAt + 5000, endTime: session.createdAt + 1000 })).rejects.toMatchObject({ statusCode: 400 });
      await expect(sdk.stream.createClip({ playbackId: stream!.playbackId!, startTime: session.createdAt + 60_000, endTime: session.createdAt + 61_000, sessionId })).rejects.toMatchObject({ statusCode: 422 });
      await expect(sdk.stream.createClip({ playbackId: 'nope', startTime: 1, endTime: 2 })).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('counts views and playtime from real playback requests: per playback id, by browser and hour, now, in total, and usage minutes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-views-'));
    try {
      const from = Date.now() - 1000;
      const segments = await generateSegments({ dir, count: 2, width: 320, height: 180 });
      const { stream } = await sdk.stream.create({ name: 'sdk watched', profiles: low });
      for (const [seq, file] of segments.entries()) {
        expect((await fetch(`${orch.url}/live/${stream!.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(file)) })).status).toBe(200);
      }
      const pid = stream!.playbackId!;
      const master = `${orch.url}/hls/${pid}/index.m3u8`;
      await waitFor('the live playlist', async () => (await fetch(master, { headers: { 'user-agent': 'probe' } })).status === 200);
      // the live thumbnail, as playback info gives it: a JPEG of the latest segment at the stream's size
      const thumb = (await sdk.playback.get(pid)).playbackInfo!.meta.source.find((x) => x.hrn === 'Thumbnail (JPEG)')!;
      expect(thumb).toMatchObject({ type: 'image/jpeg', url: `${orch.url}/hls/${pid}/thumbnail.jpg` });
      const jpeg = await fetch(thumb.url, { headers: { 'user-agent': 'probe' } });
      expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
      const bytes = Buffer.from(await jpeg.arrayBuffer());
      expect([bytes[0], bytes[1], bytes.at(-2), bytes.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
      const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
      expect([bytes.readUInt16BE(sof + 7), bytes.readUInt16BE(sof + 5)]).toEqual([320, 180]);
      const chrome = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' };
      const iphone = { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' };
      // a desktop Chrome plays ~3 s (a playlist request every 0.5 s), an iPhone opens the stream once
      for (let i = 0; i < 7; i++) {
        expect((await fetch(master, { headers: chrome })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect((await fetch(master, { headers: iphone })).status).toBe(200);
      expect((await fetch(`${orch.url}/hls/nope/index.m3u8`, { headers: iphone })).status).toBe(404); // not a view

      // a view is recorded once its request is answered (onResponse): wait for the last one's row
      const byBrowser = await waitFor('the three views recorded', async () => {
        const { data } = await sdk.metrics.getViewership({ playbackId: pid, from, breakdownBy: ['browser'] as never });
        return data && data.reduce((n, r) => n + r.viewCount, 0) >= 3 ? data : null;
      }, 20_000, 200);
      const chromeRow = byBrowser!.find((r) => r.browser === 'Chrome')!;
      expect(chromeRow.viewCount).toBe(1);
      expect(chromeRow.playtimeMins * 60).toBeGreaterThanOrEqual(2);
      expect(chromeRow.playtimeMins * 60).toBeLessThanOrEqual(4);
      expect(byBrowser!.find((r) => r.browser === 'Safari')).toMatchObject({ viewCount: 1 });
      expect(byBrowser!.find((r) => r.browser === 'Other')).toMatchObject({ viewCount: 1 }); // the probe
      const hourly = (await sdk.metrics.getViewership({ playbackId: pid, from, timeStep: 'hour' as never })).data!;
      expect(hourly.reduce((n, r) => n + r.viewCount, 0)).toBe(3);
      expect(hourly.every((r) => r.timestamp! % 3_600_000 === 0)).toBe(true);
      expect((await sdk.metrics.getCreatorViewership({ streamId: stream!.id!, from })).data).toEqual([expect.objectContaining({ viewCount: 3 })]);
      expect((await sdk.metrics.getPublicViewership(pid)).data).toMatchObject({ playbackId: pid, viewCount: 3 });
      expect((await sdk.metrics.getRealtimeViewership(pid)).data).toEqual([expect.objectContaining({ viewCount: 3 })]);
      await expect(sdk.metrics.getViewership({ playbackId: pid, breakdownBy: ['geohash'] as never })).rejects.toMatchObject({ statusCode: 400 });

      const to = Date.now() + 3_600_000;
      const usage = await waitFor('usage with this stream transcoded and watched', async () => {
        const { usageMetric } = await sdk.metrics.getUsage({ from, to });
        const mine = (await api(orch, 'GET', `/api/data/usage?from=${from}&to=${to}`)).json.streams.find((x: { streamId: string }) => x.streamId === stream!.id);
        return usageMetric && mine?.segments === 2 && usageMetric.deliveryUsageMins! > 0 ? usageMetric : null;
      });
      // the owner's transcoded minutes (every stream of this file in the range) are the usage records' total
      // (read again until both reads see the same records: earlier tests' segments may still be landing)
      await waitFor('the same total from both', async () => {
        const { json: records } = await api(orch, 'GET', `/api/data/usage?from=${from}&to=${to}`);
        const { usageMetric } = await sdk.metrics.getUsage({ from, to });
        return Math.abs(usageMetric!.totalUsageMins! - records.usageMins) < 1e-9;
      }, 20_000, 500);
      expect(usage.totalUsageMins! * 60).toBeGreaterThanOrEqual(3.5); // at least this stream's 2 segments of 2 s
      expect(usage.deliveryUsageMins).toBeGreaterThanOrEqual(chromeRow.playtimeMins);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('pulls a stream from an HLS playlist and from an RTMP server into the ingest path, as a publisher', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-pull-'));
    const seen: string[] = [];
    const segments = await generateSegments({ dir, count: 3, width: 320, height: 180 });
    const files = createServer(async (req, res) => {
      seen.push(`${req.url} ${req.headers['x-pull-token'] ?? ''}`);
      if (req.url === '/live/index.m3u8') {
        const body = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', ...segments.flatMap((_, i) => ['#EXTINF:2.000,', `${i}.ts`]), '#EXT-X-ENDLIST', ''].join('\n');
        return void res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(body);
      }
      const m = /^\/live\/(\d)\.ts$/.exec(req.url ?? '');
      if (m && segments[Number(m[1])]) return void res.writeHead(200, { 'content-type': 'video/mp2t' }).end(await readFile(segments[Number(m[1])]!));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    const ingested = new Map<string, { seq: number; via: number }[]>();
    const onIngested = (s: { id: string }, _session: number, seq: number, bytes: Buffer) => ingested.set(s.id, [...(ingested.get(s.id) ?? []), { seq, via: bytes.length }]);
    orch.pipeline.events.on('ingested', onIngested);
    let source: ChildProcess | undefined;
    try {
      // HLS: every segment of the playlist, through the outbound guard, with the stream's headers
      const hlsUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}/live/index.m3u8`;
      const { stream: hls } = await sdk.stream.create({ name: 'sdk pulled hls', profiles: low, pull: { source: hlsUrl, headers: { 'x-pull-token': 'let-me-in' } } });
      expect(hls!.pull).toMatchObject({ source: hlsUrl });
      expect((await sdk.stream.startPull(hls!.id!)).statusCode).toBe(204);
      await waitFor('3 pulled HLS segments', async () => (ingested.get(hls!.id!)?.length ?? 0) >= 3, 30_000);
      expect(ingested.get(hls!.id!)!.map((x) => x.seq)).toEqual([0, 1, 2]);
      expect(seen).toContain('/live/index.m3u8 let-me-in');
      expect(seen).toContain('/live/2.ts let-me-in');

      // RTMP: ffmpeg plays an RTMP server (one client); Segmint pulls it into its own RTMP ingest
      const joined = join(dir, 'joined.ts');
      await writeFile(joined, Buffer.concat(await Promise.all(segments.map((f) => readFile(f)))));
      const port = await new Promise<number>((r) => {
        const probe = createNetServer().listen(0, '127.0.0.1', () => {
          const { port: p } = probe.address() as { port: number };
          probe.close(() => r(p));
        });
      });
      source = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-re', '-i', joined, '-c:v', 'copy', '-c:a', 'aac', '-f', 'flv', '-listen', '1', `rtmp://127.0.0.1:${port}/live/source`], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500)); // listening
      const { stream: rtmp } = await sdk.stream.create({ name: 'sdk pulled rtmp', profiles: low, pull: { source: `rtmp://127.0.0.1:${port}/live/source` } });
      expect((await sdk.stream.startPull(rtmp!.id!)).statusCode).toBe(204);
      await waitFor('pulled RTMP segments', async () => (ingested.get(rtmp!.id!)?.length ?? 0) >= 2, 30_000);
      expect((await sdk.stream.get(rtmp!.id!)).stream?.isActive).toBe(true);

      // bad input: no pull source; not an rtmp/http URL
      const { stream: plain } = await sdk.stream.create({ name: 'sdk not pulled', profiles: low });
      await expect(sdk.stream.startPull(plain!.id!)).rejects.toMatchObject({ statusCode: 400 });
      await expect(sdk.stream.create({ name: 'x', pull: { source: 'file:///etc/passwd' } })).rejects.toMatchObject({ statusCode: 400 });
    } finally {
      orch.pipeline.events.off('ingested', onIngested);
      source?.kill('SIGKILL');
      files.closeAllConnections();
      await new Promise((r) => files.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('transcodes a file from an S3 bucket to HLS and MP4 outputs in an S3 bucket (a real S3-compatible server), as a transcode-file task', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'segmint-sdk-transcode-'));
    // a real S3-compatible server over HTTP (s3rver), the caller's input and output buckets
    const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'segmint-in' }, { name: 'segmint-out' }] });
    const { port } = await s3.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const credentials = S3RVER_KEYS;
    try {
      const file = join(dir, 'in.mp4');
      const src = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4'];
      await new Promise<void>((done, fail) => spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', ...src, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac', '-shortest', file]).once('exit', (c) => (c === 0 ? done() : fail(new Error(`ffmpeg ${c}`)))));
      expect((await fetch(`${endpoint}/segmint-in/videos/in.mp4`, { method: 'PUT', body: new Uint8Array(await readFile(file)) })).status).toBe(200);

      const created = await sdk.transcode.create({
        input: { type: 's3' as never, endpoint, bucket: 'segmint-in', path: '/videos/in.mp4', credentials },
        storage: { type: 's3' as never, endpoint, bucket: 'segmint-out', credentials },
        outputs: { hls: { path: '/hls' }, mp4: { path: '/mp4' } },
        profiles: low,
      });
      const taskId = created.task!.id!;
      expect(created.task).toMatchObject({ type: 'transcode-file', params: { transcodeFile: { outputs: { hls: { path: '/hls' }, mp4: { path: '/mp4' } } } } });
      expect(JSON.stringify(created.task)).not.toContain(S3RVER_KEYS.secretAccessKey);
      const done = await waitFor('the transcode task completed', async () => {
        const { task } = await sdk.task.get(taskId);
        if (task?.status?.phase === 'failed') throw new Error(task.status.errorMessage);
        return task?.status?.phase === 'completed' ? task : null;
      }, 90_000, 250);
      expect(done.status).toMatchObject({ progress: 1 });
      expect((await sdk.asset.getAll()).data?.map((a) => a.id)).not.toContain(taskId); // a job, not an asset

      // the outputs are in the bucket: a master listing low, its media playlist and segments, an MP4 per rendition
      const out = { endpoint, bucket: 'segmint-out', credentials };
      const get = (key: string) => fetch(presignedGet(out, key)); // the objects are private to the keys that wrote them
      const master = await (await get('hls/index.m3u8')).text();
      expect(master).toContain('low/index.m3u8');
      const media = await (await get('hls/low/index.m3u8')).text();
      const first = media.split('\n').find((l) => l.endsWith('.ts'))!;
      const ts = Buffer.from(await (await get(`hls/low/${first}`)).arrayBuffer());
      expect(ts[0]).toBe(0x47);
      const mp4 = Buffer.from(await (await get('mp4/low.mp4')).arrayBuffer());
      await writeFile(join(dir, 'low.mp4'), mp4);
      const probe = await new Promise<string>((r) => {
        let out = '';
        const child = spawn(process.env.FFPROBE_PATH ?? '/usr/bin/ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:format=duration', '-of', 'json', join(dir, 'low.mp4')]);
        child.stdout.on('data', (d) => (out += d));
        child.once('exit', () => r(out));
      });
      const facts = JSON.parse(probe) as { streams: { width: number; height: number }[]; format: { duration: string } };
      expect(facts.streams[0]).toMatchObject({ width: 320, height: 180 });
      expect(Number(facts.format.duration)).toBeCloseTo(4, 0);

      await expect(sdk.transcode.create({ input: { url: 'http://127.0.0.1/x.mp4' }, storage: { type: 'web3.storage' as never, credentials: { proof: 'x' } } as never, outputs: { hls: { path: '/x' } } })).rejects.toMatchObject({ statusCode: 400 });
    } finally {
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it("documents in OpenAPI the route of every SDK operation outside generate.* and room.* (read from the SDK's own code)", async () => {
    // Each operation's function in the SDK names its path template and HTTP method.
    const funcs = join(import.meta.dirname, 'livepeer-sdk/node_modules/livepeer/funcs');
    const ops = (await readdir(funcs)).filter((f) => f.endsWith('.js') && !/^(generate|room)/.test(f));
    const routes = await Promise.all(ops.map(async (f) => {
      const code = await readFile(join(funcs, f), 'utf8');
      const path = /pathToFunc\)\("([^"]+)"\)/.exec(code)?.[1];
      const method = /method: "([A-Z]+)"/.exec(code)?.[1];
      return { op: f.replace(/\.js$/, ''), route: `${method} /api${path}`.replace(/\{[^}]+\}/g, '{}') };
    }));
    expect(routes).toHaveLength(48);
    const doc = (await (await fetch(`${orch.url}/api/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`)));
    expect(routes.filter((r) => !documented.has(r.route))).toEqual([]);
  });

  it('surfaces our errors as the SDK error with the status', async () => {
    await expect(sdk.stream.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ statusCode: 404 });
    const bad = new (await import(SDK_ENTRY) as typeof LivepeerSdk).Livepeer({ apiKey: 'wrong', serverURL: `${orch.url}/api` });
    await expect(bad.stream.getAll()).rejects.toMatchObject({ statusCode: 401 });
  });
});
