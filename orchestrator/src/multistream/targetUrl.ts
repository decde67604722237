import { publicAddressesOf, unchecked, UnsafeUrlError, type OutboundPolicy } from '../egress/outboundAddress.js';

/** A target URL we will not push to (bad scheme, or a non-public address). */
export class TargetUrlError extends Error {
  override name = 'TargetUrlError';
}

/** rtmp:// or rtmps:// with a host and a path (app/key); anything else is refused. */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetUrlError('not a URL');
  }
  if (url.protocol !== 'rtmp:' && url.protocol !== 'rtmps:') throw new TargetUrlError('multistream targets are rtmp:// or rtmps:// URLs');
  if (!url.hostname || url.pathname.split('/').filter(Boolean).length < 1) throw new TargetUrlError('an RTMP URL names a host and an app/stream key path');
  return url;
}

/**
 * What ffmpeg connects to: the URL with its host replaced by a checked public address (the check
 * and the connection use one DNS answer, so DNS rebinding gets nowhere), and the tcUrl the server
 * expects (with the original host name, as a platform's ingest may route on it). Unchecked under
 * the policy (tests, trusted hosts): the URL as it is.
 */
export async function pinTargetUrl(raw: string, policy: OutboundPolicy): Promise<{ connect: string; tcUrl: string | null }> {
  const url = parseTargetUrl(raw);
  if (unchecked(url, policy)) return { connect: url.toString(), tcUrl: null };
  let addresses;
  try {
    addresses = await publicAddressesOf(url.hostname);
  } catch (err) {
    throw new TargetUrlError(err instanceof UnsafeUrlError ? `${err.message}: targets must be public addresses` : `cannot resolve ${url.hostname}: ${(err as Error).message}`);
  }
  const { address, family } = addresses[0]!;
  const path = url.pathname.split('/');
  const tcUrl = `${url.protocol}//${url.host}${path.slice(0, -1).join('/')}`;
  const pinned = new URL(url.toString());
  pinned.hostname = family === 6 ? `[${address}]` : address;
  return { connect: pinned.toString(), tcUrl };
}

/** Checks a target URL when it is stored (scheme and address); every connect checks again. */
export async function checkTargetUrl(raw: string, policy: OutboundPolicy): Promise<URL> {
  const url = parseTargetUrl(raw);
  if (unchecked(url, policy)) return url;
  try {
    await publicAddressesOf(url.hostname);
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw new TargetUrlError(`${err.message}: targets must be public addresses`);
    // a name that does not resolve now may later: the connect re-checks
  }
  return url;
}
