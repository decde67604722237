#!/usr/bin/env node
// Runs a Foundry binary (forge, anvil) shipped by the @foundry-rs npm packages, from contracts/.
// Usage: node script/runFoundry.mjs forge test ...
// The npm launcher packages rely on a postinstall step, so the platform package is resolved
// directly (same logic as foundryBinary in foundry.ts).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const contractsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const [tool = 'forge', ...args] = process.argv.slice(2);
const arch = process.arch === 'x64' ? 'amd64' : process.arch;
const pkg = `@foundry-rs/${tool}-${process.platform}-${arch}`;
const bin = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', tool);
const result = spawnSync(bin, args, { cwd: contractsDir, stdio: 'inherit' });
process.exit(result.status ?? 1);
