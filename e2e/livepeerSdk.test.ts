import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments } from '@segmint/media';
import type * as LivepeerSdk from './livepeer-sdk/node_modules/livepeer/index.js';
import type { Events } from './livepeer-sdk/node_modules/livepeer/models/components/index.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { startTestOrchestrator, waitFor, type TestOrchestrator } from './helpers.js';

// Livepeer's own SDK (the `livepeer` npm package, pinned in e2e/livepeer-sdk/ and installed apart
// from the workspace: its runtime deps include jest 29) pointed at Segmint by its serverURL only.
// Every call parses our answer with the SDK's own zod schemas, so a shape or status code that
// differs from Studio's fails here.
const SDK_ENTRY = join(import.meta.dirname, 'livepeer-sdk/node_modules/livepeer/index.js');

let db: Database;
let orch: TestOrchestrator;
let sdk: LivepeerSdk.Livepeer;
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000, fps: 30 }];

beforeAll(async () => {
  if (!existsSync(SDK_ENTRY)) throw new Error('the Livepeer SDK is not installed: run `npm ci --prefix e2e/livepeer-sdk` (make install does)');
  const { Livepeer } = (await import(SDK_ENTRY)) as typeof LivepeerSdk;
  db = await openDatabase();
  orch = await startTestOrchestrator(db);
  sdk = new Livepeer({ apiKey: orch.apiKey, serverURL: `${orch.url}/api` });
}, 120_000);
afterAll(async () => {
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
  });

  it('creates a signing key with no body (as the SDK sends it), 200 with the private key once', async () => {
    const created = await sdk.accessControl.create();
    expect(created.statusCode).toBe(200);
    expect(created.signingKey).toMatchObject({ name: 'signing key', publicKey: expect.any(String), disabled: false });
    const id = created.signingKey!.id!;
    expect((await sdk.accessControl.get(id)).signingKey?.publicKey).toBe(created.signingKey!.publicKey);
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

  it('surfaces our errors as the SDK error with the status', async () => {
    await expect(sdk.stream.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ statusCode: 404 });
    const bad = new (await import(SDK_ENTRY) as typeof LivepeerSdk).Livepeer({ apiKey: 'wrong', serverURL: `${orch.url}/api` });
    await expect(bad.stream.getAll()).rejects.toMatchObject({ statusCode: 401 });
  });
});
