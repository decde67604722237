import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** contracts/ (where foundry.toml lives). */
export const contractsDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Path of a Foundry binary from the @foundry-rs npm packages. The launcher packages rely on a
 * postinstall step that npm does not run here, so the platform package is resolved directly.
 */
export function foundryBinary(tool: 'forge' | 'anvil'): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/${tool}-${process.platform}-${arch}`;
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', tool);
}

/** Runs `forge <args>` in contracts/ and resolves with its stdout; rejects with stderr on failure. */
export function runForge(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(foundryBinary('forge'), args, { cwd: contractsDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`forge ${args.join(' ')} exited ${code}: ${err || out}`)),
    );
  });
}
