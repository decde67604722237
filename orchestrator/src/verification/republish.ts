import type { SegmentJob } from '@segmint/protocol';
import { storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { hashStored, type FileHash } from '../hls/segmentSigner.js';

/**
 * Replaces a published segment proven wrong with agreed-on output, under NEW file names (its
 * revision goes up): the playlists list the new files, and the old URLs answer 404 from now on,
 * so no player or cache that kept the old bytes (served `immutable`) can mix them in again.
 * `files` maps rendition → storage key of the replacement (moved, not copied). Returns false when
 * the segment left retention meanwhile (nothing to put right; the replacement is deleted).
 */
export async function republish(p: Pipeline, job: SegmentJob, session: number, files: Record<string, string>): Promise<boolean> {
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  const rev = (audit?.rev ?? 0) + 1;
  const names = job.profiles.map((x) => x.name);
  await Promise.all(names.map((name) => p.storage.move(files[name]!, storageKeys.rendition(job.streamId, name, session, job.seq, rev))));
  const shas: Record<string, FileHash> = {};
  for (const name of names) {
    const h = await hashStored(p.storage, storageKeys.rendition(job.streamId, name, session, job.seq, rev));
    if (h) shas[name] = h;
  }
  const before = await p.live.revise(job.streamId, session, job.seq, rev, shas);
  if (before < 0) {
    await p.storage.delete(names.map((name) => storageKeys.rendition(job.streamId, name, session, job.seq, rev)));
    return false;
  }
  await p.storage.delete(names.map((name) => storageKeys.rendition(job.streamId, name, session, job.seq, before)));
  if (audit) await p.audit.store.put({ ...(await p.audit.store.get(job.streamId, session, job.seq))!, rev });
  return true;
}
