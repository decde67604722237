import type { Chain } from 'viem';

/**
 * A viem chain for an EVM node known only by its id and RPC URL (anvil, a devnet, any L2 Segmint
 * is deployed on): what wallet clients need to sign for the right chain id.
 */
export const chainAt = (id: number, rpcUrl: string) =>
  ({ id, name: `chain-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } }) as const satisfies Chain;
