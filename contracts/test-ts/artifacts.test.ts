/**
 * The generated ABI and bytecode files must match a fresh forge build of contracts/src, so
 * nobody ships TypeScript that talks to a contract version that no longer exists.
 */
import { readFile } from 'node:fs/promises';
import { renderArtifacts } from '../script/artifacts.js';

describe('generated contract artifacts', () => {
  it('are up to date with contracts/src (run `npm run --workspace contracts generate` if not)', async () => {
    for (const file of await renderArtifacts()) {
      const committed = await readFile(file.path, 'utf8');
      expect({ path: file.path, stale: committed !== file.content }).toEqual({ path: file.path, stale: false });
    }
  }, 180_000);
});
