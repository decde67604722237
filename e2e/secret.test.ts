import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { generateSegments } from '@segmint/media';
import { ANVIL_KEYS, deploySegmint, startAnvil, type Anvil, type Deployment } from '@segmint/contracts';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { secretFingerprintKey, secretPath } from '../orchestrator/src/auth/deploymentSecret.js';
import { MarketplaceClient } from '../worker/src/marketplace/client.js';
import { api, REDIS_URL, startTestOrchestrator, waitFor, type TestOrchestrator } from './helpers.js';

// SEGMINT_SECRET generated once into DATA_DIR: a restarted orchestrator still accepts the job,
// heartbeat and playback tokens it issued before; an orchestrator with another secret on the same
// Redis prefix refuses to start.
const E18 = 10n ** 18n;
const ROOT = resolve(import.meta.dirname, '..');
let anvil: Anvil;
let deployment: Deployment;
let db: Database;
let dir: string;
let segment: Buffer;
let redis: Redis;
const holder = privateKeyToAccount(generatePrivateKey());

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-secret-'));
  anvil = await startAnvil();
  const [d, database, files] = await Promise.all([
    deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey: ANVIL_KEYS[0], fund: [{ address: holder.address, eth: E18, tokens: 5n * E18 }] }),
    openDatabase(),
    generateSegments({ dir, count: 1, width: 640, height: 360 }),
  ]);
  deployment = d;
  db = database;
  segment = await readFile(files[0]!);
  redis = new Redis(REDIS_URL);
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A playback token from the token gate: Sign-In with Ethereum by a holder of the ERC-20. */
async function playbackToken(orch: TestOrchestrator, playbackId: string): Promise<string> {
  const info = (await api(orch, 'GET', `/api/playback/${playbackId}/siwe`)).json;
  const message = createSiweMessage({ address: holder.address, chainId: deployment.chainId, domain: new URL(orch.url).host, nonce: info.nonce, uri: `${orch.url}/watch/${playbackId}`, version: '1' });
  const res = await api(orch, 'POST', `/api/playback/${playbackId}/siwe`, { message, signature: await holder.signMessage({ message }) });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

describe('the deployment secret', () => {
  it('is generated once into DATA_DIR: after a restart job, heartbeat and playback tokens stay valid', async () => {
    const env = {
      SEGMINT_REDIS_PREFIX: `segmint-e2e-secret-${randomUUID().slice(0, 8)}`, DATA_DIR: join(dir, 'keep'),
      CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_CHAIN_ID: String(deployment.chainId), SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_DISPATCH_WAIT_MS: '600000',
    };
    const first = await startTestOrchestrator(db, env);
    let second: TestOrchestrator | undefined;
    const worker = new MarketplaceClient({ orchestratorUrl: first.url, account: privateKeyToAccount(generatePrivateKey()), pricePerPixel: 1n, capabilities: { encoders: ['libx264'], maxConcurrent: 1, cores: 1, maxHeight: 2160, fingerprint: 'test' } });
    try {
      const secret = (await readFile(secretPath(env.DATA_DIR), 'utf8')).trim();
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      expect((await stat(secretPath(env.DATA_DIR))).mode & 0o777).toBe(0o600);
      // Redis holds a fingerprint, never the secret.
      const fingerprint = await redis.get(secretFingerprintKey(env.SEGMINT_REDIS_PREFIX));
      expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(fingerprint).not.toBe(secret);

      const stream = (await api(first, 'POST', '/api/stream', {
        name: 'gated', profiles: [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }],
        playbackPolicy: { type: 'token', token: { standard: 'erc20', contract: deployment.contracts.SegmintToken, minBalance: String(E18) } },
      })).json;
      expect((await fetch(`${first.url}/live/${stream.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segment) })).status).toBe(200);
      await worker.start();
      worker.stop();
      // Tokens the first orchestrator issued: a job's (as a worker gets it with the job), a
      // worker's heartbeat token, a viewer's playback token.
      const jobToken = first.pipeline.tokens.sign(`${stream.id}.1.0/${worker.address}`);
      const heartbeatToken = first.pipeline.tokens.sign(`worker/${worker.address.toLowerCase()}`);
      const playback = await playbackToken(first, stream.playbackId);
      await first.close();

      second = await startTestOrchestrator(db, env);
      expect((await readFile(secretPath(env.DATA_DIR), 'utf8')).trim()).toBe(secret);
      const source = (token: string) => fetch(`${second!.url}/transcode/${stream.id}.1.0/${worker.address}/source.ts`, { headers: { authorization: `Bearer ${token}` } });
      const okSource = await source(jobToken);
      expect(okSource.status).toBe(200);
      expect(Buffer.from(await okSource.arrayBuffer()).equals(segment)).toBe(true);
      expect((await source(`${jobToken.slice(0, -2)}AA`)).status).toBe(401);
      const beat = (token: string) => fetch(`${second!.url}/marketplace/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ worker: worker.address }) });
      expect((await beat(heartbeatToken)).status).toBe(204);
      expect((await beat(jobToken)).status).toBe(401);
      const playlist = (token: string) => fetch(`${second!.url}/hls/${stream.playbackId}/low/index.m3u8?jwt=${encodeURIComponent(token)}`);
      const res = await waitFor('the gated playlist with the old playback token', async () => {
        const r = await playlist(playback);
        return r.status === 200 ? r : null;
      }, 10_000);
      expect(await res.text()).toContain('#EXTM3U');
      expect((await playlist(`${playback.slice(0, -2)}AA`)).status).toBe(401);
    } finally {
      worker.stop();
      await (second ?? first).stop();
    }
  }, 120_000);

  it('a second orchestrator with another secret on the same Redis prefix refuses to start, with a clear error', async () => {
    const prefix = `segmint-e2e-secret-${randomUUID().slice(0, 8)}`;
    const first = await startTestOrchestrator(db, { SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: join(dir, 'a') });
    try {
      // Its own DATA_DIR, so its own generated secret: refused.
      await expect(startTestOrchestrator(db, { SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: join(dir, 'b') })).rejects.toMatchObject({ code: 'SECRET_MISMATCH' });
      // As a process (`segmint orchestrator start`): exits 1 and says why.
      const out = await new Promise<{ code: number | null; text: string }>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/src/cli.ts'), 'start'], {
          cwd: ROOT,
          env: { ...process.env, LOG_LEVEL: 'warn', REDIS_URL, SEGMINT_REDIS_PREFIX: prefix, SEGMINT_SECRET: 'another-secret', DATA_DIR: join(dir, 'c'), SEGMINT_HTTP_PORT: '0', SEGMINT_RTMP_PORT: '-1' },
        });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.stderr.on('data', (d) => (text += d));
        child.on('close', (code) => done({ code, text }));
      });
      expect(out.code).toBe(1);
      expect(out.text).toContain('signs with a different secret');
      expect(out.text).toContain('SEGMINT_SECRET');
      // The same secret, given: a second orchestrator of the deployment starts beside the first.
      const secret = (await readFile(secretPath(join(dir, 'a')), 'utf8')).trim();
      const twin = await startTestOrchestrator(db, { SEGMINT_REDIS_PREFIX: prefix, DATA_DIR: join(dir, 'd'), SEGMINT_SECRET: secret });
      await twin.close();
    } finally {
      await first.stop();
    }
  }, 120_000);
});
