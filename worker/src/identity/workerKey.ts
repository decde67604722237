import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { Hex } from 'viem';

/** Where a worker keeps its key when none is given: one identity per machine user. */
export const DEFAULT_KEY_FILE = join(homedir(), '.segmint', 'worker-key');

const isKey = (s: string) => /^0x[0-9a-fA-F]{64}$/.test(s);

/**
 * The worker's Ethereum account (its identity, stake and payee): `spec` is a private key (0x…) or
 * a file holding one; without it, DEFAULT_KEY_FILE, created with a fresh key on first start.
 */
export async function loadWorkerKey(spec: string | undefined): Promise<{ account: PrivateKeyAccount; source: string }> {
  if (spec && isKey(spec.trim())) return { account: privateKeyToAccount(spec.trim() as Hex), source: 'flag' };
  const file = spec || DEFAULT_KEY_FILE;
  let text: string | undefined;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || spec) throw new Error(`cannot read the worker key from ${file}: ${(err as Error).message}`);
  }
  if (text === undefined) {
    const key = generatePrivateKey();
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return { account: privateKeyToAccount(key), source: `${file} (new)` };
  }
  if (!isKey(text)) throw new Error(`${file} does not hold a private key (0x followed by 64 hex digits)`);
  return { account: privateKeyToAccount(text as Hex), source: file };
}
