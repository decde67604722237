import { openDatabase, type Database } from '../orchestrator/src/db/database.js';
import { api, startTestOrchestrator, type TestOrchestrator } from './helpers.js';

// The integrator API as an app written for Livepeer Studio drives it: streams, keys, docs.
let db: Database;
let orch: TestOrchestrator;

beforeAll(async () => {
  db = await openDatabase();
  orch = await startTestOrchestrator(db);
}, 120_000);
afterAll(async () => {
  await orch?.stop();
  await db?.close();
});

const as = (key: string) => ({ ...orch, apiKey: key });
const low = [{ name: 'low', width: 320, height: 180, bitrate: 200_000 }];

describe('OpenAPI', () => {
  it('serves an OpenAPI 3 document generated from the route schemas, and the docs UI', async () => {
    const doc = (await (await fetch(`${orch.url}/api/docs/json`)).json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/stream', '/api/stream/{id}', '/api/stream/{id}/terminate', '/api/api-token', '/api/api-token/{id}']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const create = doc.paths['/api/stream'].post;
    expect(create.requestBody.content['application/json'].schema.properties.name).toMatchObject({ type: 'string' });
    expect(create.responses['400'].content['application/json'].schema.properties.error.properties.code).toMatchObject({ type: 'string' });
    expect(doc.paths['/api/stream/{id}'].patch.responses).toHaveProperty('404');
    expect(await (await fetch(`${orch.url}/api/openapi.json`)).json()).toEqual(doc);
    const ui = await fetch(`${orch.url}/api/docs`, { redirect: 'follow' });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});

describe('streams', () => {
  it('creates, gets, updates, lists, deletes a stream with Studio fields and counters', async () => {
    const created = await api(orch, 'POST', '/api/stream', { name: 'Main Stage', profiles: low, record: true });
    expect(created.status).toBe(201);
    const s = created.json;
    expect(s).toMatchObject({
      kind: 'stream', name: 'Main Stage', record: true, suspended: false, isActive: false, isHealthy: null,
      playbackPolicy: { type: 'public' }, sourceSegments: 0, transcodedSegments: 0, sourceBytes: 0, lastTerminatedAt: null,
    });
    expect((await api(orch, 'GET', `/api/stream/${s.id}`)).json).toEqual(s);

    const patched = await api(orch, 'PATCH', `/api/stream/${s.id}`, { name: 'Renamed', record: false, suspended: true, profiles: [...low, { name: 'mid', width: 640, height: 360, bitrate: 800_000 }] });
    expect(patched.status).toBe(204);
    const after = (await api(orch, 'GET', `/api/stream/${s.id}`)).json;
    expect(after).toMatchObject({ name: 'Renamed', record: false, suspended: true });
    expect(after.profiles.map((x: { name: string }) => x.name)).toEqual(['low', 'mid']);
    // a suspended stream's key is refused at ingest
    const push = await fetch(`${orch.url}/live/${s.streamKey}/0.ts`, { method: 'PUT', headers: { 'content-type': 'video/mp2t' }, body: new Uint8Array(188) });
    expect(push.status).toBe(403);

    expect((await api(orch, 'DELETE', `/api/stream/${s.id}/terminate`)).status).toBe(204);
    expect((await api(orch, 'GET', `/api/stream/${s.id}`)).json.lastTerminatedAt).toEqual(expect.any(Number));
    expect((await api(orch, 'DELETE', `/api/stream/${s.id}`)).status).toBe(204);
    expect((await api(orch, 'GET', `/api/stream/${s.id}`)).status).toBe(404);
    expect((await api(orch, 'DELETE', `/api/stream/${s.id}`)).json.error.code).toBe('STREAM_NOT_FOUND');
    expect((await api(orch, 'PATCH', `/api/stream/${s.id}`, { name: 'x' })).json.error.code).toBe('STREAM_NOT_FOUND');
  });

  it('lists newest first with filters and cursor pages (Link: rel="next"), and counts', async () => {
    const { json: key } = await api(orch, 'POST', '/api/api-token', { name: 'lister' });
    const mine = as(key.key);
    // a fresh key of the same owner sees the owner's streams: use a new owner for a clean list
    const { key: other } = await orch.apiKeys.create('list-owner');
    const owner = as((await orch.apiKeys.create({ name: 'list', ownerId: other.ownerId })).token);
    for (const name of ['alpha', 'beta', 'gamma', 'alphabet']) {
      expect((await api(owner, 'POST', '/api/stream', { name, profiles: low, record: name.startsWith('alpha') })).status).toBe(201);
    }
    const page1 = await fetch(`${orch.url}/api/stream?limit=3&streamsonly=1`, { headers: { authorization: `Bearer ${owner.apiKey}` } });
    const names1 = ((await page1.json()) as { name: string }[]).map((x) => x.name);
    expect(names1).toEqual(['alphabet', 'gamma', 'beta']);
    const link = page1.headers.get('link')!;
    expect(link).toMatch(/^<\/api\/stream\?limit=3&streamsonly=1&cursor=[A-Za-z0-9_-]+>; rel="next"$/);
    const next = await api(owner, 'GET', link.slice(1, link.indexOf('>')));
    expect(next.json.map((x: { name: string }) => x.name)).toEqual(['alpha']);

    const filters = encodeURIComponent(JSON.stringify([{ id: 'name', value: 'ALPHA' }, { id: 'record', value: true }]));
    const filtered = await fetch(`${orch.url}/api/stream?filters=${filters}&count=1`, { headers: { authorization: `Bearer ${owner.apiKey}` } });
    expect(((await filtered.json()) as { name: string }[]).map((x) => x.name)).toEqual(['alphabet', 'alpha']);
    expect(filtered.headers.get('x-total-count')).toBe('2');
    const idle = encodeURIComponent(JSON.stringify([{ id: 'isActive', value: 'true' }]));
    expect((await api(owner, 'GET', `/api/stream?filters=${idle}`)).json).toEqual([]);
    // the other owner's key sees none of these
    expect((await api(mine, 'GET', '/api/stream?limit=1000')).json.some((x: { name: string }) => x.name === 'gamma')).toBe(false);
  });

  it.each([
    ['limit 0', '?limit=0'],
    ['limit 1001', '?limit=1001'],
    ['limit not a number', '?limit=abc'],
    ['forged cursor', '?cursor=bm90LWEtY3Vyc29y'],
    ['cursor with bad characters', '?cursor=a%2Fb'],
    ['filters not JSON', '?filters=%5B'],
    ['unknown filter', `?filters=${encodeURIComponent('[{"id":"owner","value":"x"}]')}`],
    ['filter of the wrong type', `?filters=${encodeURIComponent('[{"id":"isActive","value":3}]')}`],
    ['unknown query parameter', '?order=createdAt-true'],
  ])('list with %s → 400 VALIDATION_FAILED', async (_what, query) => {
    const { status, json } = await api(orch, 'GET', `/api/stream${query}`);
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it.each([
    ['an empty body', {}],
    ['an unknown field', { colour: 'red' }],
    ['a wrong type', { record: 'yes' }],
    ['a bad playback policy', { playbackPolicy: { type: 'token' } }],
  ])('PATCH with %s → 400 VALIDATION_FAILED', async (_what, body) => {
    const { json: s } = await api(orch, 'POST', '/api/stream', { name: 'patch me', profiles: low });
    const { status, json } = await api(orch, 'PATCH', `/api/stream/${s.id}`, body);
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
});

describe('API keys', () => {
  it('creates a key shown once, lists it without its secret, revokes it at once', async () => {
    const created = await api(orch, 'POST', '/api/api-token', { name: 'ci' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'ci', key: expect.stringMatching(/^sm_/), access: { cors: { allowedOrigins: [] } } });
    const rows = await db.query<{ key_hash: string }>(`SELECT key_hash FROM api_keys WHERE id = $1`, [created.json.id]);
    expect(rows[0]!.key_hash).not.toContain(created.json.key);
    const ci = as(created.json.key);
    // the new key acts for the same owner
    const { json: s } = await api(orch, 'POST', '/api/stream', { name: 'shared', profiles: low });
    expect((await api(ci, 'GET', `/api/stream/${s.id}`)).status).toBe(200);

    const listed = (await api(orch, 'GET', '/api/api-token')).json as { id: string; key?: string }[];
    const mine = listed.find((k) => k.id === created.json.id)!;
    expect(mine).toBeDefined();
    expect(mine.key).toBeUndefined();
    expect(JSON.stringify(listed)).not.toContain(created.json.key);
    expect((await api(orch, 'GET', `/api/api-token/${created.json.id}`)).json.id).toBe(created.json.id);

    expect((await api(orch, 'DELETE', `/api/api-token/${created.json.id}`)).status).toBe(204);
    expect((await api(ci, 'GET', '/api/stream')).json.error.code).toBe('UNAUTHORIZED');
    expect((await api(orch, 'DELETE', `/api/api-token/${created.json.id}`)).json.error.code).toBe('API_KEY_NOT_FOUND');
  });

  it('a key restricted to CORS origins uploads from those origins only, and does nothing else', async () => {
    const { json } = await api(orch, 'POST', '/api/api-token', { name: 'browser', access: { cors: { allowedOrigins: ['https://app.example'] } } });
    const upload = (origin: string) =>
      fetch(`${orch.url}/api/asset/request-upload`, { method: 'POST', headers: { authorization: `Bearer ${json.key}`, origin, 'content-type': 'application/json' }, body: '{"name":"from the browser"}' });
    const ok = await upload('https://app.example');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const asset = ((await ok.json()) as any).asset;
    const poll = await fetch(`${orch.url}/api/asset/${asset.id}`, { headers: { authorization: `Bearer ${json.key}`, origin: 'https://app.example' } });
    expect(poll.status).toBe(200);
    await poll.arrayBuffer();
    const refused = await upload('https://evil.example');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.code).toBe('FORBIDDEN');
    for (const [method, path, body] of [['GET', '/api/stream'], ['POST', '/api/stream', { name: 'x' }], ['POST', '/api/api-token', { name: 'escalate' }], ['GET', '/api/webhook']] as const) {
      expect((await api(as(json.key), method, path, body)).json.error.code).toBe('FORBIDDEN');
    }
    // the browser's preflight
    const pre = await fetch(`${orch.url}/api/asset/request-upload`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('one owner never reads or changes another owner\'s objects', async () => {
    const { json: s } = await api(orch, 'POST', '/api/stream', { name: 'private', profiles: low });
    const { json: k } = await api(orch, 'POST', '/api/api-token', { name: 'mine' });
    const stranger = as((await orch.apiKeys.create('stranger')).token);
    for (const [method, path, body] of [
      ['GET', `/api/stream/${s.id}`],
      ['PATCH', `/api/stream/${s.id}`, { suspended: true }],
      ['DELETE', `/api/stream/${s.id}/terminate`],
      ['DELETE', `/api/stream/${s.id}`],
    ] as const) {
      const { status, json } = await api(stranger, method, path, body);
      expect({ status, code: json.error.code }).toEqual({ status: 404, code: 'STREAM_NOT_FOUND' });
    }
    expect((await api(stranger, 'GET', `/api/api-token/${k.id}`)).status).toBe(404);
    expect((await api(stranger, 'DELETE', `/api/api-token/${k.id}`)).status).toBe(404);
    expect((await api(stranger, 'GET', '/api/stream')).json).toEqual([]);
    expect((await api(orch, 'GET', `/api/stream/${s.id}`)).json).toMatchObject({ suspended: false, name: 'private' });
  });

  it.each([
    ['no name', {}],
    ['an unknown field', { name: 'x', scopes: ['all'] }],
    ['an origin that is not one', { name: 'x', access: { cors: { allowedOrigins: ['javascript:alert(1)'] } } }],
  ])('create with %s → 400 VALIDATION_FAILED', async (_what, body) => {
    const { status, json } = await api(orch, 'POST', '/api/api-token', body);
    expect({ status, code: json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a key used its requests for the minute; other keys go on', async () => {
    const limited = await startTestOrchestrator(db, { SEGMINT_API_RATE_LIMIT: '5' });
    try {
      // 5 per minute: the 6th is refused (up to 10 pass if the minute turns over mid-test)
      const statuses: number[] = [];
      while (statuses.length < 11 && !statuses.includes(429)) statuses.push((await api(limited, 'GET', '/api/stream')).status);
      expect(statuses.indexOf(429)).toBeGreaterThanOrEqual(5);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      const res = await fetch(`${limited.url}/api/stream`, { headers: { authorization: `Bearer ${limited.apiKey}` } });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(((await res.json()) as any).error.code).toBe('RATE_LIMITED');
      const other = { ...limited, apiKey: (await limited.apiKeys.create('other')).token };
      expect((await api(other, 'GET', '/api/stream')).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
