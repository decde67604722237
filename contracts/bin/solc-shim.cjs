'use strict';
// A stand-in for the native solc binary that forge expects, backed by solc-js (WebAssembly).
// forge asks `--version` (and parses "Version: X+commit.H.Platform"), then runs
// `--standard-json --base-path B --include-path I... --allow-paths A` with the input on stdin.
// solc-js rejects --allow-paths, so it is dropped; base/include paths resolve imports here.
const fs = require('node:fs');
const path = require('node:path');

// solc-js (emscripten) may print lines like ">>> ..." straight to stdout, which would corrupt the
// JSON forge reads: everything written to stdout goes to stderr except the final answer.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version')) {
  // solc-js reports "...Emscripten.clang"; forge only needs the semver and commit.
  const full = solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
  writeStdout(`solc, the solidity compiler commandline interface\nVersion: ${full}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
  process.exit(1);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if ((a === '--base-path' || a === '--include-path') && args[i + 1] !== undefined) roots.push(args[++i]);
  else if (a === '--allow-paths') i++; // dropped: solc-js does not know it
}
if (roots.length === 0) roots.push(process.cwd());

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.resolve(r, importPath));
  for (const file of candidates) {
    try {
      return { contents: fs.readFileSync(file, 'utf8') };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath}` };
}

const input = fs.readFileSync(0, 'utf8');
const output = solc.compile(input, { import: findImports });
// solc-js may print progress lines starting with ">>>" on stdout; keep only the JSON.
const json = output
  .split('\n')
  .filter((line) => !line.startsWith('>>>'))
  .join('\n');
writeStdout(json);
