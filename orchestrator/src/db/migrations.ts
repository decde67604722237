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
  {
    version: 2,
    name: 'integrator api: owners, stream counters, sessions, webhooks',
    up: [
      // An owner is the account a key acts for; keys created through the API share their creator's.
      `ALTER TABLE api_keys ADD COLUMN owner_id uuid`,
      `UPDATE api_keys SET owner_id = id WHERE owner_id IS NULL`,
      `ALTER TABLE api_keys ALTER COLUMN owner_id SET NOT NULL`,
      `ALTER TABLE api_keys ADD COLUMN cors_origins jsonb NOT NULL DEFAULT '[]'`,
      `CREATE INDEX api_keys_owner ON api_keys (owner_id, created_at DESC)`,
      `ALTER TABLE streams
        ADD COLUMN owner_id uuid,
        ADD COLUMN playback_policy jsonb NOT NULL DEFAULT '{"type":"public"}',
        ADD COLUMN source_segments bigint NOT NULL DEFAULT 0,
        ADD COLUMN transcoded_segments bigint NOT NULL DEFAULT 0,
        ADD COLUMN source_segments_duration double precision NOT NULL DEFAULT 0,
        ADD COLUMN transcoded_segments_duration double precision NOT NULL DEFAULT 0,
        ADD COLUMN source_bytes bigint NOT NULL DEFAULT 0,
        ADD COLUMN transcoded_bytes bigint NOT NULL DEFAULT 0,
        ADD COLUMN last_terminated_at bigint`,
      `CREATE INDEX streams_owner ON streams (owner_id, created_at DESC, id)`,
      `CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        stream_id uuid NOT NULL,
        owner_id uuid,
        session_number integer NOT NULL,
        name text NOT NULL,
        record boolean NOT NULL,
        profiles jsonb NOT NULL,
        created_at bigint NOT NULL,
        last_seen bigint NOT NULL,
        ended_at bigint,
        source_segments bigint NOT NULL DEFAULT 0,
        transcoded_segments bigint NOT NULL DEFAULT 0,
        source_segments_duration double precision NOT NULL DEFAULT 0,
        transcoded_segments_duration double precision NOT NULL DEFAULT 0,
        source_bytes bigint NOT NULL DEFAULT 0,
        transcoded_bytes bigint NOT NULL DEFAULT 0,
        UNIQUE (stream_id, session_number)
      )`,
      `CREATE INDEX sessions_stream ON sessions (stream_id, created_at DESC)`,
      `CREATE INDEX sessions_owner ON sessions (owner_id, created_at DESC, id)`,
      `CREATE TABLE webhooks (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        url text NOT NULL,
        events jsonb NOT NULL,
        shared_secret text NOT NULL,
        stream_id uuid,
        created_at bigint NOT NULL,
        last_triggered_at bigint,
        last_failure jsonb,
        deleted_at bigint
      )`,
      `CREATE INDEX webhooks_owner ON webhooks (owner_id, created_at DESC, id)`,
      `CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        webhook_id uuid NOT NULL,
        event_id uuid NOT NULL,
        event text NOT NULL,
        attempt integer NOT NULL,
        created_at bigint NOT NULL,
        duration_ms integer NOT NULL,
        url text NOT NULL,
        request_body text NOT NULL,
        status_code integer,
        success boolean NOT NULL,
        error text,
        response_body text
      )`,
      `CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at DESC, id)`,
    ],
  },
  {
    version: 3,
    name: 'usage per stream and hour; the key a stream was created with',
    up: [
      `ALTER TABLE streams ADD COLUMN created_by_key uuid`,
      `CREATE TABLE usage_hourly (
        stream_id uuid NOT NULL,
        owner_id uuid,
        api_key_id uuid,
        hour bigint NOT NULL,
        segments bigint NOT NULL DEFAULT 0,
        source_seconds double precision NOT NULL DEFAULT 0,
        transcoded_seconds double precision NOT NULL DEFAULT 0,
        pixels bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (stream_id, hour)
      )`,
      `CREATE INDEX usage_hourly_owner ON usage_hourly (owner_id, hour)`,
    ],
  },
  {
    version: 4,
    name: 'playback signing keys',
    up: [
      `CREATE TABLE signing_keys (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        public_key text NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at bigint NOT NULL,
        deleted_at bigint
      )`,
      `CREATE INDEX signing_keys_owner ON signing_keys (owner_id, created_at DESC, id)`,
      `CREATE INDEX signing_keys_public_key ON signing_keys (owner_id, public_key)`,
    ],
  },
  {
    version: 5,
    name: 'assets (VOD)',
    up: [
      `CREATE TABLE assets (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        playback_id text NOT NULL UNIQUE,
        profiles jsonb NOT NULL,
        source jsonb NOT NULL,
        phase text NOT NULL,
        progress double precision NOT NULL DEFAULT 0,
        error_message text,
        upload_token_hash text UNIQUE,
        size_bytes bigint,
        duration_sec double precision,
        stream_id uuid,
        segments jsonb NOT NULL DEFAULT '[]',
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        deleted_at bigint
      )`,
      `CREATE INDEX assets_owner ON assets (owner_id, created_at DESC, id)`,
    ],
  },
  {
    version: 6,
    name: 'session recordings',
    up: [`ALTER TABLE sessions ADD COLUMN recording_segments jsonb NOT NULL DEFAULT '[]'`],
  },
  {
    version: 7,
    name: 'per-stream max price',
    // wei per pixel as a decimal string (money never passes through a float); null: orchestrator default
    up: [`ALTER TABLE streams ADD COLUMN max_price_per_pixel text`],
  },
  {
    version: 8,
    name: 'audit trail of published segments',
    // stream_id is text, not a foreign key: evidence must outlive a deleted stream until it expires
    up: [
      `CREATE TABLE audit_records (
        stream_id text NOT NULL,
        session integer NOT NULL,
        seq integer NOT NULL,
        worker text NOT NULL,
        record jsonb NOT NULL,
        published_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (stream_id, session, seq)
      )`,
      `CREATE INDEX audit_records_expiry ON audit_records (expires_at)`,
      // a worker proven to cheat: everything it published that is still served gets redone
      `CREATE INDEX audit_records_worker ON audit_records (worker, published_at DESC)`,
    ],
  },
  {
    version: 9,
    name: 'index for the sweep of assets left processing',
    // the sweep runs every few seconds: it must not scan every asset ever made
    up: [`CREATE INDEX assets_processing ON assets (updated_at) WHERE phase = 'processing' AND deleted_at IS NULL`],
  },
  {
    version: 10,
    name: 'outbox entries applied',
    // the live-state outbox is drained at least once: a key here makes each entry's effect count once
    up: [
      `CREATE TABLE outbox_applied (key text PRIMARY KEY, applied_at bigint NOT NULL)`,
      `CREATE INDEX outbox_applied_age ON outbox_applied (applied_at)`,
    ],
  },
  {
    version: 11,
    name: 'audit trail of skipped segments',
    // a skipped seq is a gap in every playlist: why it happened is kept as long as published ones
    up: [
      `CREATE TABLE segment_skips (
        stream_id text NOT NULL,
        session integer NOT NULL,
        seq integer NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL,
        skipped_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (stream_id, session, seq)
      )`,
      `CREATE INDEX segment_skips_expiry ON segment_skips (expires_at)`,
    ],
  },
  {
    version: 12,
    name: 'multistream targets',
    // a target's URL holds the platform's stream key: never shown by the API once stored
    up: [
      `CREATE TABLE multistream_targets (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        url text NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at bigint NOT NULL,
        deleted_at bigint
      )`,
      `CREATE INDEX multistream_targets_owner ON multistream_targets (owner_id, created_at DESC, id)`,
      `ALTER TABLE streams ADD COLUMN multistream jsonb NOT NULL DEFAULT '{"targets":[]}'`,
    ],
  },
  {
    version: 13,
    name: 'playback views',
    // one row per view (a viewer's run of playback requests with no gap over 30 min); playtime grows as it plays
    up: [
      `CREATE TABLE playback_views (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        playback_id text NOT NULL,
        stream_id uuid,
        asset_id uuid,
        viewer_id text NOT NULL,
        browser text NOT NULL,
        os text NOT NULL,
        device_type text NOT NULL,
        started_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        playtime_ms bigint NOT NULL DEFAULT 0
      )`,
      `CREATE INDEX playback_views_owner ON playback_views (owner_id, started_at)`,
      `CREATE INDEX playback_views_playback ON playback_views (playback_id, started_at)`,
    ],
  },
  {
    version: 14,
    name: 'stream pull',
    // where a pull stream ingests from (Studio's `pull`: source URL and request headers)
    up: [`ALTER TABLE streams ADD COLUMN pull jsonb`],
  },
  {
    version: 15,
    name: 'peer-to-peer delivery per stream',
    up: [`ALTER TABLE streams ADD COLUMN p2p boolean NOT NULL DEFAULT true`],
  },
];
