import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { EdgeViewer } from '../orchestrator/src/player/edgeViewer.js';
import { api, waitFor } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
type Orch = { url: string; apiKey: string };

export type LiveStream = { id: string; streamKey: string; playbackId: string; stop(): void; pushed(): number };

/**
 * A live stream over HTTP push: source segments pushed every `everyMs` (a real worker transcodes
 * them to `low`), from the moment this returns until stop(); resolves once `ready` segments of
 * `low` are listed, hashed and signed in its sidecar.
 */
export async function liveStream(orch: Orch, segments: Buffer[], o: { name: string; everyMs?: number; ready?: number }): Promise<LiveStream> {
  const stream = (await api(orch as never, 'POST', '/api/stream', { name: o.name, profiles: [{ name: 'low', width: 256, height: 144, bitrate: 150_000 }] })).json as { id: string; streamKey: string; playbackId: string };
  let seq = 0;
  let stopped = false;
  const push = async () => {
    const res = await fetch(`${orch.url}/live/${stream.streamKey}/${seq}.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(segments[seq % segments.length]!) });
    if (res.status === 200) seq++;
  };
  const loop = async () => {
    while (!stopped) {
      await push().catch(() => {});
      await new Promise((r) => setTimeout(r, o.everyMs ?? 2000));
    }
  };
  void loop();
  await waitFor(`${o.ready ?? 3} signed segments of ${o.name}`, async () => {
    const res = await fetch(`${orch.url}/hls/${stream.playbackId}/low/hashes.json`);
    return res.ok && ((await res.json()) as { segments: unknown[] }).segments.length >= (o.ready ?? 3);
  }, 120_000, 250);
  return { ...stream, stop: () => void (stopped = true), pushed: () => seq };
}

export type EdgeProcess = { child: ChildProcess; url: string; address: string; key: `0x${string}` };

/** `segmint edge start` as its own process, once it has registered and says where it listens. */
export function spawnEdge(orch: Orch, args: string[] = [], env: Record<string, string> = {}, key: `0x${string}` = generatePrivateKey()): Promise<EdgeProcess> {
  const journal = args.includes('--receipts-dir') ? [] : ['--receipts-dir', mkdtempSync(join(tmpdir(), 'segmint-edge-receipts-'))];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/src/cli.ts'), 'start', '--orchestrator', orch.url, '--key', key, '--port', '0', '--receipt-interval-ms', '300', ...journal, ...args], {
    cwd: ROOT, env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"edge"'));
      if (!line) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      const { edge, url } = JSON.parse(line) as { edge: string; url: string };
      done({ child, url, address: edge, key });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`edge exited (${code}) before it started: ${out}`)));
  });
}

/**
 * Plays `rendition` like a live player for `ms`: polls the media playlist (from its edge, the
 * origin when the edge fails) every second and fetches each new segment once, verified.
 */
export async function play(viewer: EdgeViewer, rendition: string, ms: number): Promise<string[]> {
  const got: string[] = [];
  const seen = new Set<string>();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const text = await viewer.mediaPlaylist(rendition).catch(() => '');
    const uris = text.split('\n').filter((l) => l && !l.startsWith('#'));
    // a live player starts near the live edge: the last three segments, then each new one
    for (const uri of seen.size === 0 ? uris.slice(-3) : uris) {
      if (seen.has(uri)) continue;
      seen.add(uri);
      await viewer.segment(rendition, uri);
      got.push(uri);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return got;
}

export { EdgeViewer };
