import { buildCommitmentTree, commitmentEntries, slashEvidence, type RenditionResult, type SegmentJob } from '@segmint/protocol';
import type { Hex } from 'viem';
import type { AuditRecord } from '../audit/auditStore.js';
import type { Pipeline } from '../pipeline.js';
import { republish } from './republish.js';

export type Conviction = {
  job: SegmentJob;
  session: number;
  faulty: string;
  /** hash: bit-exact output differs (provable on-chain); quality: a perceptual judgement (not provable). */
  how: 'hash' | 'quality';
  /** The faulty worker's own signed result: the leaf it committed to and the hash agreed on instead. */
  evidence?: { renditions: RenditionResult[]; fingerprint: string; signature: Hex; leaf: string; correctSha256: string };
  /** Agreed-on files (storage keys by rendition) to republish, when the faulty result is the published one. */
  replacement?: Record<string, string>;
};

type Outcome = Pick<NonNullable<AuditRecord['spotCheck']>, 'clawedBack' | 'replaced' | 'slash'>;

/**
 * What happens to a worker proven wrong, whatever proved it: it is penalised and kept out of
 * auctions (cheaterExcludeMs for a hash proof, ssimExcludeMs for a quality verdict), loses what
 * the job credited it (tickets cannot be recalled: its credit drops), viewers get the agreed-on
 * output under new file names, and with a hash proof the contract slashes it. `redoUnchecked`
 * is given by the caller (spotCheck.ts) so this file does not depend on it.
 */
export async function convict(p: Pipeline, c: Conviction, redoUnchecked: (faulty: string, except: string) => Promise<unknown>): Promise<Outcome> {
  const log = p.logger.child({ jobId: c.job.jobId, faulty: c.faulty, how: c.how });
  const out: Outcome = {};
  await p.dispatcher.penalize(c.faulty, { excludeForMs: c.how === 'hash' ? p.config.cheaterExcludeMs : p.config.ssimExcludeMs });
  // Whatever else it published and nobody checked is suspect now: it is all done again.
  void redoUnchecked(c.faulty, c.job.jobId).catch((err: Error) => log.error({ err }, 'could not start redoing the faulty worker\'s segments'));
  if (await p.payments?.clawBack(c.job.jobId, c.faulty).catch((err: Error) => log.error({ err }, 'claw-back failed'))) out.clawedBack = true;
  if (c.replacement) out.replaced = await republish(p, c.job, c.session, c.replacement);
  if (p.audit.slasher && c.evidence) out.slash = await slash(p, c, c.evidence);
  log.warn({ ...out, slash: out.slash ? ('tx' in out.slash ? out.slash.tx : out.slash.error) : undefined }, 'worker proven wrong');
  return out;
}

async function slash(p: Pipeline, c: Conviction, e: NonNullable<Conviction['evidence']>): Promise<NonNullable<Outcome['slash']>> {
  const evidence = slashEvidence({
    tree: buildCommitmentTree(c.job.jobId, commitmentEntries(e.renditions, e.fingerprint)),
    signature: e.signature,
    rendition: e.leaf,
    correctSha256: e.correctSha256,
  });
  const result = await p.audit.slasher!.slash(c.faulty, evidence).then(
    ({ tx, blockNumber }) => ({ tx, blockNumber: blockNumber.toString() }),
    (err: Error) => ({ error: err.message.split('\n')[0]! }),
  );
  p.metrics.slashes.inc({ outcome: 'tx' in result ? 'sent' : 'failed' });
  return result;
}

/** Leaves (rendition video, `name/audio`) whose hashes differ between two results of one job. */
export function differingLeaves(a: readonly RenditionResult[], b: readonly RenditionResult[]): string[] {
  const out: string[] = [];
  for (const r of a) {
    const o = b.find((x) => x.name === r.name);
    if (o?.sha256 !== r.sha256) out.push(r.name);
    if ((o?.audioSha256 ?? '') !== (r.audioSha256 ?? '')) out.push(`${r.name}/audio`);
  }
  return out;
}

/** The hash of a leaf (video rendition or `name/audio`) in a result. */
export function leafHash(renditions: readonly RenditionResult[], leaf: string): string | undefined {
  const audio = leaf.endsWith('/audio');
  const r = renditions.find((x) => x.name === (audio ? leaf.slice(0, -'/audio'.length) : leaf));
  return audio ? r?.audioSha256 : r?.sha256;
}
