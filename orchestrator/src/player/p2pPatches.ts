/**
 * Two seams in p2p-media-loader that Segmint needs and its config does not offer. Applied once,
 * to the bundled copies only (the player bundle is self-contained).
 */
import TrackerClient from 'bittorrent-tracker';
import { Core } from 'p2p-media-loader-core';
import { rankOf } from './fetchOrder.js';

/** Peers this page refuses for the rest of its session (they sent bytes that failed the signed hash). */
export const bannedPeers = new Set<string>();

let applied = false;

export function applyP2PPatches(): void {
  if (applied) return;
  applied = true;

  // 1. One swarm per stream and rendition. p2p-media-loader names a rendition's swarm by a hash of
  //    its BANDWIDTH, CODECS, … from the master playlist; Segmint's BANDWIDTH is measured and moves
  //    as segments are published, so viewers arriving at different times would land in different
  //    swarms. The rendition name from the media playlist URL is stable: use it.
  const add = Core.prototype.addStreamIfNoneExists;
  Core.prototype.addStreamIfNoneExists = function (this: Core, stream: Parameters<Core['addStreamIfNoneExists']>[0]) {
    const m = /\/hls\/[^/?#]+\/([^/?#]+)\/index\.m3u8(?:[?#]|$)/.exec(stream.runtimeId);
    return add.call(this, m ? { ...stream, index: decodeURIComponent(m[1]!) } : stream);
  } as Core['addStreamIfNoneExists'];

  // 2. A banned peer stays banned: p2p-media-loader drops the connection a failed validation came
  //    over, but the tracker would introduce the same peer again at its next announce.
  type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
  const proto = TrackerClient.prototype as { emit: Emit };
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
    const conn = args[0] as { id?: string; destroy?: () => void } | undefined;
    if (event === 'peer' && conn?.id && bannedPeers.has(peerIdOf(conn.id))) {
      conn.destroy?.();
      return false;
    }
    return emit.call(this, event, ...args);
  };

  // 3. Live: one viewer, named by a hash of the segment, fetches a new segment from the origin for the swarm.
  designatedFetcher();
}

/**
 * Who fetches a new live segment from the origin for the swarm. p2p-media-loader draws it at random:
 * each viewer, every 1 s × (1 + random × peers), with odds 1/peers. Measured at 10 viewers on
 * loopback, the draw often had no winner before the segment entered the high-demand window of the
 * viewers nearest the live edge (a new segment is ~6 s ahead of their playhead when their playlist
 * shows it, and goes to the origin 3 s ahead), so those 2–4 viewers each fetched it from the origin.
 *
 * Instead every viewer ranks itself among the swarm it sees (itself and its connected peers) by a
 * hash of (peer id, segment), the same order on every viewer, and fetches a segment nobody has or is
 * fetching once it has known it for rank × STAGGER_MS: the first-ranked at once, the next only if
 * the first has not started (gone, slow, banned, or it sees another swarm), and so on. Everyone else
 * takes it from a peer; the high-demand window still sends anyone who has not got it to the origin.
 */
const STAGGER_MS = 500;
const TICK_MS = 200;

type Segment = { runtimeId: string; externalId: number; startTime: number };
type QueueItem = { segment: Segment; statuses: { isHighDemand: boolean; isHttpDownloadable: boolean; isP2PDownloadable: boolean } };
type HybridLoader = {
  config: { simultaneousHttpDownloads: number; httpErrorRetries: number; httpDownloadInitialTimeoutMs: number };
  createdAt: number;
  requests: { executingHttpCount: number; get(s: unknown): { status: string; failedAttempts: { httpAttemptsCount: number } } | undefined };
  p2pLoaders: { currentLoader: { trackerClient: { client: { peerId: string }; peers(): Iterable<{ id: string }> }; isSegmentLoadedBySomeone(s: Segment): boolean } };
  playback: { position: number };
  randomHttpDownloadTimeout: number;
  generateQueue(): { queue: QueueItem[] };
  getAvailableStorageCapacityPercent(): number;
  loadThroughHttp(segment: unknown): void;
  loadRandomThroughHttp(): void;
  setIntervalLoading(): void;
};
/** When this viewer first saw each segment it has not loaded yet (per loader; bounded). */
const seenAt = new WeakMap<HybridLoader, Map<string, number>>();

function designatedFetcher(): void {
  const core = Core.prototype as unknown as { createNewHybridLoader(this: Core, segment: unknown): HybridLoader };
  const create = core.createNewHybridLoader;
  let patched = false;
  core.createNewHybridLoader = function (this: Core, segment: unknown) {
    const loader = create.call(this, segment);
    if (!patched) {
      patched = true;
      // the loader class is not exported: patch its prototype through the first instance (its first
      // draw is already scheduled at the old pace; every later one uses this)
      const proto = Object.getPrototypeOf(loader) as HybridLoader;
      proto.loadRandomThroughHttp = fetchIfDesignated;
      const generateQueue = proto.generateQueue;
      proto.generateQueue = function (this: HybridLoader) {
        return peerFirstWhileNotUrgent(this, generateQueue.call(this));
      };
      proto.setIntervalLoading = function (this: HybridLoader) {
        this.randomHttpDownloadTimeout = window.setTimeout(() => {
          this.loadRandomThroughHttp();
          this.setIntervalLoading();
        }, TICK_MS);
      };
    }
    return loader;
  };
}

function fetchIfDesignated(this: HybridLoader): void {
  const { simultaneousHttpDownloads, httpErrorRetries, httpDownloadInitialTimeoutMs } = this.config;
  const now = performance.now();
  if (now - this.createdAt < httpDownloadInitialTimeoutMs || this.getAvailableStorageCapacityPercent() <= 10) return;
  const tracker = this.p2pLoaders.currentLoader.trackerClient;
  const peers = [...tracker.peers()].map((p) => p.id);
  if (!peers.length) return; // alone: the high-demand window loads from the origin
  const me = peerIdOf(tracker.client.peerId);
  let seen = seenAt.get(this);
  if (!seen) seenAt.set(this, (seen = new Map()));
  for (const { segment, statuses } of this.generateQueue().queue) {
    if (!seen.has(segment.runtimeId)) seen.set(segment.runtimeId, now);
    if (this.requests.executingHttpCount >= simultaneousHttpDownloads) break;
    if (!statuses.isHttpDownloadable || statuses.isP2PDownloadable) continue; // a peer has it or is fetching it
    const request = this.requests.get(segment);
    if (request && (request.status === 'loading' || request.status === 'succeed' || request.failedAttempts.httpAttemptsCount >= httpErrorRetries)) continue;
    if (now - seen.get(segment.runtimeId)! >= rankOf(me, peers, segment.externalId) * STAGGER_MS) this.loadThroughHttp(segment);
  }
  while (seen.size > 100) seen.delete(seen.keys().next().value!);
}

/**
 * In the high-demand window p2p-media-loader goes to the origin even when a connected peer holds the
 * segment (its VOD logic: near the playhead, the origin is the safe source). Measured at 10 viewers,
 * that was most origin fetches after the designated one: the segment at the playhead after a level
 * switch at startup, and new segments a viewer near the live edge had not asked a peer for yet. A
 * peer that holds the segment whole sends it as fast as the origin on a LAN; so while the segment is
 * due in URGENT_S or more, it is taken from that peer (checked like any peer segment), and only when
 * it is urgent (or no peer holds it) does high demand send it to the origin, as before.
 */
const URGENT_S = 1;

function peerFirstWhileNotUrgent<T extends { queue: QueueItem[] }>(loader: HybridLoader, out: T): T {
  const p2p = loader.p2pLoaders.currentLoader;
  for (const { segment, statuses } of out.queue) {
    if (!statuses.isHighDemand || segment.startTime - loader.playback.position < URGENT_S) continue;
    const request = loader.requests.get(segment) as { status: string; downloadSource?: string } | undefined;
    if (request?.status === 'loading' && request.downloadSource === 'http') continue; // already on its way
    if (p2p.isSegmentLoadedBySomeone(segment)) statuses.isHighDemand = false;
  }
  return out;
}

/** p2p-media-loader's peer id of a connection (Peer.getPeerIdFromConnection: hex → UTF-8). */
function peerIdOf(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return new TextDecoder().decode(bytes);
}
