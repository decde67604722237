import { createServer, connect, type Server, type Socket } from 'node:net';
import { jobIdOf } from '../orchestrator/src/ingest/jobIds.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, startTestOrchestrator, waitFor, type TestOrchestrator } from './helpers.js';
import { exitOf, ffmpegPublish } from './rtmpPublish.js';
import { startS3Server, type TestS3Server } from './s3Server.js';

// A publisher ends while its last segments are still being ingested (the segment store is slow:
// here a TCP proxy in front of a real S3 server stops forwarding for longer than the RTMP claim's
// 5 s lease). The orchestrator is alive and still holds the publish: its last segments must be
// admitted, not refused as if another orchestrator had taken the stream over.

/** A TCP proxy that can hold every byte in both directions for a while (a stalled network). */
function pausableProxy(target: number): { start(): Promise<number>; pause(): void; resume(): void; close(): void } {
  let paused = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
      if (paused) s.pause();
    }
    client.pipe(upstream).pipe(client);
  });
  return {
    start: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))),
    pause: () => { paused = true; for (const s of sockets) s.pause(); },
    resume: () => { paused = false; for (const s of sockets) s.resume(); },
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

let db: Database;
let s3: TestS3Server;
let proxy: ReturnType<typeof pausableProxy>;
let orch: TestOrchestrator;

beforeAll(async () => {
  [db, s3] = await Promise.all([openDatabase(), startS3Server()]);
  proxy = pausableProxy(s3.port);
  const port = await proxy.start();
  orch = await startTestOrchestrator(db, { ...s3.env('slow-flush'), SEGMINT_S3_ENDPOINT: `http://127.0.0.1:${port}`, SEGMINT_RTMP_RECONNECT_WINDOW: '30', SEGMINT_IDLE_TIMEOUT: '60',
    // No worker here: the segments wait in the queue rather than be skipped.
    SEGMINT_DISPATCH_WAIT_MS: '600000' });
}, 120_000);

afterAll(async () => {
  proxy?.resume();
  await orch?.stop();
  proxy?.close();
  await s3?.close();
  await db?.close();
});

describe('RTMP publish ending while its segments are still ingested', () => {
  it('admits the last segments even when their ingest outlasts the claim lease', async () => {
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'slow flush', profiles: [{ name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 }] })).json;
    const publisher = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 8 });
    const queued = async (seq: number) => !!(await orch.pipeline.dispatcher.get(jobIdOf(stream.id, 1, seq)));
    await waitFor('the first segment queued', () => queued(0), 30_000, 50);
    // The store stalls with the publish half done: the rest of it queues behind the stalled write.
    proxy.pause();
    expect(await exitOf(publisher)).toBe(0);
    await new Promise((r) => setTimeout(r, 8000)); // longer than the 5 s lease
    proxy.resume();
    // Every seq the publish made is admitted and queued: 8 s at 2 s segments.
    await waitFor('the last segment queued', () => queued(3), 60_000, 100);
    for (const seq of [1, 2]) expect(await queued(seq)).toBe(true);
    expect((await api(orch, 'GET', `/api/stream/${stream.id}/skips`)).json).toEqual([]);
  }, 180_000);
});
