/**
 * The off-chain codec in protocol/ against the real contracts on a real anvil: tickets and
 * commitments signed with viem must redeem and slash, so both sides agree byte for byte.
 */
import {
  createPublicClient,
  createWalletClient,
  http,
  BaseError,
  parseEventLogs,
  ContractFunctionRevertedError,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  buildCommitmentTree,
  commitmentDigest,
  commitmentTypedData,
  isWinningTicket,
  recipientRandHash,
  segmintTokenAbi,
  slashEvidence,
  stakingManagerAbi,
  ticketBrokerAbi,
  ticketHash,
  ticketTypedData,
  winProbability,
  type Ticket,
} from '@segmint/protocol';
import { ANVIL_KEYS, startAnvil, type Anvil } from '../script/anvil.js';
import { deploySegmint, type Deployment } from '../script/deploy.js';

const E18 = 10n ** 18n;
const deployer = privateKeyToAccount(ANVIL_KEYS[0]);
const verifier = privateKeyToAccount(ANVIL_KEYS[1]);
const sender = privateKeyToAccount(ANVIL_KEYS[2]);
const worker = privateKeyToAccount(ANVIL_KEYS[3]);
const relayer = privateKeyToAccount(ANVIL_KEYS[4]);

let anvil: Anvil;
let d: Deployment;
let pub: PublicClient;
let broker: Address;
let staking: Address;

const walletOf = (account: typeof deployer) =>
  createWalletClient({
    account,
    chain: { id: d.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.rpcUrl] } } },
    transport: http(anvil.rpcUrl),
  });

async function mined(hash: Hex) {
  const receipt = await pub.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return receipt;
}

/** The custom error name a simulated call reverts with. */
async function revertName(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (err) {
    const reverted = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName;
    throw err;
  }
  return undefined;
}

let nonce = 0n;
async function newTicket(faceValue: bigint, rand: bigint): Promise<{ ticket: Ticket; sig: Hex }> {
  const block = await pub.getBlock();
  const ticket: Ticket = {
    recipient: worker.address,
    sender: sender.address,
    faceValue,
    winProb: winProbability(1n, 1n),
    senderNonce: ++nonce,
    recipientRandHash: recipientRandHash(rand),
    expiry: block.timestamp + 3600n,
  };
  const sig = await sender.signTypedData(ticketTypedData(ticket, d.chainId, broker));
  return { ticket, sig };
}

beforeAll(async () => {
  anvil = await startAnvil();
  pub = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient;
  d = await deploySegmint({
    rpcUrl: anvil.rpcUrl,
    deployerKey: ANVIL_KEYS[0],
    verifier: verifier.address,
    fund: [{ address: worker.address, tokens: 1_000n * E18 }],
  });
  broker = d.contracts.TicketBroker;
  staking = d.contracts.StakingManager;
  await mined(await walletOf(sender).writeContract({ address: broker, abi: ticketBrokerAbi, functionName: 'fundDeposit', value: 10n * E18 }));
});

afterAll(async () => {
  await anvil?.stop();
});

describe('ticket codec on a real TicketBroker', () => {
  it('hashes a ticket exactly as the contract does', async () => {
    const { ticket } = await newTicket(E18, 7n);
    const onChain = await pub.readContract({ address: broker, abi: ticketBrokerAbi, functionName: 'ticketHash', args: [ticket] });
    expect(onChain).toBe(ticketHash(ticket, d.chainId, broker));
  });

  it('applies the same win rule as the contract', async () => {
    const half = winProbability(1n, 2n);
    let wins = 0;
    for (let rand = 0n; rand < 16n; rand++) {
      const { sig } = await newTicket(1n, rand);
      const onChain = await pub.readContract({ address: broker, abi: ticketBrokerAbi, functionName: 'isWinningTicket', args: [sig, rand, half] });
      expect(onChain).toBe(isWinningTicket(sig, rand, half));
      if (onChain) wins++;
    }
    expect(wins).toBeGreaterThan(0);
    expect(wins).toBeLessThan(16);
  });

  it('redeems a ticket signed with viem and pays the recipient its face value', async () => {
    const rand = 123456789n;
    const { ticket, sig } = await newTicket(E18 / 4n, rand);
    const before = await pub.getBalance({ address: worker.address });
    // A relayer submits it, so the recipient's balance moves by exactly the face value.
    await mined(await walletOf(relayer).writeContract({ address: broker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket', args: [ticket, sig, rand] }));
    expect(await pub.getBalance({ address: worker.address })).toBe(before + E18 / 4n);
    expect(await pub.readContract({ address: broker, abi: ticketBrokerAbi, functionName: 'usedTickets', args: [ticketHash(ticket, d.chainId, broker)] })).toBe(true);

    const replay = pub.simulateContract({ account: relayer, address: broker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket', args: [ticket, sig, rand] });
    expect(await revertName(replay)).toBe('TicketAlreadyUsed');
  });

  it('batch-redeems tickets and skips the one with a wrong recipient secret', async () => {
    const items = await Promise.all([1n, 2n, 3n].map(async (r) => ({ ...(await newTicket(E18 / 10n, r)), rand: r })));
    const rands = items.map((i) => i.rand);
    rands[1] = 999n;
    const before = await pub.getBalance({ address: worker.address });
    const receipt = await mined(
      await walletOf(relayer).writeContract({
        address: broker,
        abi: ticketBrokerAbi,
        functionName: 'batchRedeemWinningTickets',
        args: [items.map((i) => i.ticket), items.map((i) => i.sig), rands],
      }),
    );
    expect(await pub.getBalance({ address: worker.address })).toBe(before + (2n * E18) / 10n);
    const events = parseEventLogs({ abi: ticketBrokerAbi, logs: receipt.logs });
    expect(events.filter((e) => e.eventName === 'WinningTicketRedeemed')).toHaveLength(2);
    const skipped = events.filter((e) => e.eventName === 'TicketSkipped');
    expect(skipped.map((e) => e.args)).toEqual([
      { ticketHash: ticketHash(items[1]!.ticket, d.chainId, broker), recipient: worker.address, reason: expect.stringMatching(/^0x/) },
    ]);
  });

  it('refuses a ticket signed by someone other than its sender', async () => {
    const rand = 5n;
    const { ticket } = await newTicket(1n, rand);
    const forged = await relayer.signTypedData(ticketTypedData(ticket, d.chainId, broker));
    const call = pub.simulateContract({ account: relayer, address: broker, abi: ticketBrokerAbi, functionName: 'redeemWinningTicket', args: [ticket, forged, rand] });
    expect(await revertName(call)).toBe('InvalidSignature');
  });
});

describe('commitment codec on a real StakingManager', () => {
  const jobId = 'stream-abc.0.17';
  const renditions = [
    { name: '720p', sha256: 'a'.repeat(64) },
    { name: '480p', sha256: 'b'.repeat(64) },
    { name: '360p', sha256: 'c'.repeat(64) },
  ];

  beforeAll(async () => {
    const w = walletOf(worker);
    await mined(await w.writeContract({ address: d.contracts.SegmintToken, abi: segmintTokenAbi, functionName: 'approve', args: [staking, 1_000n * E18] }));
    await mined(await w.writeContract({ address: staking, abi: stakingManagerAbi, functionName: 'bond', args: [1_000n * E18] }));
  });

  it('computes the commitment digest exactly as the contract does', async () => {
    const tree = buildCommitmentTree(jobId, renditions);
    const root = tree.root as Hex;
    const onChain = await pub.readContract({ address: staking, abi: stakingManagerAbi, functionName: 'commitmentDigest', args: [jobId, root] });
    expect(onChain).toBe(commitmentDigest(jobId, root, d.chainId, staking));
  });

  it('slashes a worker with a commitment and Merkle proof made by viem and @openzeppelin/merkle-tree', async () => {
    const tree = buildCommitmentTree(jobId, renditions);
    const signature = await worker.signTypedData(commitmentTypedData(jobId, tree.root as Hex, d.chainId, staking));
    const evidence = slashEvidence({ tree, signature, rendition: '480p', correctSha256: 'd'.repeat(64) });

    await mined(await walletOf(verifier).writeContract({ address: staking, abi: stakingManagerAbi, functionName: 'slash', args: [worker.address, evidence] }));

    const stake = await pub.readContract({ address: staking, abi: stakingManagerAbi, functionName: 'getStake', args: [worker.address] });
    expect(stake.bonded).toBe(900n * E18); // 10 % slashed
    expect(await pub.readContract({ address: staking, abi: stakingManagerAbi, functionName: 'isJailed', args: [worker.address] })).toBe(true);
    expect(await pub.readContract({ address: d.contracts.SegmintToken, abi: segmintTokenAbi, functionName: 'balanceOf', args: [verifier.address] })).toBe(50n * E18);

    const again = pub.simulateContract({ account: verifier, address: staking, abi: stakingManagerAbi, functionName: 'slash', args: [worker.address, evidence] });
    expect(await revertName(again)).toBe('AlreadySlashed');
  });

  it('rejects evidence whose leaf is not in the signed commitment', async () => {
    const tree = buildCommitmentTree('another-job', renditions);
    const signature = await worker.signTypedData(commitmentTypedData('another-job', tree.root as Hex, d.chainId, staking));
    const evidence = { ...slashEvidence({ tree, signature, rendition: '720p', correctSha256: 'e'.repeat(64) }), committedHash: `0x${'f'.repeat(64)}` as Hex };
    const call = pub.simulateContract({ account: verifier, address: staking, abi: stakingManagerAbi, functionName: 'slash', args: [worker.address, evidence] });
    expect(await revertName(call)).toBe('InvalidMerkleProof');
  });
});
