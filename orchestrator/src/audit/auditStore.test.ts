import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../db/database.js';
import { AuditStore, type AuditRecord } from './auditStore.js';

const record = (seq: number, over: Partial<AuditRecord> = {}): AuditRecord => ({
  jobId: `s1:0:${seq}`, streamId: 's1', session: 0, seq, worker: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', encoderFingerprint: 'ffmpeg/7;libx264',
  transcodeMs: 812.5, renditions: [{ name: 'low', sha256: 'ab'.repeat(32), width: 320, height: 180, frames: 60, durationSec: 2, bytes: 12345 }],
  commitment: { root: `0x${'11'.repeat(32)}`, signature: `0x${'22'.repeat(65)}`, chainId: 31337, stakingManager: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  proofs: { low: [`0x${'33'.repeat(32)}`] }, spotCheck: null, publishedAt: 1_700_000_000_000, ...over,
});

describe('AuditStore (PostgreSQL)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'segmint-audit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps a record across a restart of the database, and a spot-check outcome overwrites it', async () => {
    const dataDir = join(dir, 'pg');
    let db = await openDatabase({ dataDir });
    await new AuditStore(db, 3600).put(record(7));
    await new AuditStore(db, 3600).put(record(7, { spotCheck: { outcome: 'agree', verifier: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', mismatched: [] } }));
    await db.close();
    db = await openDatabase({ dataDir });
    const store = new AuditStore(db, 3600);
    expect(await store.get('s1', 0, 7)).toEqual(record(7, { spotCheck: { outcome: 'agree', verifier: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', mismatched: [] } }));
    expect(await store.get('s1', 0, 8)).toBeNull();
    expect(await store.get('s1', 1, 7)).toBeNull();
    await db.close();
  }, 60_000);

  it('hides a record past its retention and purges it', async () => {
    const db = await openDatabase();
    const gone = new AuditStore(db, 0);
    const kept = new AuditStore(db, 3600);
    await gone.put(record(1));
    await kept.put(record(2));
    expect(await gone.get('s1', 0, 1)).toBeNull();
    expect(await kept.get('s1', 0, 2)).not.toBeNull();
    expect(await kept.purge()).toBe(1);
    expect(await kept.purge(Date.now() + 3601_000)).toBe(1);
    expect(await kept.get('s1', 0, 2)).toBeNull();
    await db.close();
  }, 60_000);

  it('sums a stream\'s verification: sampled, outcomes and what checks cost against the publishing transcodes', async () => {
    const db = await openDatabase();
    const store = new AuditStore(db, 3600);
    await store.put(record(1)); // 812.5 ms, not sampled
    await store.put(record(2, { spotCheck: { outcome: 'agree', verifierTranscodeMs: 800 } }));
    await store.put(record(3, { spotCheck: { outcome: 'caught', verifierTranscodeMs: 700, tieBreakTranscodeMs: 900 } }));
    await store.put(record(4, { spotCheck: { outcome: 'ssim-pass', checkMs: 150 } }));
    await store.put(record(5, { streamId: 'other', spotCheck: { outcome: 'agree', verifierTranscodeMs: 5000 } }));
    const s = await store.summary('s1');
    expect(s).toEqual({
      segments: 4, sampled: 3, outcomes: { agree: 1, caught: 1, 'ssim-pass': 1 },
      transcodeMs: 3250, checkTranscodeMs: 2550, extraCost: 2550 / 3250,
    });
    expect(await store.summary('nobody')).toMatchObject({ segments: 0, extraCost: 0 });
    await db.close();
  }, 60_000);

  it('lists the latest unchecked segments a worker published (the ones to redo if it is caught)', async () => {
    const db = await openDatabase();
    const store = new AuditStore(db, 3600);
    const cheat = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
    await store.put(record(1, { worker: cheat, publishedAt: 1000 }));
    await store.put(record(2, { worker: cheat, publishedAt: 2000, spotCheck: { outcome: 'agree' } })); // checked already
    await store.put(record(3, { worker: cheat, publishedAt: 3000 }));
    await store.put(record(4, { publishedAt: 4000 })); // someone else's
    await store.put(record(5, { worker: cheat, publishedAt: 5000, streamId: 's2' }));
    expect((await store.uncheckedBy(cheat.toLowerCase(), 10)).map((r) => [r.streamId, r.seq])).toEqual([['s2', 5], ['s1', 3], ['s1', 1]]);
    expect((await store.uncheckedBy(cheat, 2)).map((r) => r.seq)).toEqual([5, 3]);
    await db.close();
  }, 60_000);
});
