import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { formatEther } from 'viem';
import { TicketCodec, TicketSigner } from '@segmint/protocol';
import { CreditLedger } from './creditLedger.js';
import type { PaymentConfig } from './paymentsConfig.js';
import { SenderFunds } from './senderFunds.js';
import { TicketSender } from './ticketSender.js';

/**
 * The ticket sender when payments are configured (chain RPC, TicketBroker, sender key), else null:
 * results are then accepted and nobody is paid. Checks the chain id and funds the broker up to the
 * targets before the orchestrator takes results.
 */
export async function startPayments(o: {
  config: PaymentConfig;
  chainRpcUrl: string | undefined;
  chainId: number;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Prometheus registry for the payment counters. */
  registry?: Registry;
}): Promise<TicketSender | null> {
  const { config } = o;
  if (!o.chainRpcUrl || !config.ticketBroker || !config.senderKey) {
    if (config.ticketBroker || config.senderKey) o.logger.warn('payments need CHAIN_RPC_URL, SEGMINT_TICKET_BROKER and SENDER_PRIVATE_KEY: results will not be paid');
    return null;
  }
  const funds = new SenderFunds({ rpcUrl: o.chainRpcUrl, chainId: o.chainId, broker: config.ticketBroker, key: config.senderKey, deposit: config.senderDeposit, reserve: config.senderReserve });
  const chainId = await funds.chainId().catch((err: Error) => {
    throw new Error(`cannot reach CHAIN_RPC_URL ${o.chainRpcUrl}: ${err.message}`);
  });
  if (chainId !== o.chainId) throw new Error(`CHAIN_RPC_URL is chain ${chainId} but SEGMINT_CHAIN_ID is ${o.chainId}: set SEGMINT_CHAIN_ID=${chainId}`);
  // A sender that cannot fund the broker still starts: it then pays nothing it cannot cover.
  const added = await funds.topUp().catch((err: Error) => {
    o.logger.error({ sender: funds.address, err: err.message.split('\n')[0] }, 'could not fund the TicketBroker: tickets it cannot cover will not be sent');
    return { deposit: 0n, reserve: 0n };
  });
  const now = await funds.funds(true);
  o.logger.info(
    { sender: funds.address, broker: config.ticketBroker, deposit: formatEther(now.deposit), reserve: formatEther(now.reserve), addedDeposit: formatEther(added.deposit), addedReserve: formatEther(added.reserve) },
    'ticket sender ready',
  );
  return new TicketSender({
    ledger: new CreditLedger(o.redis, o.prefix),
    funds,
    signer: new TicketSigner(config.senderKey, new TicketCodec(o.chainId, config.ticketBroker)),
    maxFaceValue: config.maxFaceValue,
    minTicketValiditySec: config.minTicketValiditySec,
    maxTicketsPerResult: config.maxTicketsPerResult,
    logger: o.logger,
    ...(o.registry
      ? {
          metrics: {
            ticketsSent: new Counter({ name: 'segmint_tickets_sent_total', help: 'Tickets sent to workers for accepted results', registers: [o.registry] }),
            evSentWei: new Counter({ name: 'segmint_ticket_ev_sent_wei_total', help: 'Expected value of the tickets sent, wei (float: for graphs, not accounting)', registers: [o.registry] }),
            unpaid: new Counter({ name: 'segmint_payments_unpaid_total', help: 'Accepted results paid no tickets because the sender could not cover one (owed amount kept as credit)', registers: [o.registry] }),
          },
        }
      : {}),
  });
}
