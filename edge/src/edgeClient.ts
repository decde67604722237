import type { Logger } from 'pino';
import type { PrivateKeyAccount } from 'viem/accounts';
import { edgeRegistrationTypedData, type EdgeRegistered, type MarketplaceInfo, type ReceiptRejection, type TicketBatch, type TicketParams, type Receipt } from '@segmint/protocol';
import { call, postJson } from '../../worker/src/http.js';

export type EdgeClientOptions = { orchestratorUrl: string; account: PrivateKeyAccount; url: string; maxViewers: number; logger?: Logger };

/** What the orchestrator answered a receipt batch with (orchestrator/src/edges/edgeDelivery.ts). */
export type ReceiptBatchAnswer = {
  status: 'accepted' | 'duplicate';
  paidBytes: number;
  receipts: { paidBytes: number; rejected?: ReceiptRejection }[];
  owedWei: string;
  payment?: TicketBatch;
};

let lastNonce = 0n;
/** Strictly increasing across restarts (time-based), and within one process (counter). */
function nextNonce(): bigint {
  const now = BigInt(Date.now()) * 1000n;
  lastNonce = now > lastNonce ? now : lastNonce + 1n;
  return lastNonce;
}

/**
 * The edge's side of the orchestrator, as the worker's MarketplaceClient: signs its registration
 * (EIP-712, bound to the orchestrator's URL and chain), heartbeats, registers again when forgotten,
 * and submits receipts with the token its registration gave.
 */
export class EdgeClient {
  registered: EdgeRegistered | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: EdgeClientOptions) {}

  get address(): string {
    return this.o.account.address.toLowerCase();
  }

  async register(): Promise<EdgeRegistered> {
    const info = (await (await call(`${this.o.orchestratorUrl}/marketplace/info`)).json()) as MarketplaceInfo;
    const unsigned = { edge: this.o.account.address, url: this.o.url, maxViewers: this.o.maxViewers, nonce: nextNonce().toString() };
    const signature = await this.o.account.signTypedData(edgeRegistrationTypedData(unsigned, info.orchestrator, info.chainId));
    const res = await postJson(`${this.o.orchestratorUrl}/edges/register`, { ...unsigned, signature });
    this.registered = (await res.json()) as EdgeRegistered;
    return this.registered;
  }

  /** Registers, then heartbeats until stop(); problems are logged and retried, never thrown. */
  async start(): Promise<EdgeRegistered> {
    const registered = await this.register();
    const beat = async () => {
      if (this.stopped) return;
      try {
        await postJson(`${this.o.orchestratorUrl}/edges/heartbeat`, { edge: this.address }, this.auth());
      } catch (err) {
        const code = (err as { code?: string }).code;
        this.o.logger?.warn({ err: (err as Error).message, code }, 'edge heartbeat failed');
        if (code === 'EDGE_NOT_REGISTERED' || code === 'UNAUTHORIZED') await this.register().catch(() => {});
      }
      if (!this.stopped) this.timer = setTimeout(beat, this.registered!.heartbeatIntervalMs);
    };
    this.timer = setTimeout(beat, registered.heartbeatIntervalMs);
    return registered;
  }

  async submit(receipts: Receipt[], ticketParams?: TicketParams): Promise<ReceiptBatchAnswer> {
    const res = await postJson(`${this.o.orchestratorUrl}/edges/receipts`, { edge: this.address, receipts, ...(ticketParams ? { ticketParams } : {}) }, this.auth());
    return (await res.json()) as ReceiptBatchAnswer;
  }

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.registered?.token ?? ''}` };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
