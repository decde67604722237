import type { RedisClient } from '../redis/redisClient.js';
import type { Logger } from 'pino';
import { formatEther } from 'viem';
import { TicketCodec, TicketSigner } from '@segmint/protocol';
import { CreditLedger } from './creditLedger.js';
import type { Metrics } from '../metrics/metrics.js';
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
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** The payment counters (orchestrator/src/metrics/metrics.ts). */
  metrics?: Pick<Metrics, 'ticketsSent' | 'evSentWei' | 'paymentsUnpaid'>;
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
    ...(o.metrics ? { metrics: { ticketsSent: o.metrics.ticketsSent, evSentWei: o.metrics.evSentWei, unpaid: o.metrics.paymentsUnpaid } } : {}),
  });
}
