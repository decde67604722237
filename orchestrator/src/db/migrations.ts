/**
 * Schema migrations, applied in order and never edited once landed: add a new one instead.
 * Times are unix milliseconds (bigint), ids are UUIDs.
 */
export type Migration = { version: number; name: string; up: string[] };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'streams and api keys',
    up: [
      `CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_at bigint NOT NULL,
        last_used_at bigint,
        revoked_at bigint
      )`,
      `CREATE TABLE streams (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        stream_key text NOT NULL UNIQUE,
        playback_id text NOT NULL UNIQUE,
        profiles jsonb NOT NULL,
        record boolean NOT NULL DEFAULT false,
        suspended boolean NOT NULL DEFAULT false,
        is_active boolean NOT NULL DEFAULT false,
        last_seen bigint,
        created_at bigint NOT NULL,
        deleted_at bigint
      )`,
      `CREATE INDEX streams_created_at ON streams (created_at DESC)`,
    ],
  },
];
