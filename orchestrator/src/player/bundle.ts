import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('./player.ts', import.meta.url));
const SHIMS = fileURLToPath(new URL('./nodeShims.ts', import.meta.url));

/**
 * Bundles the player (player.ts with hls.js, p2p-media-loader and viem's signature check) into one
 * browser script, global `SegmintPlayer`: nothing is loaded from a CDN at run time. Takes ~1 s;
 * the orchestrator builds it once, on the first request for it.
 */
export async function buildPlayerBundle(): Promise<string> {
  const out = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'SegmintPlayer',
    platform: 'browser',
    target: 'es2020',
    inject: [SHIMS],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

// `npm run build:player [-- FILE]`: writes the bundle (default dist/segmint-player.js) for hosting elsewhere.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? 'dist/segmint-player.js';
  const { mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, await buildPlayerBundle());
  console.log(`player bundle written to ${file}`);
}
