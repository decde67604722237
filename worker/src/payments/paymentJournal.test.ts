import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentJournal, type UnpaidResult } from './paymentJournal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-journal-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const entry = (jobId: string): UnpaidResult => ({
  jobId, resultUrl: `http://127.0.0.1:1/transcode/${jobId}/0xabc`, token: 't', hardDeadline: 1, at: 1,
  params: { recipient: '0x0000000000000000000000000000000000000001', faceValue: '1', winProb: '1', recipientRandHash: '0x00', expiry: 1 },
});

describe('PaymentJournal', () => {
  it('keeps posted results until paid, across reopening, and ignores a torn last line', async () => {
    const path = join(dir, 'w.unpaid.jsonl');
    const j = await PaymentJournal.open(path);
    await j.posted(entry('a'));
    await j.posted(entry('b'));
    await j.paid('a');
    await j.close();
    await appendFile(path, '{"t":"posted","jobId":"c","resu'); // crash mid-write
    const again = await PaymentJournal.open(path);
    expect(again.unpaid().map((e) => e.jobId)).toEqual(['b']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await again.close();
  });

  it('compacts to the unpaid results only, through a temp file that does not stay behind', async () => {
    const path = join(dir, 'w.unpaid.jsonl');
    const j = await PaymentJournal.open(path);
    for (const id of ['a', 'b', 'c']) await j.posted(entry(id));
    await j.paid('a');
    await j.paid('c');
    await j.compact();
    await j.posted(entry('d'));
    await j.close();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { jobId: string }).jobId)).toEqual(['b', 'd']);
    expect(await readdir(dir)).toEqual(['w.unpaid.jsonl']);
  });
});
