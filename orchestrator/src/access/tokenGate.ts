import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../redis/redisClient.js';
import { createPublicClient, http, parseAbi, verifyMessage, type Address, type PublicClient } from 'viem';
import { generateSiweNonce, parseSiweMessage } from 'viem/siwe';
import type { PlaybackPolicy } from '../streams/streamStore.js';

/** Why a wallet may not play (the message an integrator's viewer sees). */
export class TokenGateError extends Error {
  override name = 'TokenGateError';
  constructor(readonly kind: 'invalid' | 'insufficient' | 'unavailable', message: string) {
    super(message);
  }
}

export type TokenPolicy = Extract<PlaybackPolicy, { type: 'token' }>['token'];

const BALANCE_OF = parseAbi(['function balanceOf(address owner) view returns (uint256)']);
const NONCE_TTL_SEC = 300;
const TOKEN_TTL_SEC = 3600;

/**
 * Token-gated playback: a viewer signs a Sign-In with Ethereum message (EIP-4361) naming the
 * playback id and a nonce from us; we check the signature, use the nonce once, read the wallet's
 * `balanceOf` on the chain, and give a playback token (HMAC, 1 h) the HLS gate accepts like a JWT.
 */
export class TokenGate {
  private client: PublicClient | null = null;

  constructor(private readonly o: { redis: RedisClient; prefix: string; secret: string; rpcUrl: string | undefined; chainId: number }) {}

  /** A one-time nonce for a SIWE message about `playbackId` (5 minutes). */
  async nonce(playbackId: string): Promise<string> {
    const nonce = generateSiweNonce();
    await this.o.redis.set(`${this.o.prefix}:siwe:${nonce}`, playbackId, 'EX', NONCE_TTL_SEC);
    return nonce;
  }

  /** Checks a signed SIWE message for `playbackId` against `policy`; returns a playback token. */
  async signIn(p: { playbackId: string; message: string; signature: `0x${string}`; policy: TokenPolicy; domain: string; now?: Date }): Promise<{ token: string; address: Address; expiresAt: number }> {
    const now = p.now ?? new Date();
    const m = parseSiweMessage(p.message);
    if (!m.address || !m.nonce || !m.chainId || !m.uri) throw new TokenGateError('invalid', 'not a Sign-In with Ethereum message (address, nonce, chainId and uri are required)');
    if (m.chainId !== this.o.chainId) throw new TokenGateError('invalid', `the message is for chain ${m.chainId}; playback is gated on chain ${this.o.chainId}`);
    if (!m.uri.includes(p.playbackId)) throw new TokenGateError('invalid', 'the message uri must name this playback id');
    if (m.domain !== p.domain) throw new TokenGateError('invalid', `the message is for ${m.domain}; sign one for ${p.domain}`);
    if (m.expirationTime && m.expirationTime < now) throw new TokenGateError('invalid', 'the message expired');
    if (m.notBefore && m.notBefore > now) throw new TokenGateError('invalid', 'the message is not valid yet');
    let valid = false;
    try {
      valid = await verifyMessage({ address: m.address, message: p.message, signature: p.signature });
    } catch {
      valid = false;
    }
    if (!valid) throw new TokenGateError('invalid', 'the signature is not by the message address');
    const owner = await this.o.redis.getdel(`${this.o.prefix}:siwe:${m.nonce}`);
    if (owner !== p.playbackId) throw new TokenGateError('invalid', 'unknown, used or expired nonce: get a new one');

    const balance = await this.balanceOf(p.policy.contract as Address, m.address);
    if (balance < BigInt(p.policy.minBalance)) {
      throw new TokenGateError('insufficient', `${m.address} holds ${balance} of ${p.policy.contract}; playing needs ${p.policy.minBalance}`);
    }
    const expiresAt = now.getTime() + TOKEN_TTL_SEC * 1000;
    return { token: this.sign(p.playbackId, m.address, expiresAt), address: m.address, expiresAt };
  }

  private async balanceOf(contract: Address, owner: Address): Promise<bigint> {
    if (!this.o.rpcUrl) throw new TokenGateError('unavailable', 'token-gated playback needs CHAIN_RPC_URL');
    this.client ??= createPublicClient({ transport: http(this.o.rpcUrl) });
    try {
      return await this.client.readContract({ address: contract, abi: BALANCE_OF, functionName: 'balanceOf', args: [owner] });
    } catch (err) {
      throw new TokenGateError('unavailable', `could not read balanceOf on ${contract}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  private mac(body: string) {
    return createHmac('sha256', this.o.secret).update(body).digest('base64url');
  }

  private sign(playbackId: string, address: string, expiresAt: number): string {
    const body = Buffer.from(JSON.stringify({ sub: playbackId, addr: address, exp: expiresAt })).toString('base64url');
    return `sgt.${body}.${this.mac(body)}`;
  }

  /** Whether `token` is one of ours, for this playback id, not expired. */
  check(token: string, playbackId: string, now = Date.now()): boolean {
    const [kind, body, mac] = token.split('.');
    if (kind !== 'sgt' || !body || !mac) return false;
    const want = Buffer.from(this.mac(body));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { sub: string; exp: number };
      return claims.sub === playbackId && claims.exp > now;
    } catch {
      return false;
    }
  }
}
