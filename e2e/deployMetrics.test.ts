/**
 * What deploy/ promises, on real processes: the contracts deployed to a real anvil with the anvil
 * preset (`npm run --workspace contracts deploy -- --network anvil`, the CLI itself), an
 * orchestrator and a worker process that find the chain by name alone (SEGMINT_NETWORK=anvil) and
 * pay in tickets, an ffmpeg publisher streaming live over RTMP; then every metric the Grafana
 * dashboard and the Prometheus alerts name is on /metrics of the orchestrator or the worker, with
 * each label value they select.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ANVIL_KEYS, startAnvil, type Anvil } from '@segmint/contracts';
import { freePort } from '../orchestrator/src/demo/localRedis.js';
import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { deployMetricNames } from '../deploy/deployFiles.js';
import { api, spawnWorker, startTestOrchestrator, stopProcess, waitFor, type TestOrchestrator } from './helpers.js';
import { ffmpegPublish } from './rtmpPublish.js';

const ROOT = resolve(import.meta.dirname, '..');

let anvil: Anvil;
let db: Database;
let orch: TestOrchestrator;
let worker: ChildProcess | undefined;
let publisher: ChildProcess | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-deploy-'));
  [anvil, db] = await Promise.all([startAnvil(), openDatabase()]);
}, 120_000);

afterAll(async () => {
  await stopProcess(publisher, 'SIGKILL');
  await stopProcess(worker);
  await orch?.stop();
  await db?.close();
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

function deployCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const c = spawn('npm', ['run', '--silent', '--workspace', 'contracts', 'deploy', '--', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => done({ code, out }));
  });
}

/** Sample names and label sets of a Prometheus text exposition. */
function samples(text: string): { name: string; labels: string }[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s/.exec(l)!;
    return { name: m[1]!, labels: m[2] ?? '' };
  });
}

const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('deploy: anvil preset, network by name, dashboard and alert metrics on a live stream', () => {
  it('deploys with --network anvil, runs a paid live stream found by network name, and exposes every metric deploy/ names', async () => {
    // 1. The anvil preset, for real: the CLI writes DIR/anvil.json.
    const deployed = await deployCli(['--network', 'anvil'], { CHAIN_RPC_URL: anvil.rpcUrl, SEGMINT_DEPLOYMENTS_DIR: dir, DEPLOYER_PRIVATE_KEY: '' });
    expect({ code: deployed.code, out: deployed.out }).toMatchObject({ code: 0 });
    const file = JSON.parse(await readFile(join(dir, 'anvil.json'), 'utf8')) as { chainId: number; network: string; contracts: { TicketBroker: string } };
    expect(file).toMatchObject({ chainId: 31337, network: 'anvil' });

    // 2. Orchestrator and worker given only the network's name (no RPC URL, chain id or address).
    orch = await startTestOrchestrator(db, {
      SEGMINT_NETWORK: 'anvil', SEGMINT_DEPLOYMENTS_DIR: dir, SENDER_PRIVATE_KEY: ANVIL_KEYS[1], SEGMINT_IDLE_TIMEOUT: '600',
    });
    const info = (await (await fetch(`${orch.url}/marketplace/info`)).json()) as { chainId: number; stakingManager: string };
    expect(info.chainId).toBe(31337);
    const metricsPort = await freePort();
    worker = spawnWorker(orch, [
      '--concurrency', '1', '--key', ANVIL_KEYS[3], '--network', 'anvil', '--deployments-dir', dir, '--metrics-port', String(metricsPort),
      '--redeem-interval-ms', '1000', '--face-value', '1000000000', '--win-prob', '1/2',
    ], { SEGMINT_PAYMENTS_DIR: join(dir, 'payments') });
    const workerUrl = `http://127.0.0.1:${metricsPort}`;
    await waitFor('worker /healthz', async () => (await fetch(`${workerUrl}/healthz`)).status === 200, 120_000, 250);

    // 3. A live stream over RTMP.
    const stream = (await api(orch, 'POST', '/api/stream', { name: 'deploy', profiles: [{ name: '240p', width: 426, height: 240, bitrate: 250_000, fps: 30 }] })).json;
    publisher = ffmpegPublish({ port: orch.rtmp!.port, key: stream.streamKey, seconds: 30, width: 640, height: 360 });
    const metrics = () => fetch(`${orch.url}/metrics`).then((r) => r.text());
    await waitFor('2 segments published and paid in tickets', async () => {
      const m = await metrics();
      return value(m, 'segmint_segments_published_total') >= 2 && value(m, 'segmint_tickets_sent_total') >= 1;
    }, 150_000, 500);
    // The worker completes a job (its tickets stored) just after the orchestrator published it.
    const workerMetrics = () => fetch(`${workerUrl}/metrics`).then((r) => r.text());
    await waitFor('2 segments done and a redemption round on the worker', async () => {
      const m = await workerMetrics();
      return value(m, 'segmint_worker_segments_total{outcome="done"}') >= 2 && value(m, 'segmint_worker_redemption_rounds_total{outcome="ok"}') >= 1;
    }, 60_000, 500);

    // 4. Every metric the dashboard and the alerts name, on the process that exports it.
    const [orchText, workerText] = await Promise.all([metrics(), workerMetrics()]);
    const exposed = { orchestrator: samples(orchText), worker: samples(workerText) };
    const { names, matchers } = deployMetricNames(join(ROOT, 'deploy'));
    expect(names.length).toBeGreaterThan(20);
    // Names alone do not tell which process exports a series (segmint_worker_slots is the
    // orchestrator's view of the fleet): each must be on one of the two.
    const all = [...exposed.orchestrator, ...exposed.worker];
    const missing = names.filter((n) => !all.some((s) => s.name === n));
    expect(missing).toEqual([]);
    const unselectable = matchers.filter((m) => !all.some((s) => s.name === m.name && s.labels.includes(`${m.label}="${m.value}"`)));
    expect(unselectable).toEqual([]);

    // 5. And they say what happened: one live stream, its RTMP bytes, a worker online, Redis up.
    expect(value(orchText, 'segmint_active_streams')).toBe(1);
    expect(value(orchText, 'segmint_ingest_bytes_total{source="rtmp"}')).toBeGreaterThan(100_000);
    expect(value(orchText, 'segmint_workers_online')).toBe(1);
    expect(value(orchText, 'segmint_worker_slots')).toBe(1);
    expect(value(orchText, 'segmint_redis_up')).toBe(1);
    expect(value(workerText, 'segmint_worker_segments_total{outcome="done"}')).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${orch.url}/healthz`)).status).toBe(200);
  }, 300_000);
});
