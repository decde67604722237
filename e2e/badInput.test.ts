import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { recoverTypedDataAddress } from 'viem';
import { commitmentEntries, commitmentTypedData } from '@segmint/protocol';
import { generateSegments, segmentFacts, transcodeSegment } from '@segmint/media';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, startTestOrchestrator, testWorker, waitFor, type TestOrchestrator } from './helpers.js';

// No worker process runs here: two registered workers are played by hand, one cheap and cheating.
let db: Database;
let orch: TestOrchestrator;
let cheater: Awaited<ReturnType<typeof testWorker>>;
let honest: Awaited<ReturnType<typeof testWorker>>;
let dir: string;
let segment: Buffer;
let stream: { id: string; streamKey: string; playbackId: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-bad-'));
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 640, height: 360 })]);
  db = database;
  segment = await readFile(files[0]!);
  // Long deadlines: the test plays each worker at its own pace.
  orch = await startTestOrchestrator(db, { SEGMINT_MAX_SEGMENT_BYTES: String(4 * 1024 * 1024), SEGMINT_DEADLINE_FACTOR: '60', SEGMINT_SPOTCHECK_RATE: '0' });
  cheater = await testWorker(orch, { pricePerPixel: 100n });
  honest = await testWorker(orch, { pricePerPixel: 200n });
  stream = (await api(orch, 'POST', '/api/stream', { name: 'bad input', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }] })).json;
}, 120_000);
afterAll(async () => {
  await cheater?.stop();
  await honest?.stop();
  await orch?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const put = (path: string, body: Uint8Array<ArrayBuffer> | string, headers: Record<string, string> = { 'content-type': 'video/mp2t' }) =>
  fetch(`${orch.url}${path}`, { method: 'PUT', headers, body });
const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code });

describe('push ingest refuses bad input with a named error', () => {
  it('unknown stream key → 404 STREAM_NOT_FOUND', async () => {
    expect(await errorOf(await put('/live/nope-nope-nope-nope/0.ts', new Uint8Array(segment)))).toEqual({ status: 404, code: 'STREAM_NOT_FOUND' });
  });
  it.each(['-1.ts', 'abc.ts', '1.5.ts', '99999999999999999999.ts', '0.mp4'])('bad seq %s → 400 BAD_SEQUENCE', async (name) => {
    expect(await errorOf(await put(`/live/${stream.streamKey}/${name}`, new Uint8Array(segment)))).toEqual({ status: 400, code: 'BAD_SEQUENCE' });
  });
  it('body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const big = new Uint8Array(5 * 1024 * 1024);
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, big))).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });
  it('a JSON or text body → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, '{"a":1}', { 'content-type': 'application/json' }))).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, 'hello', { 'content-type': 'text/plain' }))).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
  it('bytes that are not MPEG-TS → 422 INVALID_SEGMENT', async () => {
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, new Uint8Array(Buffer.from('GIF89a not a video'))))).toEqual({ status: 422, code: 'INVALID_SEGMENT' });
    const noSync = new Uint8Array(188 * 10).fill(0x46);
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, noSync))).toEqual({ status: 422, code: 'INVALID_SEGMENT' });
    const audioOnly = new Uint8Array(188 * 4).fill(0xff).map((v, i) => (i % 188 === 0 ? 0x47 : v));
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, audioOnly))).toEqual({ status: 422, code: 'INVALID_SEGMENT' });
  });
  it('nothing refused above was kept: the stream has no live state', async () => {
    expect((await api(orch, 'GET', `/api/stream/${stream.id}`)).json.isActive).toBe(false);
  });
});

describe('API refuses bad requests with a named error', () => {
  it('no or wrong API key → 401 UNAUTHORIZED', async () => {
    const res = await fetch(`${orch.url}/api/stream`, { method: 'POST', body: '{"name":"x"}', headers: { 'content-type': 'application/json' } });
    expect(await errorOf(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    const wrong = await fetch(`${orch.url}/api/stream/${stream.id}`, { headers: { authorization: 'Bearer sm_wrong' } });
    expect(await errorOf(wrong)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });
  it.each([
    ['missing name', {}],
    ['unknown field', { name: 'x', colour: 'red' }],
    ['wrong type', { name: 42 }],
    ['odd width', { name: 'x', profiles: [{ name: 'a', width: 641, height: 360, bitrate: 800000 }] }],
    ['too many profiles', { name: 'x', profiles: Array.from({ length: 9 }, (_, i) => ({ name: `p${i}`, width: 640, height: 360, bitrate: 800000 })) }],
  ])('%s → 400 VALIDATION_FAILED', async (_what, body) => {
    const { status, json } = await api(orch, 'POST', '/api/stream', body);
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
  it('duplicate profile names → 400 INVALID_PROFILES', async () => {
    const p = { width: 640, height: 360, bitrate: 800000 };
    const { status, json } = await api(orch, 'POST', '/api/stream', { name: 'x', profiles: [{ name: 'a', ...p }, { name: 'a', ...p }] });
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'INVALID_PROFILES' });
  });
  it('malformed JSON → 400, unknown stream → 404, unknown route → 404', async () => {
    const bad = await fetch(`${orch.url}/api/stream`, { method: 'POST', body: '{"name":', headers: { authorization: `Bearer ${orch.apiKey}`, 'content-type': 'application/json' } });
    expect(await errorOf(bad)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const missing = await api(orch, 'GET', '/api/stream/00000000-0000-0000-0000-000000000000');
    expect({ status: missing.status, code: missing.json.error.code }).toEqual({ status: 404, code: 'STREAM_NOT_FOUND' });
    expect(await errorOf(await fetch(`${orch.url}/nowhere`))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await errorOf(await fetch(`${orch.url}/hls/nope/index.m3u8`))).toEqual({ status: 404, code: 'STREAM_NOT_FOUND' });
  });
});

describe('the orchestrator checks every result before it publishes', () => {
  it('refuses a wrong rendition (422 CHECK_FAILED), publishes nothing, re-auctions the segment to another worker, accepts its correct one', async () => {
    expect((await put(`/live/${stream.streamKey}/0.ts`, new Uint8Array(segment))).status).toBe(200);
    // A repeated push of the same bytes is idempotent; other bytes under the same seq are refused.
    expect((await put(`/live/${stream.streamKey}/0.ts`, new Uint8Array(segment))).status).toBe(200);
    const jobId = `${stream.id}.1.0`;
    // The cheaper worker wins the auction.
    const job = await cheater.job(jobId);
    expect(job.worker).toBe(cheater.address);
    const auth = { authorization: `Bearer ${job.token}` };
    expect((await fetch(job.sourceUrl)).status).toBe(401);
    expect(Buffer.from(await (await fetch(job.sourceUrl, { headers: auth })).arrayBuffer()).equals(segment)).toBe(true);

    // Cheat: upload the 640x360 source as the 320x180 rendition.
    const facts = segmentFacts(segment);
    const claim = { name: 'low', sha256: facts.videoSha256, width: 320, height: 180, frames: facts.frames, durationSec: facts.durationSec, bytes: segment.length };
    expect((await fetch(`${job.resultUrl}/low.ts`, { method: 'PUT', headers: { ...auth, 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) })).status).toBe(204);
    const result = { renditions: [claim], encoderFingerprint: 'test', workerId: 'cheat', transcodeMs: 1, commitment: await cheater.client.commit(jobId, commitmentEntries([claim], 'test')) };
    const refused = await fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(result) });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'CHECK_FAILED', message: expect.stringContaining('640x360, want 320x180') });
    const media = HLS.parse(await (await fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`)).text()) as HLS.types.MediaPlaylist;
    expect(media.segments).toHaveLength(0);
    const metrics = await (await fetch(`${orch.url}/metrics`)).text();
    expect(metrics).toMatch(/segmint_checks_failed_total\{reason="resolution"\} 1/);
    expect(metrics).toMatch(/segmint_worker_failures_total 1/);

    // A result whose bytes do not match the claimed hash is refused too.
    const forgedClaim = { ...claim, sha256: 'f'.repeat(64) };
    const forged = { ...result, renditions: [forgedClaim], commitment: await cheater.client.commit(jobId, commitmentEntries([forgedClaim], 'test')) };
    await fetch(`${job.resultUrl}/low.ts`, { method: 'PUT', headers: { ...auth, 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) });
    const refusedAgain = await fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(forged) });
    expect(refusedAgain.status).toBe(422);

    // A commitment that is not the root of the reported hashes, or not signed by this worker: 422.
    const wrongRoot = await fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...forged, commitment: result.commitment }) });
    expect(await errorOf(wrongRoot)).toEqual({ status: 422, code: 'COMMITMENT_INVALID' });
    const notSigned = await fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...result, commitment: await honest.client.commit(jobId, commitmentEntries([claim], 'test')) }) });
    expect(await errorOf(notSigned)).toEqual({ status: 422, code: 'COMMITMENT_INVALID' });

    // Bad result bodies are 400; a token for another job, or another worker's job, is 401.
    const junk = await fetch(job.resultUrl, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"renditions": "no"}' });
    expect(await errorOf(junk)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const otherJob = await fetch(job.resultUrl.replace('.1.0', '.1.1'), { method: 'POST', headers: auth, body: '{}' });
    expect(await errorOf(otherJob)).toEqual({ status: 401, code: 'UNAUTHORIZED' });

    // The failed segment went to the other worker, which cannot be impersonated with the cheater's token.
    const retry = await honest.job(jobId);
    expect(retry.worker).toBe(honest.address);
    expect(await errorOf(await fetch(retry.resultUrl, { method: 'POST', headers: auth, body: '{}' }))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    const honestAuth = { authorization: `Bearer ${retry.token}` };

    // The honest transcode passes and is published.
    const srcFile = join(dir, 'src.ts');
    await writeFile(srcFile, segment);
    const out = await transcodeSegment({ input: srcFile, source: facts, profiles: retry.profiles, outDir: dir });
    const low = out.renditions[0]!;
    await fetch(`${retry.resultUrl}/low.ts`, { method: 'PUT', headers: { ...honestAuth, 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(low.path)) });
    const { path: _p, data: _d, ...honestLow } = low;
    const honestResult = { ...result, workerId: 'honest', renditions: [honestLow], commitment: await honest.client.commit(jobId, commitmentEntries([honestLow], 'test')) };
    const accepted = await fetch(retry.resultUrl, { method: 'POST', headers: { ...honestAuth, 'content-type': 'application/json' }, body: JSON.stringify(honestResult) });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ status: 'accepted', published: 1 });
    const after = HLS.parse(await (await fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`)).text()) as HLS.types.MediaPlaylist;
    expect(after.segments.map((s) => s.uri)).toEqual(['1_0.ts']);
    // The accepted worker posting again (its answer lost) is acknowledged again, never published twice.
    const again = await fetch(retry.resultUrl, { method: 'POST', headers: { ...honestAuth, 'content-type': 'application/json' }, body: JSON.stringify(honestResult) });
    expect(await again.json()).toEqual({ status: 'accepted', published: 0 });
    const still = HLS.parse(await (await fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8`)).text()) as HLS.types.MediaPlaylist;
    expect(still.segments.map((s) => s.uri)).toEqual(['1_0.ts']);
    expect(await (await fetch(`${orch.url}/metrics`)).text()).toMatch(/segmint_segments_published_total 1/);
    expect(await (await fetch(`${orch.url}/metrics`)).text()).toMatch(/segmint_auctions_total\{outcome="reauctioned"\} 1/);

    // The audit trail names the honest worker; its proof verifies, its commitment recovers to it.
    const audit = await api(orch, 'GET', `/api/stream/${stream.id}/segments/0/audit`);
    expect(audit.status).toBe(200);
    expect(audit.json).toMatchObject({ jobId, worker: honest.address, seq: 0, session: 1, renditions: [honestLow], spotCheck: null });
    const leaf = [jobId, 'low', `0x${honestLow.sha256}`];
    expect(StandardMerkleTree.verify(audit.json.commitment.root, ['string', 'string', 'bytes32'], leaf, audit.json.proofs.low)).toBe(true);
    const { chainId, stakingManager, root, signature } = audit.json.commitment;
    expect((await recoverTypedDataAddress({ ...commitmentTypedData(jobId, root, chainId, stakingManager), signature })).toLowerCase()).toBe(honest.address);
    expect((await api(orch, 'GET', `/api/stream/${stream.id}/segments/1/audit`)).json.error.code).toBe('NOT_FOUND');
  });

  it('refuses other bytes under an in-flight seq (409 SEGMENT_CONFLICT) without losing the first', async () => {
    expect((await put(`/live/${stream.streamKey}/1.ts`, new Uint8Array(segment))).status).toBe(200);
    const other = Buffer.from(segment);
    other.writeUInt8(other.readUInt8(other.length - 1) ^ 0xff, other.length - 1);
    expect(await errorOf(await put(`/live/${stream.streamKey}/1.ts`, new Uint8Array(other)))).toEqual({ status: 409, code: 'SEGMENT_CONFLICT' });
    const jobId = `${stream.id}.1.1`;
    const job = await waitFor('seq 1 on a worker queue', async () => ((await cheater.hasJob(jobId)) ? cheater.job(jobId) : (await honest.hasJob(jobId)) ? honest.job(jobId) : null));
    const src = await fetch(job.sourceUrl, { headers: { authorization: `Bearer ${job.token}` } });
    expect(Buffer.from(await src.arrayBuffer()).equals(segment)).toBe(true);
  });

  it('refuses a seq that was already published (409 SEGMENT_TOO_LATE)', async () => {
    expect(await errorOf(await put(`/live/${stream.streamKey}/0.ts`, new Uint8Array(segment)))).toEqual({ status: 409, code: 'SEGMENT_TOO_LATE' });
  });
});
