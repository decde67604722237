#!/usr/bin/env node
// Runs the forge binary shipped by @foundry-rs/forge from contracts/, whatever the caller's cwd.
// The npm package's own launcher relies on a postinstall step, so the platform package is
// resolved directly.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const contractsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = `@foundry-rs/forge-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
const forge = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'forge');
const result = spawnSync(forge, process.argv.slice(2), { cwd: contractsDir, stdio: 'inherit' });
process.exit(result.status ?? 1);
