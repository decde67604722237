import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkOutboundUrl, publicOnlyLookup, unchecked, UnsafeUrlError, type OutboundPolicy } from './outboundAddress.js';

export type OutboundRequestParameters = {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Redirects to follow (each target checked like the first URL); 0: answer the 3xx itself. */
  maxRedirects?: number;
  signal?: AbortSignal;
} & OutboundPolicy;

export type OutboundResponse = { status: number; headers: IncomingHttpHeaders; url: URL; body: IncomingMessage };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function once(url: URL, p: OutboundRequestParameters): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((done, fail) => {
    const req = send(url, {
      method: p.method ?? 'GET',
      headers: { ...p.headers, ...(p.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(p.body)) }) },
      signal: p.signal,
      // unchecked (private URLs allowed, or a trusted host): the system resolver as is
      ...(unchecked(url, p) ? {} : { lookup: publicOnlyLookup as never }),
    });
    req.once('response', done);
    req.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ERR_UNSAFE_URL' ? new UnsafeUrlError(err.message) : err));
    req.end(p.body);
  });
}

/**
 * An HTTP(S) request to a URL an integrator gave us, refusing (UnsafeUrlError) any host that is or
 * resolves to a non-public address unless `allowPrivate`, on the first request and on every
 * redirect. The connection uses the very addresses that were checked (no DNS rebinding). The
 * caller reads or destroys `body`.
 *
 * @example
 * const res = await outboundRequest('https://cdn.example.com/v.mp4', { allowPrivate: false, maxRedirects: 5 });
 */
export async function outboundRequest(raw: string | URL, p: OutboundRequestParameters): Promise<OutboundResponse> {
  let url = await checkOutboundUrl(String(raw), p);
  let method = p.method ?? 'GET';
  let body = p.body;
  for (let hop = 0; ; hop++) {
    const res = await once(url, { ...p, method, body });
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location || hop >= (p.maxRedirects ?? 0)) return { status: res.statusCode ?? 0, headers: res.headers, url, body: res };
    res.resume();
    url = await checkOutboundUrl(new URL(location, url).toString(), p);
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
    }
  }
}
