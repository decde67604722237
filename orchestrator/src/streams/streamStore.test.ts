import { randomUUID } from 'node:crypto';
import { DEFAULT_PROFILES } from '@segmint/protocol';
import { ApiKeyStore } from '../auth/apiKeys.js';
import { openDatabase, type Database } from '../db/database.js';
import { MIGRATIONS } from '../db/migrations.js';
import { StreamStore } from './streamStore.js';

// The same tests on the embedded PGlite and on a real PostgreSQL server (its own schema).
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `segmint_test_${randomUUID().slice(0, 8)}`;

describe.each([
  ['PGlite', () => openDatabase()],
  ['PostgreSQL', () => openDatabase({ url: POSTGRES_URL, schema })],
])('StreamStore on %s', (_kind, open) => {
  let db: Database;
  let streams: StreamStore;
  beforeAll(async () => {
    db = await open();
    streams = new StreamStore(db);
  }, 60_000);
  afterAll(async () => {
    if (db?.kind === 'postgres') await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db?.close();
  });

  it('creates a stream with Studio-style keys and reads it back by id, stream key and playback id', async () => {
    const s = await streams.create({ name: 'a', profiles: [...DEFAULT_PROFILES] });
    expect(s).toMatchObject({ name: 'a', isActive: false, record: false, suspended: false, lastSeen: null });
    expect(s.streamKey).toMatch(/^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/);
    expect(s.playbackId).toMatch(/^[0-9a-f]{16}$/);
    expect(await streams.get(s.id)).toEqual(s);
    expect(await streams.getByStreamKey(s.streamKey)).toEqual(s);
    expect(await streams.getByPlaybackId(s.playbackId)).toEqual(s);
    expect(await streams.get('not-a-uuid')).toBeNull();
    expect(await streams.get(randomUUID())).toBeNull();
  });

  it('pages newest first with a cursor', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) {
      made.push(await streams.create({ name: `p${i}`, profiles: [...DEFAULT_PROFILES] }));
      await new Promise((r) => setTimeout(r, 2));
    }
    const first = await streams.list({ limit: 2 });
    expect(first.map((s) => s.name)).toEqual(['p2', 'p1']);
    const next = await streams.list({ limit: 2, cursor: first[1]!.createdAt });
    expect(next[0]!.name).toBe('p0');
  });

  it('records activity', async () => {
    const s = await streams.create({ name: 'act', profiles: [...DEFAULT_PROFILES] });
    await streams.setActive(s.id, true, 1234);
    expect(await streams.get(s.id)).toMatchObject({ isActive: true, lastSeen: 1234 });
  });

  it('stores API keys hashed and verifies them', async () => {
    const keys = new ApiKeyStore(db, 0);
    const { token, key } = await keys.create('k');
    expect(token).toMatch(/^sm_/);
    const rows = await db.query<{ key_hash: string }>(`SELECT key_hash FROM api_keys WHERE id = $1`, [key.id]);
    expect(rows[0]!.key_hash).not.toContain(token);
    expect((await keys.verify(token))?.id).toBe(key.id);
    expect(await keys.verify(`${token}x`)).toBeNull();
    expect(await keys.verify('')).toBeNull();
  });

  it('records every applied migration', async () => {
    const versions = await db.query<{ version: number }>(`SELECT version FROM schema_migrations`);
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });
});

describe('migrations on PostgreSQL', () => {
  it('two orchestrators opening a new schema at once both succeed, each migration applied once', async () => {
    const fresh = `segmint_test_${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all([openDatabase({ url: POSTGRES_URL, schema: fresh }), openDatabase({ url: POSTGRES_URL, schema: fresh })]);
    try {
      const rows = await a.query<{ version: number }>(`SELECT version FROM schema_migrations`);
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await new StreamStore(b).list({ limit: 1 })).toEqual([]);
    } finally {
      await a.query(`DROP SCHEMA ${fresh} CASCADE`);
      await Promise.all([a.close(), b.close()]);
    }
  });
});
