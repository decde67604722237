import { homedir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http, type Address } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { Logger } from 'pino';
import { winProbability } from '@segmint/protocol';
import { Redeemer, type RedeemerOptions } from './redeemer.js';
import { TicketReceiver, type TicketRejectedError } from './ticketReceiver.js';
import { TicketStore } from './ticketStore.js';
import { PaymentJournal } from './paymentJournal.js';

export const DEFAULT_PAYMENTS_DIR = join(homedir(), '.segmint', 'payments');

/** "N/D" → winProb (N/D of 2^256 − 1). */
export function parseWinProb(text: string): bigint {
  const m = /^\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/.exec(text);
  if (!m) throw new Error(`win probability must look like 1/1000 (got "${text}")`);
  return winProbability(BigInt(m[1]!), BigInt(m[2]!));
}

/** The ticket book of one worker address under `dir`. */
export const ticketBookPath = (dir: string, address: Address) => join(dir, `${address.toLowerCase()}.jsonl`);

/** The journal of results posted and not yet paid, next to the ticket book. */
export const paymentJournalPath = (dir: string, address: Address) => join(dir, `${address.toLowerCase()}.unpaid.jsonl`);

export type WorkerPayments = { store: TicketStore; journal: PaymentJournal; receiver: TicketReceiver; redeemer: Redeemer; chainId: number; close(): Promise<void> };

/** Opens the worker's ticket book, receiver and redeemer on the configured chain. */
export async function openWorkerPayments(o: {
  account: PrivateKeyAccount;
  rpcUrl: string;
  broker: Address;
  faceValue: bigint;
  winProb: bigint;
  validitySec: number;
  sender?: Address;
  maxGasPrice: bigint;
  dir?: string;
  logger?: Pick<Logger, 'info' | 'warn'>;
  onRefused?: (err: TicketRejectedError) => void;
  onRedeemRound?: RedeemerOptions['onRound'];
}): Promise<WorkerPayments> {
  const chainId = await createPublicClient({ transport: http(o.rpcUrl, { timeout: 10_000 }) }).getChainId();
  const store = await TicketStore.open(ticketBookPath(o.dir || DEFAULT_PAYMENTS_DIR, o.account.address));
  const journal = await PaymentJournal.open(paymentJournalPath(o.dir || DEFAULT_PAYMENTS_DIR, o.account.address));
  const receiver = new TicketReceiver({
    account: o.account, store, journal, rpcUrl: o.rpcUrl, chainId, broker: o.broker, faceValue: o.faceValue, winProb: o.winProb,
    validitySec: o.validitySec, ...(o.sender ? { sender: o.sender } : {}), ...(o.onRefused ? { onRefused: o.onRefused } : {}),
  });
  const redeemer = new Redeemer({ store, account: o.account, rpcUrl: o.rpcUrl, chainId, broker: o.broker, maxGasPrice: o.maxGasPrice, ...(o.logger ? { logger: o.logger } : {}), ...(o.onRedeemRound ? { onRound: o.onRedeemRound } : {}) });
  return {
    store, journal, receiver, redeemer, chainId,
    async close() {
      await redeemer.stop();
      await store.close();
      await journal.close();
    },
  };
}
