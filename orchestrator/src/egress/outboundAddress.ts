import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Which addresses Segmint refuses to fetch from or post to on an integrator's behalf (asset import
 * URLs, webhook receivers): loopback, private (RFC 1918, ULA), carrier-grade NAT, link-local (which
 * holds the cloud metadata service, 169.254.169.254 and fd00:ec2::254), multicast, reserved and
 * documentation ranges, and the same ranges inside IPv4-mapped or NAT64 IPv6. Without this an API
 * key is a way into the orchestrator's own network (SSRF).
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net, bits, 'ipv6');

/** The IPv4 address an IPv6 one carries (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96), if any. */
function embeddedIpv4(ip: string): string | null {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True when `ip` (v4 or v6 literal) is an address the internet can route to us. */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  if (family === 4) return !blocked.check(ip, 'ipv4');
  const v4 = embeddedIpv4(ip);
  if (v4 !== null) return isPublicAddress(v4);
  return !blocked.check(ip, 'ipv6');
}

/** A URL we will not fetch: its host is, or resolves to, a non-public address. */
export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError';
}

const LOCAL_NAMES = /^(localhost|.*\.localhost|.*\.local|.*\.internal|metadata|metadata\.google\.internal)\.?$/i;

const resolveAll = (host: string) =>
  new Promise<LookupAddress[]>((done, fail) => dnsLookup(host, { all: true, verbatim: true }, (err, list) => (err ? fail(err) : done(list))));

/**
 * Every address `hostname` resolves to, after refusing (UnsafeUrlError) a local name or any
 * non-public address among them: one bad answer is enough, since a connection may use any.
 * DNS failures are thrown as they are (the caller decides whether that is fatal).
 */
export async function publicAddressesOf(hostname: string): Promise<LookupAddress[]> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  if (family !== 0) {
    if (!isPublicAddress(host)) throw new UnsafeUrlError(`${host} is not a public address`);
    return [{ address: host, family }];
  }
  if (LOCAL_NAMES.test(host)) throw new UnsafeUrlError(`${host} is a local name`);
  const list = await resolveAll(host);
  const bad = list.find((a) => !isPublicAddress(a.address));
  if (bad) throw new UnsafeUrlError(`${host} resolves to ${bad.address}, which is not a public address`);
  return list;
}

export type OutboundPolicy = {
  /** Anything goes (demo, tests: their receivers are on 127.0.0.1). */
  allowPrivate: boolean;
  /** Host names (lower case, no port) exempt from the check, e.g. a media server on the private network. */
  trustedHosts?: readonly string[];
};

/** Whether requests to `url` skip the address check under `policy`. */
export const unchecked = (url: URL, policy: OutboundPolicy) =>
  policy.allowPrivate || (policy.trustedHosts ?? []).includes(url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase());

/**
 * Checks a URL given to us by an integrator before we store it (webhook, asset import): http(s)
 * only, and, unless private URLs are allowed, a host that does not resolve to a non-public address.
 * A name that does not resolve now is accepted (DNS may be late); every request re-checks.
 */
export async function checkOutboundUrl(raw: string, policy: OutboundPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError('only http and https URLs are fetched');
  if (unchecked(url, policy)) return url;
  try {
    await publicAddressesOf(url.hostname);
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw err;
  }
  return url;
}

/**
 * A `lookup` for node:http(s) that connects only to public addresses: the check and the connection
 * use the same DNS answer, so a name that re-resolves to 127.0.0.1 between them (DNS rebinding)
 * gets nowhere.
 */
export function publicOnlyLookup(
  hostname: string,
  options: { all?: boolean },
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  publicAddressesOf(hostname).then(
    (list) => (options.all ? callback(null, list) : callback(null, list[0]!.address, list[0]!.family)),
    (err: Error) => callback(Object.assign(err, { code: err instanceof UnsafeUrlError ? 'ERR_UNSAFE_URL' : (err as NodeJS.ErrnoException).code }), options.all ? [] : '', 0),
  );
}
