import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import type { RedisClient } from '../redis/redisClient.js';
import { ApiError } from '@segmint/protocol';
import { UnsafeUrlError, type OutboundPolicy } from '../egress/outboundAddress.js';
import { outboundRequest } from '../egress/outboundRequest.js';
import type { Pipeline } from '../pipeline.js';
import { assetPrefix, assetSourceKey, processAsset, type AssetOutcome } from './assetProcessor.js';
import type { Asset, AssetStore } from './assetStore.js';
import { transcodeInputUrl } from '../transcode/deliverOutputs.js';

export type AssetRunnerParameters = {
  redis: RedisClient;
  prefix: string;
  /** Uploads and downloads arrive in DATA_DIR/asset-staging, then go to storage (assetSourceKey) until their asset is ready or failed. */
  dataDir: string;
  outbound: OutboundPolicy;
  maxAssetBytes: number;
  /** A final outcome (ready or failed): webhooks. */
  finished(o: AssetOutcome & { phase: 'ready' | 'failed' }): void;
  /** How long a lease lives without renewal (ms); renewed every third of it. */
  leaseMs?: number;
  /** Cuts a clip asset's source file to `dest` (from the recorded session its source names). */
  cutClip?(asset: Asset, dest: string, signal?: AbortSignal): Promise<void>;
};

/**
 * Runs assets to ready or failed, durably: the uploaded or downloaded file is kept in segment
 * storage (shared by every orchestrator on an S3 store) until the asset is done, and an asset being worked on holds a lease in Redis (renewed while its
 * orchestrator lives). An orchestrator that stops (cleanly or not) leaves its assets `processing`
 * with no lease; the next one to sweep (at start, then every lease period) takes them over: it
 * processes again from the kept file, downloads an import again, or fails a direct upload whose
 * bytes never fully arrived ("upload again"). Nothing stays `processing` without someone on it.
 */
export class AssetRunner {
  private readonly id = randomUUID();
  private readonly leaseMs: number;
  private readonly held = new Map<string, AbortController>();
  private readonly running = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly p: Pipeline,
    private readonly store: AssetStore,
    private readonly o: AssetRunnerParameters,
  ) {
    this.leaseMs = o.leaseMs ?? 30_000;
  }

  private leaseKey = (assetId: string) => `${this.o.prefix}:asset:lease:${assetId}`;
  /** Where a file is received before it goes to storage (a partial one never reaches storage). */
  private stagingPath = (assetId: string) => join(this.o.dataDir, 'asset-staging', `${assetId}.${randomUUID().slice(0, 8)}`);

  /** Takes the lease on an asset for this orchestrator; false when another holds it. */
  async lease(assetId: string): Promise<boolean> {
    if (this.closed) return false;
    const ok = await this.o.redis.set(this.leaseKey(assetId), this.id, 'PX', this.leaseMs, 'NX');
    if (ok !== 'OK') return false;
    this.held.set(assetId, new AbortController());
    return true;
  }

  /** Gives up a lease taken for nothing (e.g. the upload token was used meanwhile). */
  abandon = (assetId: string) => this.release(assetId);

  private async release(assetId: string): Promise<void> {
    this.held.delete(assetId);
    // only our own lease: another orchestrator may have taken it over meanwhile
    await this.o.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.leaseKey(assetId), this.id).catch(() => {});
  }

  /**
   * Starts renewing leases and sweeping for assets left without one (the first sweep as soon as the
   * public URL is known: workers fetch the segments from it).
   */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = async () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void tick(), this.p.config.publicUrl ? Math.max(50, Math.floor(this.leaseMs / 3)) : 20);
      this.timer.unref();
      if (!this.p.config.publicUrl) return;
      await Promise.all([...this.held.keys()].map((id) => this.o.redis.pexpire(this.leaseKey(id), this.leaseMs))).catch(() => {});
      await this.sweep().catch((err) => this.p.logger.warn({ err }, 'asset sweep failed'));
    };
    void tick();
  }

  /** Assets `processing` with no lease: take them over. */
  async sweep(): Promise<void> {
    for (const asset of await this.store.listProcessing()) {
      if (this.closed) return;
      if (!(await this.lease(asset.id))) continue;
      const kept = (await this.p.storage.size(assetSourceKey(asset.id))) !== null;
      this.p.logger.info({ assetId: asset.id, kept, source: asset.source.type }, 'taking over an asset left processing');
      if (kept) this.track(this.process(asset));
      else if (asset.source.type === 'url') this.track(this.download(asset, new URL(asset.source.url)));
      else if (asset.source.type === 'clip') this.track(this.cut(asset));
      else if (asset.source.type === 'transcode') this.track(this.download(asset, transcodeInputUrl(asset.source)));
      else await this.fail(asset, 'the upload was interrupted by an orchestrator restart before it was complete: request a new upload URL and upload again');
    }
  }

  /**
   * Receives a direct upload's bytes (the caller holds the lease) into the kept source file, at
   * most maxAssetBytes (413), then processes it. A broken upload fails the asset.
   */
  async receive(asset: Asset, body: Readable): Promise<void> {
    try {
      await this.store.update(asset.id, { sizeBytes: await this.save(asset.id, body) });
    } catch (err) {
      await this.fail(asset, 'the upload did not complete');
      throw err;
    }
    this.track(this.process(asset));
  }

  /**
   * Takes a file received some other way (a finished tus upload) as the asset's source: moves it
   * into storage, then processes it.
   */
  async accept(asset: Asset, file: string, bytes: number): Promise<void> {
    if (!(await this.lease(asset.id))) throw new Error(`asset ${asset.id} is already being worked on`);
    try {
      await this.p.storage.moveIn(assetSourceKey(asset.id), file);
    } catch (err) {
      await this.release(asset.id);
      throw err;
    }
    await this.store.update(asset.id, { phase: 'processing', progress: 0, sizeBytes: bytes });
    this.track(this.process(asset));
  }

  /** Downloads an import (the caller holds the lease), then processes it. */
  importFrom(asset: Asset, url: URL): void {
    this.track(this.download(asset, url));
  }

  /** Cuts a clip (the caller holds the lease) from its recorded session, then processes it. */
  clip(asset: Asset): void {
    this.track(this.cut(asset));
  }

  private async cut(asset: Asset): Promise<void> {
    const signal = this.held.get(asset.id)?.signal;
    const path = this.stagingPath(asset.id);
    try {
      if (!this.o.cutClip) throw new Error('clips are not enabled here');
      await this.store.update(asset.id, { phase: 'processing', progress: 0 });
      await mkdir(join(this.o.dataDir, 'asset-staging'), { recursive: true });
      await this.o.cutClip(asset, path, signal);
      const { size } = await stat(path);
      await this.p.storage.moveIn(assetSourceKey(asset.id), path);
      await this.store.update(asset.id, { sizeBytes: size });
    } catch (err) {
      await rm(path, { force: true });
      if (signal?.aborted) return void (await this.release(asset.id)); // stopping: the next orchestrator cuts again
      return void (await this.fail(asset, `could not cut the clip: ${(err as Error).message.split('\n')[0]}`));
    }
    await this.process(asset);
  }

  private track(work: Promise<unknown>): void {
    const w = work.catch((err) => this.p.logger.error({ err }, 'asset work crashed')).finally(() => this.running.delete(w));
    this.running.add(w);
  }

  /** Copies a byte stream to a staging file, refusing more than maxAssetBytes (413), then moves it into storage. */
  private async save(assetId: string, body: Readable): Promise<number> {
    const path = this.stagingPath(assetId);
    await mkdir(join(this.o.dataDir, 'asset-staging'), { recursive: true });
    let bytes = 0;
    const limit = this.o.maxAssetBytes;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(bytes > limit ? new ApiError('PAYLOAD_TOO_LARGE', `files are limited to ${limit} bytes`) : null, chunk);
      },
    });
    try {
      await pipe(body, count, createWriteStream(path));
      if (bytes === 0) throw new ApiError('VALIDATION_FAILED', 'the upload is empty');
      await this.p.storage.moveIn(assetSourceKey(assetId), path);
      return bytes;
    } finally {
      await rm(path, { force: true });
    }
  }

  private async download(asset: Asset, url: URL): Promise<void> {
    const signal = this.held.get(asset.id)?.signal;
    try {
      await this.store.update(asset.id, { phase: 'processing' });
      // every redirect is checked like the URL itself, and the connection goes to the checked address
      const res = await outboundRequest(url, { ...this.o.outbound, maxRedirects: 5, signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(600_000)]) : AbortSignal.timeout(600_000) });
      if (res.status < 200 || res.status >= 300) {
        res.body.destroy();
        throw new Error(`the URL answered HTTP ${res.status}`);
      }
      await this.store.update(asset.id, { sizeBytes: await this.save(asset.id, res.body) });
    } catch (err) {
      if (signal?.aborted) return void (await this.release(asset.id)); // stopping: the next orchestrator downloads again
      const why = err instanceof UnsafeUrlError ? `refused: ${err.message} (assets are imported from public addresses only)` : (err as Error).message;
      return void (await this.fail(asset, `could not download ${url}: ${why}`));
    }
    await this.process(asset);
  }

  private async process(asset: Asset): Promise<void> {
    const signal = this.held.get(asset.id)?.signal;
    // a previous attempt (another orchestrator's, before it stopped) leaves its internal stream and kept segments
    if (asset.streamId) await this.cleanStream(asset.streamId);
    await this.p.storage.deletePrefix(assetPrefix(asset.id)).catch(() => {});
    let outcome: AssetOutcome | null;
    try {
      outcome = await this.p.storage.withLocalFile(assetSourceKey(asset.id), (input) => processAsset(this.p, this.store, asset, input, signal));
    } catch (err) {
      // the store is down or refuses: the source is still there, so a later sweep (here or elsewhere) tries again
      this.p.logger.error({ err, assetId: asset.id }, 'could not read an asset source from storage; left for a later try');
      return void (await this.release(asset.id));
    }
    if (!outcome) return void (await this.fail(asset, 'the uploaded file is gone from storage: upload it again'));
    const { phase } = outcome;
    if (phase === 'interrupted') return void (await this.release(asset.id)); // kept for the next orchestrator
    await this.done(asset.id);
    this.o.finished({ asset: outcome.asset, phase });
  }

  private async cleanStream(streamId: string): Promise<void> {
    await this.p.endSession(streamId).catch(() => {});
    await this.p.live.clear(streamId).catch(() => {});
    await this.p.storage.deletePrefix(`${streamId}/`).catch(() => {});
  }

  private async fail(asset: Asset, message: string): Promise<void> {
    this.p.logger.warn({ assetId: asset.id, message }, 'asset failed');
    await this.store.update(asset.id, { phase: 'failed', errorMessage: message });
    await this.done(asset.id);
    this.o.finished({ asset: (await this.store.get(asset.id)) ?? asset, phase: 'failed' });
  }

  private async done(assetId: string): Promise<void> {
    await this.p.storage.delete([assetSourceKey(assetId)]).catch((err) => this.p.logger.warn({ err, assetId }, 'could not delete an asset source from storage'));
    await this.release(assetId);
  }

  /** Stops: work in progress is abandoned (not failed) and its leases released, for the next orchestrator. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.held.values()) c.abort();
    await Promise.allSettled([...this.running]);
    await Promise.all([...this.held.keys()].map((id) => this.release(id)));
  }
}
