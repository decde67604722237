import { request } from 'node:http';
import { Redis } from 'ioredis';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { registrationTypedData, type MarketplaceInfo, type Registered } from '@segmint/protocol';
import { MarketplaceClient, queueConnection } from '../worker/src/marketplace/client.js';

/**
 * A worker registered for real (EIP-712 signed, over HTTP) with the orchestrator at `url`, and the
 * Redis credentials its registration answer handed back: what a hostile worker holds.
 */
export async function registeredWorker(url: string, key = generatePrivateKey()): Promise<{ client: MarketplaceClient; registered: Registered; key: `0x${string}` }> {
  const client = new MarketplaceClient({
    orchestratorUrl: url,
    account: privateKeyToAccount(key),
    pricePerPixel: 100n,
    capabilities: { encoders: ['libx264'], maxConcurrent: 1, cores: 1, maxHeight: 720, fingerprint: 'attack' },
  });
  return { client, registered: await client.register(), key };
}

/** A plain ioredis client logged in as that worker's own Redis user (never the orchestrator's). */
export function workerRedis(registered: Registered, override?: string): Redis {
  return new Redis({ ...queueConnection(registered.redis, override), maxRetriesPerRequest: 1, lazyConnect: true });
}

/** A signed registration body for `key` (what a worker posts to /marketplace/register). */
export async function signedRegistration(url: string, key: `0x${string}`, nonce: bigint): Promise<Record<string, unknown>> {
  const info = (await (await fetch(`${url}/marketplace/info`)).json()) as MarketplaceInfo;
  const account = privateKeyToAccount(key);
  const unsigned = {
    worker: account.address,
    pricePerPixel: '100',
    capabilities: { encoders: ['libx264'], maxConcurrent: 1, cores: 1, maxHeight: 720, fingerprint: 'attack' },
    nonce: nonce.toString(),
  };
  return { ...unsigned, signature: await account.signTypedData(registrationTypedData(unsigned, info.orchestrator, info.chainId)) };
}

/**
 * POSTs JSON from a chosen loopback source address (127.0.0.0/8 is all loopback on Linux), so an
 * attack can come from "another IP" than the tests' 127.0.0.1. Returns the status and body.
 */
export function postFrom(localAddress: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(url, { method: 'POST', localAddress, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}
