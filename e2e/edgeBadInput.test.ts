import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { edgeRegistrationTypedData } from '@segmint/protocol';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { startTestOrchestrator, type TestOrchestrator } from './helpers.js';

// Bad edge registrations, receipts and fault reports: a stable code and a 4xx, never a 5xx.
let db: Database;
let orch: TestOrchestrator;
beforeAll(async () => {
  db = await openDatabase();
  orch = await startTestOrchestrator(db, { SEGMINT_EDGE_MYSTERY_INTERVAL_MS: '0' });
}, 60_000);
afterAll(async () => {
  await orch?.stop();
  await db?.close();
});

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${orch.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, code: ((await res.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code };
};

async function registration(over: { nonce?: string; signWith?: `0x${string}` } = {}) {
  const key = generatePrivateKey();
  const account = privateKeyToAccount(key);
  const unsigned = { edge: account.address, url: 'http://127.0.0.1:9', maxViewers: 10, nonce: over.nonce ?? '5' };
  const signer = privateKeyToAccount(over.signWith ?? key);
  return { account, body: { ...unsigned, signature: await signer.signTypedData(edgeRegistrationTypedData(unsigned, orch.url, 31337)) } };
}

describe('edge routes refuse bad input with stable codes', () => {
  it('registration: forged 401, replayed 409, malformed 400', async () => {
    const forged = await registration({ signWith: generatePrivateKey() });
    expect(await post('/edges/register', forged.body)).toEqual({ status: 401, code: 'EDGE_REGISTRATION_FORGED' });
    const ok = await registration();
    expect((await post('/edges/register', ok.body)).status).toBe(200);
    expect(await post('/edges/register', ok.body)).toEqual({ status: 409, code: 'EDGE_REGISTRATION_REPLAYED' });
    expect(await post('/edges/register', { ...ok.body, url: 'javascript:alert(1)' })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post('/edges/register', '{"edge":')).toMatchObject({ status: 400 });
  });

  it('receipts: no token 401, unregistered 404, malformed 400', async () => {
    const someone = privateKeyToAccount(generatePrivateKey()).address;
    const receipt = { session: 'abcdefgh12345678', edge: someone, playbackId: 'p', rendition: 'low', uri: '1_1.ts', sha256: 'ab'.repeat(32), bytes: 10, time: Date.now(), signature: `0x${'11'.repeat(65)}` };
    expect(await post('/edges/receipts', { edge: someone, receipts: [receipt] })).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(await post('/edges/receipts', { edge: someone, receipts: [{ ...receipt, bytes: -1 }] })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post('/edges/receipts', { edge: someone, receipts: [] })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post('/edges/heartbeat', { edge: someone }, { authorization: 'Bearer nope' })).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('sessions and fault reports: unknown playback 404, unproven fault 422 or 404', async () => {
    const viewerKey = privateKeyToAccount(generatePrivateKey()).address;
    expect(await post('/edges/sessions', { playbackId: 'nope', viewerKey })).toEqual({ status: 404, code: 'PLAYBACK_NOT_FOUND' });
    const ok = await registration({ nonce: '7' });
    await post('/edges/register', ok.body);
    const report = { session: 'abcdefgh12345678', edge: ok.account.address, playbackId: 'nope', rendition: 'low', uri: '1_1.ts', receivedSha256: 'ab'.repeat(32), receivedBytes: 10, edgeSignature: `0x${'11'.repeat(65)}` };
    expect(await post('/edges/faults', report)).toEqual({ status: 422, code: 'FAULT_NOT_PROVEN' });
    expect(await post('/edges/faults', { ...report, edge: viewerKey })).toEqual({ status: 404, code: 'EDGE_NOT_REGISTERED' });
  });
});
