/**
 * `npm run bench:gas`: gas of the main operations, measured as `gasUsed` of real transactions on
 * a fresh anvil (so it includes the 21,000 base cost and calldata), with the contracts deployed by
 * deploySegmint. Winning tickets are redeemed by a relayer from one sender to one recipient whose
 * accounts already exist (the usual case: a worker redeeming from its orchestrator). Reported, not
 * asserted. Last line: `gas per ticket (batch 20): N`.
 */
import { createPublicClient, createWalletClient, http, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  buildCommitmentTree,
  commitmentTypedData,
  recipientRandHash,
  segmintTokenAbi,
  slashEvidence,
  stakingManagerAbi,
  ticketBrokerAbi,
  ticketTypedData,
  winProbability,
  type Ticket,
} from '@segmint/protocol';
import { ANVIL_KEYS, startAnvil } from './anvil.js';
import { deploySegmint } from './deploy.js';

const E18 = 10n ** 18n;
const [deployerKey, verifierKey, senderKey, workerKey, relayerKey] = ANVIL_KEYS;
const verifier = privateKeyToAccount(verifierKey);
const sender = privateKeyToAccount(senderKey);
const worker = privateKeyToAccount(workerKey);
const relayer = privateKeyToAccount(relayerKey);

const anvil = await startAnvil();
try {
  const pub = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient;
  const d = await deploySegmint({ rpcUrl: anvil.rpcUrl, deployerKey, verifier: verifier.address, fund: [{ address: worker.address, tokens: 10_000n * E18 }] });
  const chain = { id: d.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.rpcUrl] } } } as const;
  const wallet = (account: typeof sender) => createWalletClient({ account, chain, transport: http(anvil.rpcUrl) });
  const gasOf = async (hash: Promise<Hex>): Promise<bigint> => {
    const receipt = await pub.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== 'success') throw new Error(`reverted: ${receipt.transactionHash}`);
    return receipt.gasUsed;
  };
  const { StakingManager: staking, TicketBroker: broker, SegmintToken: token } = d.contracts;
  const rows: [string, bigint][] = [];

  // Staking
  const w = wallet(worker);
  await gasOf(w.writeContract({ address: token, abi: segmintTokenAbi, functionName: 'approve', args: [staking, 10_000n * E18] }));
  rows.push(['bond (first)', await gasOf(w.writeContract({ address: staking, abi: stakingManagerAbi, functionName: 'bond', args: [1_000n * E18] }))]);
  rows.push(['bond (top-up)', await gasOf(w.writeContract({ address: staking, abi: stakingManagerAbi, functionName: 'bond', args: [1_000n * E18] }))]);
  rows.push(['unbond', await gasOf(w.writeContract({ address: staking, abi: stakingManagerAbi, functionName: 'unbond', args: [100n * E18] }))]);
  const tree = buildCommitmentTree('stream.0.1', ['1080p', '720p', '480p', '360p'].map((name, i) => ({ name, sha256: String(i + 1).repeat(64) })));
  const signature = await worker.signTypedData(commitmentTypedData('stream.0.1', tree.root as Hex, d.chainId, staking));
  const evidence = slashEvidence({ tree, signature, rendition: '720p', correctSha256: 'f'.repeat(64) });
  rows.push(['slash (4-rendition commitment)', await gasOf(wallet(verifier).writeContract({ address: staking, abi: stakingManagerAbi, functionName: 'slash', args: [worker.address, evidence] }))]);

  // Tickets
  await gasOf(wallet(sender).writeContract({ address: broker, abi: ticketBrokerAbi, functionName: 'fundDepositAndReserve', args: [500n * E18, 100n * E18], value: 600n * E18 }));
  let nonce = 0n;
  const expiry = (await pub.getBlock()).timestamp + 86_400n;
  const issue = async () => {
    const rand = BigInt(`0x${'5'.repeat(60)}`) + ++nonce;
    const ticket: Ticket = {
      recipient: worker.address,
      sender: sender.address,
      faceValue: E18 / 100n,
      winProb: winProbability(1n, 1n),
      senderNonce: nonce,
      recipientRandHash: recipientRandHash(rand),
      expiry,
    };
    return { ticket, sig: await sender.signTypedData(ticketTypedData(ticket, d.chainId, broker)), rand };
  };
  const r = wallet(relayer);
  const one = await issue();
  rows.push(['redeem (single ticket)', await gasOf(r.writeContract({ address: broker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket', args: [one.ticket, one.sig, one.rand] }))]);
  const perTicket = new Map<number, bigint>();
  for (const n of [1, 10, 20, 50]) {
    const items = await Promise.all(Array.from({ length: n }, issue));
    const gas = await gasOf(
      r.writeContract({
        address: broker,
        abi: ticketBrokerAbi,
        functionName: 'batchRedeemWinningTickets',
        args: [items.map((i) => i.ticket), items.map((i) => i.sig), items.map((i) => i.rand)],
      }),
    );
    perTicket.set(n, gas / BigInt(n));
    rows.push([`batch of ${n}: total`, gas]);
    rows.push([`batch of ${n}: per ticket`, gas / BigInt(n)]);
  }

  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v.toLocaleString('en-US')} gas`);
  console.log(`gas per ticket (batch 20): ${perTicket.get(20)}`);
} finally {
  await anvil.stop();
}
