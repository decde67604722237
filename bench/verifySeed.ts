/**
 * One seed of bench:verify: a fresh cheater worker process and a fresh stream on a running
 * orchestrator; segments pushed one at a time (so the cheapest worker, the cheater, wins each)
 * until the cheater is caught or n segments are in; then every spot-check settles and the audit
 * trail is read back. Public surfaces only: the HTTP API, worker processes, their CLI flags.
 */
import type { ChildProcess } from 'node:child_process';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { api, spawnWorker, stopProcess, waitFor, type TestOrchestrator } from '../e2e/helpers.js';

export type Profile = { name: string; width: number; height: number; bitrate: number };

export type SeedParameters = {
  orch: TestOrchestrator;
  profiles: Profile[];
  /** Source segments (MPEG-TS bytes) and the sha256 an honest transcode of each gives (first rendition). */
  segments: Buffer[];
  reference: string[];
};

export type SeedResult = {
  seconds: number;
  cheater: string;
  pushed: number;
  /** Segments the cheater published, and how many of those differ from the honest transcode. */
  won: number;
  cheats: number;
  /** Segments whose publisher lost to an honest worker before the cheater was caught. */
  lostBeforeCatch: number;
  sampled: number;
  cheatedAndSampled: number;
  caught: boolean;
  /** Seq of the first segment whose check named the cheater (-1: only its faults counter says so). */
  caughtAt: number | null;
  faults: number;
  /** Spot-checks in which two honest transcodes were compared, and how many of those disagreed. */
  honestComparisons: number;
  honestMismatches: number;
  /** Honest outputs (published or verifier) that differ from the bench's own reference transcode. */
  referenceMismatches: number;
  transcodeMs: number;
  checkTranscodeMs: number;
};

/** The audit fields bench:verify reads (GET /api/stream/:id/segments/:seq/audit). */
export type Audit = {
  seq: number;
  worker: string;
  renditions: { name: string; sha256: string }[];
  spotCheck: null | {
    outcome: string;
    verifier?: string;
    tieBreaker?: string;
    faulty?: string;
    redo?: boolean;
    verifierRenditions?: { name: string; sha256: string }[];
  };
};

const lower = (s?: string) => s?.toLowerCase();
const SETTLING = ['pending', 'mismatch'];

export type Cheater = { child: ChildProcess; address: string };

/**
 * A fresh cheater worker process (new key, cheapest ask, concurrency 1). Spawned while the previous
 * seed's cheater goes offline, so its start-up overlaps that heartbeat TTL. `extraArgs`: more
 * worker flags, to measure another cheater (e.g. one that announces a non-deterministic encoder).
 */
export function spawnCheater(orch: TestOrchestrator, cheatRate: number, extraArgs: string[] = []): Cheater {
  const key = generatePrivateKey();
  // LOG_LEVEL error: its results refused once it is excluded are expected here, not warnings.
  const child = spawnWorker(orch, ['--concurrency', '1', '--price', '100', '--key', key, '--test-cheat-rate', String(cheatRate), ...extraArgs], { LOG_LEVEL: 'error' });
  return { child, address: privateKeyToAccount(key).address.toLowerCase() };
}

/** Runs one seed with `cheater` (stopped at the end); `previous`, the last seed's cheater, must be offline first. */
export async function runSeed(p: SeedParameters, cheater: Cheater, previous?: string): Promise<SeedResult> {
  const t0 = performance.now();
  try {
    await waitFor('the cheater online, the previous one gone', async () => {
      const online = await onlineAddresses(p.orch);
      return online.includes(cheater.address) && (previous === undefined || !online.includes(previous));
    }, 60_000);
    const stream = (await api(p.orch, 'POST', '/api/stream', { name: 'bench verify', profiles: p.profiles })).json as { id: string; streamKey: string };
    const pushed = await pushUntilCaught(p, stream, cheater.address);
    const audits = await settledAudits(p.orch, stream.id, pushed);
    const faults = await faultsOf(p.orch, cheater.address);
    const cost = (await api(p.orch, 'GET', `/api/stream/${stream.id}/verification`)).json as { transcodeMs: number; checkTranscodeMs: number };
    const seconds = (performance.now() - t0) / 1000;
    return { ...classify(audits, cheater.address, p.reference, faults), seconds, cheater: cheater.address, pushed, transcodeMs: cost.transcodeMs, checkTranscodeMs: cost.checkTranscodeMs };
  } finally {
    await stopProcess(cheater.child);
  }
}

async function onlineAddresses(orch: TestOrchestrator): Promise<string[]> {
  const ws = (await (await fetch(`${orch.url}/marketplace/workers`)).json()) as { address: string; online: boolean }[];
  return ws.filter((w) => w.online).map((w) => w.address.toLowerCase());
}

async function faultsOf(orch: TestOrchestrator, worker: string): Promise<number> {
  const w = (await (await fetch(`${orch.url}/marketplace/workers/${worker}`)).json()) as { performance?: { faults?: number } };
  return w.performance?.faults ?? 0;
}

/** Pushes segment after segment, each once the previous one is published; stops once the cheater is caught. */
async function pushUntilCaught(p: SeedParameters, stream: { id: string; streamKey: string }, cheater: string): Promise<number> {
  let seq = 0;
  for (; seq < p.segments.length; seq++) {
    if ((await faultsOf(p.orch, cheater)) > 0) break;
    const res = await fetch(`${p.orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(p.segments[seq]!) });
    if (res.status !== 200) throw new Error(`pushing segment ${seq}: HTTP ${res.status} ${await res.text()}`);
    await waitFor(`segment ${seq} published`, async () => (await api(p.orch, 'GET', `/api/stream/${stream.id}/segments/${seq}/audit`)).status === 200, 120_000, 20);
  }
  return seq;
}

/** Every pushed segment's audit record once no spot-check (tie-breaks and redos included) is still running. */
async function settledAudits(orch: TestOrchestrator, streamId: string, pushed: number): Promise<Audit[]> {
  return waitFor('every spot-check settled', async () => {
    const all = await Promise.all(Array.from({ length: pushed }, (_, seq) => api(orch, 'GET', `/api/stream/${streamId}/segments/${seq}/audit`)));
    if (all.some((a) => a.status !== 200 || (a.json.spotCheck && SETTLING.includes(a.json.spotCheck.outcome)))) return null;
    return all.map((a) => a.json as Audit);
  }, 180_000, 250);
}

/** What the audit trail says about one seed, measured against the bench's own reference transcode. */
export function classify(audits: Audit[], cheater: string, reference: string[], faults: number) {
  const byCheater = (a: Audit) => lower(a.worker) === cheater;
  const differs = (a: Audit, r?: { sha256: string }[]) => r !== undefined && r[0]?.sha256 !== reference[a.seq];
  const first = audits.find((a) => lower(a.spotCheck?.faulty) === cheater);
  const caughtSeq = first?.seq ?? Infinity;
  let honestComparisons = 0;
  let honestMismatches = 0;
  let referenceMismatches = 0;
  for (const a of audits) {
    if (!byCheater(a) && differs(a, a.renditions)) referenceMismatches++;
    const c = a.spotCheck;
    if (!c || c.redo) continue;
    if (c.verifier && lower(c.verifier) !== cheater && differs(a, c.verifierRenditions)) referenceMismatches++;
    const pair = honestPair(a, cheater);
    if (pair === 'none') continue;
    honestComparisons++;
    if (pair === 'mismatch') honestMismatches++;
  }
  return {
    won: audits.filter(byCheater).length,
    cheats: audits.filter((a) => byCheater(a) && differs(a, a.renditions)).length,
    lostBeforeCatch: audits.filter((a) => !byCheater(a) && a.seq < caughtSeq).length,
    sampled: audits.filter((a) => a.spotCheck && !a.spotCheck.redo).length,
    cheatedAndSampled: audits.filter((a) => byCheater(a) && differs(a, a.renditions) && a.spotCheck && !a.spotCheck.redo).length,
    caught: first !== undefined || faults > 0,
    caughtAt: first ? first.seq : faults > 0 ? -1 : null,
    faults,
    honestComparisons,
    honestMismatches,
    referenceMismatches,
  };
}

/**
 * Whether a spot-check compared two honest transcodes, and if so whether they disagreed.
 * Two parties, both honest: they must agree. Three (a tie-break), the cheater one of them: the two
 * honest ones must agree, so the cheater must be the one found faulty.
 */
function honestPair(a: Audit, cheater: string): 'none' | 'agree' | 'mismatch' {
  const c = a.spotCheck!;
  if (!c.verifier) return 'none';
  const parties = [a.worker, c.verifier, c.tieBreaker].filter((x): x is string => x !== undefined).map((x) => x.toLowerCase());
  const honest = parties.filter((x) => x !== cheater);
  if (honest.length < 2) return 'none';
  if (parties.length === 2) return c.outcome === 'agree' ? 'agree' : 'mismatch';
  if (honest.length === 3) return 'mismatch'; // an honest publisher and an honest verifier disagreed
  return lower(c.faulty) === cheater ? 'agree' : 'mismatch';
}
