/**
 * hls.js playing through a staked edge (docs/edge.md): the player starts a viewer session with a
 * key of its own (EdgeViewer); when steering gives an edge, media playlists and segments are
 * loaded by EdgeViewer, which takes them from the edge, checks each segment against the
 * orchestrator-signed sidecar read from the origin **before hls.js gets its bytes**, signs a
 * receipt per intact segment, reports wrong bytes with the edge's signature, and falls back to
 * the origin (avoiding that edge) when the edge fails or cheats. No edge (or no session): hls.js's
 * own loader, from the origin. The master playlist always comes from the origin.
 */
import type Hls from 'hls.js';
import type { HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js';
import { EdgeViewer } from './edgeViewer.js';

/** What edge delivery did in this player (also in DeliveryStats.edge). */
export type EdgeDelivery = {
  /** The edge playing from now (null: the origin). */
  address: string | null;
  /** Verified bytes from edges (a receipt signed for each segment). */
  bytes: number;
  receipts: number;
  /** Segments from an edge that did not match the signed hash: never handed to hls.js. */
  rejectedSegments: number;
  faultsReported: number;
  failovers: number;
  /** Segments loaded again in the same session (no second receipt). */
  repeated: number;
  /** Bytes of the receipts the edge acknowledged (`bytes` − this: receipts still on their way). */
  receiptedBytes: number;
  unsentReceipts: number;
};

type HlsClass = typeof Hls;
type Counters = { originBytes: number; edge: EdgeDelivery | null };
type AnyLoader = Loader<LoaderContext>;

const PLAYLIST = /\/hls\/([^/?#]+)\/([^/?#]+)\/index\.m3u8(?:[?#].*)?$/;
const SEGMENT = /\/hls\/([^/?#]+)\/([^/?#]+)\/([^/?#]+\.ts)(?:[?#].*)?$/;

function newStats(): LoaderStats {
  return { aborted: false, loaded: 0, retry: 0, total: 0, chunkCount: 0, bwEstimate: 0, loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 } };
}

/**
 * Starts a viewer session (a fresh key; the orchestrator steers it): the EdgeViewer, or null when
 * no session could start (rate limited, orchestrator unreachable): then the player plays as if
 * there were no edges.
 */
export function startEdgeSession(orchestratorUrl: string, playbackId: string): Promise<EdgeViewer | null> {
  return EdgeViewer.start({ orchestratorUrl, playbackId }).catch(() => null);
}

/**
 * hls.js config (pLoader, fLoader) that plays `viewer`'s session through the edge it was steered
 * to. `counters` is kept up to date after every load.
 */
export function edgeLoaders(H: HlsClass, v: EdgeViewer, playbackId: string, counters: Counters): Pick<HlsConfig, 'pLoader' | 'fLoader'> {
  const edge: EdgeDelivery = { address: v.edge?.address ?? null, bytes: 0, receipts: 0, rejectedSegments: 0, faultsReported: 0, failovers: 0, repeated: 0, receiptedBytes: 0, unsentReceipts: 0 };
  counters.edge = edge;
  let viewerOrigin = 0; // bytes EdgeViewer took from the origin (an edge failed), counted so far
  const sync = () => {
    counters.originBytes += v.stats.originBytes - viewerOrigin;
    viewerOrigin = v.stats.originBytes;
    const s = v.stats;
    Object.assign(edge, { address: v.edge?.address ?? null, bytes: s.edgeBytes, receipts: s.receipts, rejectedSegments: s.rejectedSegments, faultsReported: s.faultsReported, failovers: s.failovers, repeated: s.repeated, receiptedBytes: s.receiptedBytes, unsentReceipts: s.unsentReceipts });
  };
  v.onStats = sync;
  const Default = H.DefaultConfig.loader as unknown as new (c: HlsConfig) => AnyLoader;

  class EdgeLoader implements AnyLoader {
    context: LoaderContext | null = null;
    stats = newStats();
    private fallback: AnyLoader | null = null;
    private done = false;
    private timer: ReturnType<typeof setTimeout> | undefined;
    constructor(private readonly config: HlsConfig) {}

    load(context: LoaderContext, cfg: LoaderConfiguration, cbs: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      const m = SEGMENT.exec(context.url) ?? PLAYLIST.exec(context.url);
      // the origin (hls.js's loader) once the session has no edge, and for anything but this stream's media playlists and segments
      if (!v.edge || !m || decodeURIComponent(m[1]!) !== playbackId || context.rangeEnd) return this.fromOrigin(context, cfg, cbs);
      this.stats.loading.start = performance.now();
      const ms = cfg.loadPolicy?.maxLoadTimeMs || cfg.timeout;
      if (ms > 0) this.timer = setTimeout(() => this.finish() && cbs.onTimeout(this.stats, context, null), ms);
      const rendition = decodeURIComponent(m[2]!);
      const load = m[3] ? v.segment(rendition, m[3]) : v.mediaPlaylist(rendition);
      load.then(
        (data) => {
          sync();
          if (!this.finish()) return;
          this.loaded(typeof data === 'string' ? data.length : data.byteLength);
          // a copy of its own: hls.js hands fragment buffers to its transmuxer worker (detached)
          const body = typeof data === 'string' ? data : (data.slice().buffer as ArrayBuffer);
          cbs.onSuccess({ url: context.url, data: body }, this.stats, context, null);
        },
        (err: unknown) => {
          sync();
          if (this.finish()) cbs.onError({ code: 0, text: err instanceof Error ? err.message : String(err) }, context, null, this.stats);
        },
      );
    }

    /** hls.js's own loader, at the origin; segment bytes counted as origin bytes. */
    private fromOrigin(context: LoaderContext, cfg: LoaderConfiguration, cbs: LoaderCallbacks<LoaderContext>): void {
      this.fallback = new Default(this.config);
      this.fallback.stats = this.stats; // the object hls.js already holds (frag.stats)
      this.fallback.load(context, cfg, {
        ...cbs,
        onSuccess: (res, stats, ctx, details) => {
          if ((context as { frag?: { type: string } }).frag?.type === 'main') counters.originBytes += stats.loaded;
          cbs.onSuccess(res, stats, ctx, details);
        },
      });
    }

    private loaded(size: number): void {
      const now = performance.now();
      Object.assign(this.stats, { loaded: size, total: size, chunkCount: 1 });
      this.stats.loading.first = this.stats.loading.end = now;
    }

    /** True the first time: the load is settled (success, error, timeout or abort). */
    private finish(): boolean {
      clearTimeout(this.timer);
      if (this.done) return false;
      return (this.done = true);
    }

    abort(): void {
      if (this.finish()) this.stats.aborted = true;
      this.fallback?.abort();
    }

    destroy(): void {
      // hls.js's onAbort destroys the loader: the fallback is let go before it is aborted
      const fallback = this.fallback;
      this.fallback = null;
      this.finish();
      fallback?.destroy();
    }
  }
  const L = EdgeLoader as unknown as HlsConfig['pLoader'];
  return { pLoader: L, fLoader: L as unknown as HlsConfig['fLoader'] };
}
