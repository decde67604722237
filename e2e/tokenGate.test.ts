import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { generateSegments } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, startTestOrchestrator, waitFor, type TestOrchestrator } from './helpers.js';

// Token-gated playback on a real anvil: only a wallet holding the ERC-20 gets a playback token.
const E18 = 10n ** 18n;
let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let orch: TestOrchestrator;
let dir: string;
let stream: { id: string; playbackId: string; streamKey: string };
const holder = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-gate-'));
  anvil = await startAnvil();
  deployment = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: holder.address, eth: E18, tokens: 5n * E18 }] });
  const [database, files] = await Promise.all([openDatabase(), generateSegments({ dir, count: 1, width: 640, height: 360 })]);
  db = database;
  orch = await startTestOrchestrator(db, { CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_CHAIN_ID: String(deployment.chainId), SEGMINT_IDLE_TIMEOUT: '600' });
  stream = (await api(orch, 'POST', '/api/stream', {
    name: 'holders only',
    profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }],
    playbackPolicy: { type: 'token', token: { standard: 'erc20', contract: deployment.contracts.SegmintToken, minBalance: String(E18) } },
  })).json;
  const res = await fetch(`${orch.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(await readFile(files[0]!)) });
  expect(res.status).toBe(200);
}, 120_000);
afterAll(async () => {
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function signIn(account: typeof holder, o: { playbackId?: string; chainId?: number; domain?: string; reuse?: { nonce: string } } = {}) {
  const info = o.reuse ?? (await api(orch, 'GET', `/api/playback/${stream.playbackId}/siwe`)).json;
  const message = createSiweMessage({
    address: account.address,
    chainId: o.chainId ?? deployment.chainId,
    domain: o.domain ?? new URL(orch.url).host,
    nonce: info.nonce,
    uri: `${orch.url}/watch/${o.playbackId ?? stream.playbackId}`,
    version: '1',
    statement: `Play ${stream.playbackId}`,
  });
  const signature = await account.signMessage({ message });
  return { nonce: info.nonce, ...(await api(orch, 'POST', `/api/playback/${stream.playbackId}/siwe`, { message, signature })) };
}

const playlist = (token?: string) => fetch(`${orch.url}/hls/${stream.playbackId}/low/index.m3u8${token ? `?jwt=${encodeURIComponent(token)}` : ''}`);

describe('token-gated playback', () => {
  it('a holder signs in with Ethereum and plays; the nonce works once', async () => {
    expect((await playlist()).status).toBe(401);
    const ok = await signIn(holder);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ token: expect.stringMatching(/^sgt\./), address: holder.address });
    const res = await waitFor('playlist', async () => {
      const r = await playlist(ok.json.token);
      return r.status === 200 ? r : null;
    }, 10_000);
    expect(await res.text()).toContain('#EXTM3U');
    const replay = await signIn(holder, { reuse: { nonce: ok.nonce } });
    expect({ status: replay.status, code: replay.json.error.code }).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
  });

  it('a wallet without the tokens is refused (403 INSUFFICIENT_TOKENS); forged and misdirected sign-ins are 401', async () => {
    const poor = await signIn(stranger);
    expect({ status: poor.status, code: poor.json.error.code }).toEqual({ status: 403, code: 'INSUFFICIENT_TOKENS' });
    const otherChain = await signIn(holder, { chainId: 1 });
    expect({ status: otherChain.status, code: otherChain.json.error.code }).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
    const phishing = await signIn(holder, { domain: 'evil.example' });
    expect({ status: phishing.status, code: phishing.json.error.code }).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
    const otherStream = await signIn(holder, { playbackId: '0123456789abcdef' });
    expect({ status: otherStream.status, code: otherStream.json.error.code }).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
    // a signature by the stranger over a message naming the holder
    const info = (await api(orch, 'GET', `/api/playback/${stream.playbackId}/siwe`)).json;
    const message = createSiweMessage({ address: holder.address, chainId: deployment.chainId, domain: info.domain, nonce: info.nonce, uri: `${orch.url}/watch/${stream.playbackId}`, version: '1' });
    const forged = await api(orch, 'POST', `/api/playback/${stream.playbackId}/siwe`, { message, signature: await stranger.signMessage({ message }) });
    expect({ status: forged.status, code: forged.json.error.code }).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
    expect((await playlist('sgt.e30.forged')).status).toBe(401);
  });

  it('bad input is a named 4xx', async () => {
    const bad = await api(orch, 'POST', `/api/playback/${stream.playbackId}/siwe`, { message: 'hello', signature: '0x12' });
    expect({ status: bad.status, code: bad.json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const notSiwe = await api(orch, 'POST', `/api/playback/${stream.playbackId}/siwe`, { message: 'hello', signature: `0x${'ab'.repeat(65)}` });
    expect({ status: notSiwe.status, code: notSiwe.json.error.code }).toEqual({ status: 401, code: 'PLAYBACK_DENIED' });
    const { json: pub } = await api(orch, 'POST', '/api/stream', { name: 'public' });
    expect((await api(orch, 'GET', `/api/playback/${pub.playbackId}/siwe`)).json.error.code).toBe('VALIDATION_FAILED');
    const badPolicy = await api(orch, 'POST', '/api/stream', { name: 'x', playbackPolicy: { type: 'token', token: { standard: 'erc1155', contract: '0x0', minBalance: '-1' } } });
    expect({ status: badPolicy.status, code: badPolicy.json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
});
