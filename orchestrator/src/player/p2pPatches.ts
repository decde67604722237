/**
 * Two seams in p2p-media-loader that Segmint needs and its config does not offer. Applied once,
 * to the bundled copies only (the player bundle is self-contained).
 */
import TrackerClient from 'bittorrent-tracker';
import { Core } from 'p2p-media-loader-core';

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

  // 3. Live: who fetches a new segment from the origin for the swarm is drawn more often (below).
  drawOftener();
}

/**
 * How often a viewer draws whether it fetches a new live segment from the origin for the swarm:
 * every DRAW_MS × (1 + random × peers). p2p-media-loader draws every 1 s × (1 + random × peers), about
 * every 5 s per viewer at 10 viewers, with odds 1/viewers per draw: the swarm took ~5 s on average
 * to start a new segment, while a live segment is due ~4 s after it can be fetched at all (it appears
 * ~8 s ahead of the playhead, goes to the origin 3 s ahead), so nearly every viewer fetched it from the
 * origin itself. Same odds per draw, drawn 4 times as often: ~1.4 s.
 */
const DRAW_MS = 250;

type HybridLoader = { p2pLoaders: { currentLoader: { connectedPeerCount: number } }; randomHttpDownloadTimeout: number; loadRandomThroughHttp(): void; setIntervalLoading(): void };

function drawOftener(): void {
  const core = Core.prototype as unknown as { createNewHybridLoader(this: Core, segment: unknown): HybridLoader };
  const create = core.createNewHybridLoader;
  let patched = false;
  core.createNewHybridLoader = function (this: Core, segment: unknown) {
    const loader = create.call(this, segment);
    if (!patched) {
      patched = true;
      // the loader class is not exported: patch its prototype through the first instance (its first
      // draw is already scheduled at the old pace; every later one uses this)
      (Object.getPrototypeOf(loader) as HybridLoader).setIntervalLoading = function (this: HybridLoader) {
        const peers = this.p2pLoaders.currentLoader.connectedPeerCount;
        this.randomHttpDownloadTimeout = window.setTimeout(() => {
          this.loadRandomThroughHttp();
          this.setIntervalLoading();
        }, DRAW_MS * (1 + Math.random() * peers));
      };
    }
    return loader;
  };
}

/** p2p-media-loader's peer id of a connection (Peer.getPeerIdFromConnection: hex → UTF-8). */
function peerIdOf(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return new TextDecoder().decode(bytes);
}
