import aws4 from 'aws4';
import type { OutboundPolicy } from '../egress/outboundAddress.js';
import { outboundRequest } from '../egress/outboundRequest.js';

/** An S3-compatible bucket an integrator gave us, with its keys (path-style addressing). */
export type S3Bucket = { endpoint: string; bucket: string; credentials: { accessKeyId: string; secretAccessKey: string } };

const objectUrl = (b: S3Bucket, key: string) => new URL(`${b.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(b.bucket)}/${key.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`);

/** A GET URL of an object, signed for `expiresSec` (an input read like any URL import). */
export function presignedGet(b: S3Bucket, key: string, expiresSec = 3600): URL {
  const url = objectUrl(b, key);
  const signed = aws4.sign(
    { host: url.host, path: `${url.pathname}?X-Amz-Expires=${expiresSec}`, method: 'GET', service: 's3', region: 'us-east-1', signQuery: true },
    b.credentials,
  );
  return new URL(`${url.protocol}//${url.host}${signed.path}`);
}

/** PUTs one object, signed (SigV4), through the outbound guard; throws unless the store says 2xx. */
export async function putObject(b: S3Bucket, key: string, body: Buffer, contentType: string, outbound: OutboundPolicy, signal?: AbortSignal): Promise<void> {
  const url = objectUrl(b, key);
  const signed = aws4.sign(
    { host: url.host, path: url.pathname, method: 'PUT', service: 's3', region: 'us-east-1', body, headers: { 'content-type': contentType, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    b.credentials,
  );
  const res = await outboundRequest(url, { ...outbound, method: 'PUT', body, headers: signed.headers as Record<string, string>, maxRedirects: 0, signal: signal ?? AbortSignal.timeout(120_000) });
  let text = '';
  for await (const c of res.body as AsyncIterable<Buffer>) if (text.length < 2000) text += c.toString();
  if (res.status < 200 || res.status >= 300) throw new Error(`storing ${key} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
}
