import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { startRedisServer } from '../demo/localRedis.js';
import { createMetrics, registerStateMetrics } from './metrics.js';

// The state gauges the alerts read (deploy/prometheus/alerts.yaml), on a real redis-server of
// their own that the test stops.
const value = async (m: ReturnType<typeof createMetrics>, name: string) => (await m.registry.getSingleMetric(name)!.get()).values[0]?.value;

describe('state metrics', () => {
  it('segmint_redis_up follows the connection; the fleet gauges count online workers and their slots, and keep their last values while Redis is down', async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => {}); // expected once the server is stopped
    try {
      await redis.ping();
      const m = createMetrics();
      let reads = 0;
      const fleet = [
        { heartbeatFresh: true, excluded: false, inflight: 1, capabilities: { maxConcurrent: 2 } },
        { heartbeatFresh: true, excluded: false, inflight: 0, capabilities: { maxConcurrent: 4 } },
        { heartbeatFresh: false, excluded: false, inflight: 0, capabilities: { maxConcurrent: 8 } }, // heartbeat lapsed
        { heartbeatFresh: true, excluded: true, inflight: 0, capabilities: { maxConcurrent: 16 } }, // caught cheating
      ];
      registerStateMetrics(m.registry, { redis, workers: async () => (reads++, fleet), liveStreams: async () => redis.zcard('segmint-metrics-test:live:active') });
      await redis.zadd('segmint-metrics-test:live:active', 1, 'a', 2, 'b');
      expect(await value(m, 'segmint_redis_up')).toBe(1);
      expect(await value(m, 'segmint_workers_online')).toBe(2);
      expect(await value(m, 'segmint_active_streams')).toBe(2); // the deployment's live streams, from Redis
      expect(await value(m, 'segmint_worker_slots')).toBe(6);
      expect(await value(m, 'segmint_worker_slots_busy')).toBe(1);
      await new Promise((r) => setTimeout(r, 1100)); // past the 1 s the fleet is kept
      const before = reads;
      const text = await m.registry.metrics();
      expect(text).toMatch(/^segmint_workers_online 2$/m);
      expect(reads - before).toBe(1); // one registry read serves the three fleet gauges of a scrape

      server.child.kill('SIGKILL');
      await new Promise<void>((r) => server.child.once('exit', () => r()));
      for (let i = 0; i < 50 && redis.status === 'ready'; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await value(m, 'segmint_redis_up')).toBe(0);
      expect(await m.registry.metrics()).toMatch(/^segmint_redis_up 0$/m); // a scrape still answers
      expect(await value(m, 'segmint_workers_online')).toBe(2);
    } finally {
      redis.disconnect();
      server.child.kill('SIGKILL');
      await rm(server.dir, { recursive: true, force: true });
    }
  });

  it('starts the series the dashboard and alerts select at 0', async () => {
    const text = await createMetrics().registry.metrics();
    for (const series of ['segmint_auctions_total{outcome="gave-up"} 0', 'segmint_segments_skipped_total{reason="stuck"} 0', 'segmint_slashes_total{outcome="failed"} 0', 'segmint_ingest_bytes_total{source="rtmp"} 0', 'segmint_tickets_sent_total 0']) {
      expect(text).toContain(series);
    }
  });
});
