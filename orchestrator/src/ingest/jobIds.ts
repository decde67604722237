/** A job id names its segment: `${streamId}.${session}.${seq}` (BullMQ ids may not contain ':'). */
export const jobIdOf = (streamId: string, session: number, seq: number) => `${streamId}.${session}.${seq}`;

export function parseJobId(jobId: string): { streamId: string; session: number; seq: number } | null {
  const m = /^([0-9a-f-]{36})\.(\d{1,9})\.(\d{1,15})$/.exec(jobId);
  return m ? { streamId: m[1]!, session: Number(m[2]), seq: Number(m[3]) } : null;
}

/** Storage keys of a stream's segments. */
export const storageKeys = {
  source: (streamId: string, session: number, seq: number) => `${streamId}/source/${session}_${seq}.ts`,
  /** A worker's uploads for a job, until its result is checked (two workers may race on one job). */
  pending: (jobId: string, worker: string, rendition: string) => `${parseJobId(jobId)?.streamId}/pending/${jobId}/${worker}/${rendition}.ts`,
  pendingDir: (jobId: string, worker: string) => `${parseJobId(jobId)?.streamId}/pending/${jobId}/${worker}`,
  /** `rev` > 0: a caught segment republished under a new name (players and caches never mix the two). */
  rendition: (streamId: string, rendition: string, session: number, seq: number, rev?: number) => `${streamId}/${rendition}/${segmentFile(session, seq, rev)}`,
};

/** File name of a segment (unique across sessions of a stream, and across its revisions). */
export const segmentFile = (session: number, seq: number, rev?: number) => `${session}_${seq}${rev ? `r${rev}` : ''}.ts`;

/** Parses a segment file name back (null: not one). */
export function parseSegmentFile(file: string): { session: number; seq: number; rev: number } | null {
  const m = /^(\d{1,9})_(\d{1,15})(?:r(\d{1,6}))?\.ts$/.exec(file);
  return m ? { session: Number(m[1]), seq: Number(m[2]), rev: m[3] ? Number(m[3]) : 0 } : null;
}
