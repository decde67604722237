/** Starts a local anvil (from the @foundry-rs/anvil npm package) on a free port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Hex } from 'viem';
import { foundryBinary } from './foundry.js';

/** Private keys of anvil's first five default accounts (mnemonic "test test … junk"): dev only. */
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
] as const satisfies readonly Hex[];

export type StartAnvilParameters = {
  /** Port to listen on; default: a free one. */
  port?: number;
  /** Chain id; default anvil's 31337. */
  chainId?: number;
  /** How long to wait for "Listening on"; default 15 s. */
  timeoutMs?: number;
  /** Extra command-line arguments, e.g. ['--block-time', '1']. */
  args?: string[];
};

export type Anvil = {
  rpcUrl: string;
  port: number;
  chainId: number;
  /** Kills anvil and waits for it to exit. */
  stop(): Promise<void>;
};

export type StartAnvilErrorType = Error;

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts anvil and resolves once it accepts RPC calls.
 * @example
 * const anvil = await startAnvil();
 * try { … anvil.rpcUrl … } finally { await anvil.stop(); }
 */
export async function startAnvil(params: StartAnvilParameters = {}): Promise<Anvil> {
  const port = params.port ?? (await freePort());
  const chainId = params.chainId ?? 31337;
  const child = spawn(
    foundryBinary('anvil'),
    ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), ...(params.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForListening(child, params.timeoutMs ?? 15_000);
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    port,
    chainId,
    stop: () => stopChild(child),
  };
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`anvil did not start: ${why}\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`no "Listening on" within ${timeoutMs} ms`), timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Listening on')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining so a full pipe never blocks anvil.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code) => fail(`exited with ${code}`));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
