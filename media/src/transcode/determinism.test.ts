import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arm64Machines, filteredFrameHashes, makeSource, runLadder, x64Machines, type LadderRun, type SourceSpec } from './determinism.js';
import { encoderFingerprint } from './transcode.js';

// Bit-exactness across machines: spot-checks slash whoever differs, so a result may depend on the
// ffmpeg build and settings (named in the fingerprint) but never on the CPU it ran on.
let dir: string;
const sources: Record<string, string> = {};
const SPECS: SourceSpec[] = [
  { name: 'camera', kind: 'camera', width: 1280, height: 720, rate: '30', seconds: 0.7 },
  { name: 'pattern', kind: 'pattern', width: 1280, height: 720, rate: '30', seconds: 0.5 },
  { name: 'short', kind: 'camera', width: 1280, height: 720, rate: '30', seconds: 0.2 },
];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-determinism-'));
  for (const s of SPECS) sources[s.name] = await makeSource(join(dir, 'src'), s);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function byFingerprint(runs: LadderRun[]): Map<string, LadderRun[]> {
  const groups = new Map<string, LadderRun[]>();
  for (const r of runs) groups.set(r.fingerprint, [...(groups.get(r.fingerprint) ?? []), r]);
  return groups;
}
const files = (r: LadderRun) => r.renditions.map((x) => `${x.name} ${x.fileSha256}`);

describe('the verifiable profile across SIMD levels and architectures', () => {
  it.each(['camera', 'pattern'])('gives the same bytes for every rendition at every x86-64 SIMD level that shares a fingerprint (%s source)', async (name) => {
    const runs: LadderRun[] = [];
    for (const m of x64Machines()) runs.push(await runLadder(sources[name]!, m, join(dir, name, m.name.replace('/', '-'))));
    expect(runs[0]!.renditions.map((r) => r.name)).toEqual(['240p0', '360p0', '480p0', '720p0']);
    for (const [, group] of byFingerprint(runs)) {
      for (const r of group) expect({ machine: r.machine.name, files: files(r) }).toEqual({ machine: r.machine.name, files: files(group[0]!) });
    }
    // Not vacuous: SSSE3 and up (here also AVX2 and everything this CPU has) share one fingerprint...
    const shared = byFingerprint(runs).get(runs.find((r) => r.machine.name === 'x64/default')!.fingerprint)!;
    expect(shared.map((r) => r.machine.name)).toEqual(expect.arrayContaining(['x64/ssse3', 'x64/default']));
    // ...and plain C runs x264's other decision path, under its own fingerprint.
    expect(runs.find((r) => r.machine.name === 'x64/c')!.fingerprint).not.toBe(shared[0]!.fingerprint);
  }, 180_000);

  it('filters every rendition to the same pixels on the arm64 build under qemu, whose fingerprint differs', async () => {
    const arm = await arm64Machines(join(dir, 'arm64'));
    expect(arm.missing).toBeUndefined(); // `make install` brings qemu-user-static and the arm64 build
    const [x64c, x64] = [x64Machines()[0]!, x64Machines().at(-1)!];
    const reference = await filteredFrameHashes(sources.short!, x64);
    expect(Object.keys(reference)).toEqual(['240p0', '360p0', '480p0', '720p0']);
    expect(await filteredFrameHashes(sources.short!, x64c)).toEqual(reference);
    for (const m of arm.machines) expect({ machine: m.name, frames: await filteredFrameHashes(sources.short!, m) }).toEqual({ machine: m.name, frames: reference });
    // Its encoders are another build (the npm arm64 package ships another ffmpeg and x264), so
    // its results are never compared bit for bit with x86-64 ones.
    const armFp = await encoderFingerprint('libx264', { ffmpeg: arm.machines[0]!.ffmpeg, arch: 'arm64' });
    expect(armFp).toMatch(/;arch=arm64;simd=neon$/);
    expect(armFp).not.toBe(await encoderFingerprint());
  }, 180_000);
});
