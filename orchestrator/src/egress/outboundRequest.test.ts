import { createServer, type Server } from 'node:http';
import { checkOutboundUrl, isPublicAddress, UnsafeUrlError } from './outboundAddress.js';
import { outboundRequest } from './outboundRequest.js';

// The SSRF guard with real sockets and the system resolver (localhost from /etc/hosts).
describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1',
    '::ffff:169.254.169.254', '64:ff9b::a00:1', 'ff02::1', 'not an ip',
  ])('refuses %s', (ip) => expect(isPublicAddress(ip)).toBe(false));
  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])('accepts %s', (ip) =>
    expect(isPublicAddress(ip)).toBe(true));
});

describe('checkOutboundUrl', () => {
  const strict = { allowPrivate: false };
  it.each([
    'http://127.0.0.1:8080/hook', 'http://localhost/x', 'http://LOCALHOST./x', 'http://app.localhost/x', 'http://[::1]/x', 'http://[::ffff:10.0.0.1]/x',
    'http://169.254.169.254/latest/meta-data/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://0x7f000001/', 'http://2130706433/', 'http://0177.0.0.1/',
    'http://10.0.0.5/', 'https://192.168.0.1/',
  ])('refuses %s', async (url) => {
    await expect(checkOutboundUrl(url, strict)).rejects.toBeInstanceOf(UnsafeUrlError);
  });
  it('refuses other schemes, and accepts public addresses, private ones when allowed, and trusted hosts', async () => {
    await expect(checkOutboundUrl('file:///etc/passwd', { allowPrivate: true })).rejects.toBeInstanceOf(UnsafeUrlError);
    await expect(checkOutboundUrl('gopher://127.0.0.1/', { allowPrivate: true })).rejects.toBeInstanceOf(UnsafeUrlError);
    expect((await checkOutboundUrl('https://8.8.8.8/hook', strict)).host).toBe('8.8.8.8');
    expect((await checkOutboundUrl('http://127.0.0.1:9/x', { allowPrivate: true })).port).toBe('9');
    expect((await checkOutboundUrl('http://localhost:9/x', { allowPrivate: false, trustedHosts: ['localhost'] })).hostname).toBe('localhost');
  });
});

describe('outboundRequest', () => {
  let server: Server;
  let base: string;
  let port: number;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url!);
      if (req.url === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/to-localhost') return void res.writeHead(301, { location: `http://localhost:${port}/file` }).end();
      if (req.url === '/to-file') return void res.writeHead(307, { location: '/file' }).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('the file');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  const read = async (body: AsyncIterable<Buffer>) => {
    let s = '';
    for await (const c of body) s += c;
    return s;
  };

  it('never connects to a private address unless allowed', async () => {
    const before = hits.length;
    await expect(outboundRequest(`${base}/file`, { allowPrivate: false })).rejects.toBeInstanceOf(UnsafeUrlError);
    await expect(outboundRequest(`http://localhost:${port}/file`, { allowPrivate: false })).rejects.toBeInstanceOf(UnsafeUrlError);
    expect(hits.length).toBe(before);
    const res = await outboundRequest(`${base}/file`, { allowPrivate: true });
    expect([res.status, await read(res.body)]).toEqual([200, 'the file']);
  });

  it('checks every redirect target (a trusted host may not redirect into the private network)', async () => {
    const trusted = { allowPrivate: false, trustedHosts: ['127.0.0.1'], maxRedirects: 5 };
    const ok = await outboundRequest(`${base}/to-file`, trusted);
    expect([ok.status, ok.url.pathname, await read(ok.body)]).toEqual([200, '/file', 'the file']);
    await expect(outboundRequest(`${base}/to-metadata`, trusted)).rejects.toThrow(/169\.254\.169\.254 is not a public address/);
    await expect(outboundRequest(`${base}/to-localhost`, trusted)).rejects.toThrow(/localhost is a local name/);
    // not following: the 3xx is the answer
    const manual = await outboundRequest(`${base}/to-metadata`, { ...trusted, maxRedirects: 0 });
    expect(manual.status).toBe(302);
    manual.body.resume();
  });
});
