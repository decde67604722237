/**
 * One seed of bench:verify: a fresh cheater worker process and a fresh stream on a running
 * orchestrator; segments pushed one at a time, each once the last is published and checked (so
 * the cheapest worker, the cheater, is free to win each) until the cheater is caught or n segments
 * are in; then every spot-check settles and the audit
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
  /** Which outputs those were (seq, whose, outcome): to look into when it is not 0. */
  referenceMismatchDetails: string[];
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
  const child = spawnWorker(orch, ['--concurrency', '1', '--price', '100', '--key', key, '--test-cheat-rate', String(cheatRate), ...extraArgs], { LOG_LEVEL: process.env.CHEATER_LOG_LEVEL ?? 'error' });
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
    const audits = await settledAudits(p.orch, stream.id, Array.from({ length: pushed }, (_, seq) => seq));
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

async function marketView(orch: TestOrchestrator, worker: string): Promise<{ faults: number; inflight: number }> {
  const w = (await (await fetch(`${orch.url}/marketplace/workers/${worker}`)).json()) as { inflight?: number; performance?: { faults?: number } };
  return { faults: w.performance?.faults ?? 0, inflight: w.inflight ?? 0 };
}

const faultsOf = async (orch: TestOrchestrator, worker: string) => (await marketView(orch, worker)).faults;

/**
 * Pushes segment after segment, each once the previous one is published, its check concluded
 * and the cheater's slot free, so nothing bars the cheater from the next auction; stops once the
 * cheater is caught. A segment is published a moment before its sampling is on record, so now and
 * then the next one goes out while its check runs: a catch may show one or two segments later.
 */
async function pushUntilCaught(p: SeedParameters, stream: { id: string; streamKey: string }, cheater: string): Promise<number> {
  let seq = 0;
  for (; seq < p.segments.length; seq++) {
    // Its slot from the last segment may be released a moment after that segment shows as published.
    const view = await waitFor('the cheater\'s slot free', async () => {
      const v = await marketView(p.orch, cheater);
      return v.inflight === 0 ? v : null;
    }, 60_000, 20);
    if (view.faults > 0) break;
    const res = await fetch(`${p.orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(p.segments[seq]!) });
    if (res.status !== 200) throw new Error(`pushing segment ${seq}: HTTP ${res.status} ${await res.text()}`);
    await settledAudits(p.orch, stream.id, [seq]);
  }
  return seq;
}

/** The audit records of `seqs` once each is published and no spot-check of theirs (tie-breaks and redos included) is still running. */
async function settledAudits(orch: TestOrchestrator, streamId: string, seqs: number[]): Promise<Audit[]> {
  let last: { status: number; json: any }[] = [];
  try {
    return await waitFor(`segments ${seqs[0]}–${seqs.at(-1)} published and checked`, async () => {
      last = await Promise.all(seqs.map((seq) => api(orch, 'GET', `/api/stream/${streamId}/segments/${seq}/audit`)));
      if (last.some((a) => a.status !== 200 || (a.json.spotCheck && SETTLING.includes(a.json.spotCheck.outcome)))) return null;
      return last.map((a) => a.json as Audit);
    }, 180_000, 20);
  } catch (err) {
    const open = last.filter((a) => a.status !== 200 || SETTLING.includes(a.json.spotCheck?.outcome));
    throw new Error(`${(err as Error).message}; still open: ${JSON.stringify(open.map((a) => a.status === 200 ? { seq: a.json.seq, worker: a.json.worker, spotCheck: a.json.spotCheck } : a))}`);
  }
}

/** What the audit trail says about one seed, measured against the bench's own reference transcode. */
export function classify(audits: Audit[], cheater: string, reference: string[], faults: number) {
  const byCheater = (a: Audit) => lower(a.worker) === cheater;
  const differs = (a: Audit, r?: { sha256: string }[]) => r !== undefined && r[0]?.sha256 !== reference[a.seq];
  const first = audits.find((a) => lower(a.spotCheck?.faulty) === cheater);
  const caughtSeq = first?.seq ?? Infinity;
  let honestComparisons = 0;
  let honestMismatches = 0;
  const referenceMismatchDetails: string[] = [];
  for (const a of audits) {
    const c = a.spotCheck;
    if (!byCheater(a) && differs(a, a.renditions)) referenceMismatchDetails.push(`segment ${a.seq} published by ${a.worker} (check ${c?.outcome ?? 'none'})`);
    if (!c || c.redo) continue;
    if (c.verifier && lower(c.verifier) !== cheater && differs(a, c.verifierRenditions)) referenceMismatchDetails.push(`segment ${a.seq} verified by ${c.verifier} (${c.outcome})`);
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
    referenceMismatches: referenceMismatchDetails.length,
    referenceMismatchDetails,
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
