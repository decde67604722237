/**
 * Segmint's embeddable player: hls.js, with peer-to-peer delivery by p2p-media-loader when the
 * stream allows it. Every segment a peer sends is checked against the orchestrator-signed hash
 * before hls.js sees it; a mismatch is dropped and counted, the peer banned for this session, and
 * the segment loaded again (from the origin, or another peer whose bytes are checked the same way).
 *
 * Bundled by player/bundle.ts into `/player/segmint-player.js` (global `SegmintPlayer`).
 */
import Hls from 'hls.js';
import { HlsJsP2PEngine } from 'p2p-media-loader-hlsjs';
import type { Address } from 'viem';
import { applyP2PPatches, bannedPeers } from './p2pPatches.js';
import { SegmentVerifier } from './segmentVerifier.js';
import { edgeLoaders, startEdgeSession, type EdgeDelivery } from './edgePlayer.js';
import type { EdgeViewer } from './edgeViewer.js';

export type PlayerOptions = {
  video: HTMLVideoElement;
  /** Master playlist URL (with `?jwt=` when the stream needs one). */
  src: string;
  playbackId: string;
  /** Peer-to-peer delivery; null or absent: every byte from the origin. */
  p2p?: { tracker: string; segmentSigner: Address } | null;
  /** A viewer session (startEdgeSession): when it was steered to an edge, every segment comes through it (P2P off). */
  edge?: EdgeViewer | null;
  /** Where the player reports its delivery (POST every `reportEveryMs`); absent: not reported. */
  reportUrl?: string;
  reportEveryMs?: number;
};

/** What a player has delivered so far; segments counted once each, as hls.js received them. */
export type DeliveryStats = {
  p2p: boolean;
  originBytes: number;
  peerBytes: number;
  /** Segments from peers whose bytes did not match the signed record (dropped before hls.js). */
  rejectedSegments: number;
  rejectedBytes: number;
  /** Segments from peers with no valid signed record to check them against (dropped too). */
  unverifiedSegments: number;
  /** Rejected segments whose bytes came from several peers: dropped, nobody banned (any one may be honest). */
  rejectedUnattributed: number;
  bannedPeers: string[];
  peersConnected: number;
  uploadedBytes: number;
  /** Segments handed to hls.js whose bytes match the signed record, and whose do not. */
  playedVerified: number;
  playedMismatch: number;
  /** Edge delivery (null: not tried). */
  edge: EdgeDelivery | null;
};

export function createPlayer(o: PlayerOptions) {
  const query = new URL(o.src, location.href).search;
  const stats: DeliveryStats = {
    p2p: !!o.p2p, originBytes: 0, peerBytes: 0, rejectedSegments: 0, rejectedBytes: 0, unverifiedSegments: 0, rejectedUnattributed: 0, bannedPeers: [],
    peersConnected: 0, uploadedBytes: 0, playedVerified: 0, playedMismatch: 0, edge: null,
  };
  const edge = o.edge?.edge ? o.edge : null;
  const p2p = edge ? null : o.p2p;
  stats.p2p = !!p2p;
  const signer = edge ? (edge.session.segmentSigner as Address) : p2p?.segmentSigner;
  const verifier = signer ? new SegmentVerifier(signer, query) : null;
  let hls: Hls;
  if (edge) {
    hls = new Hls({ lowLatencyMode: false, ...edgeLoaders(Hls, edge, o.playbackId, stats) });
  } else if (p2p && verifier) {
    applyP2PPatches();
    hls = p2pHls(o.playbackId, p2p.tracker, verifier, stats);
  } else {
    hls = new Hls({ lowLatencyMode: false });
    hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
      if (d.frag.type === 'main') stats.originBytes += d.frag.stats.loaded;
    });
  }
  if (verifier) checkWhatPlays(hls, verifier, stats);
  const stopReports = o.reportUrl ? reportDelivery(o.reportUrl, o.reportEveryMs ?? 5000, stats) : () => {};
  hls.loadSource(o.src);
  hls.attachMedia(o.video);
  return {
    hls,
    stats,
    destroy() {
      stopReports();
      hls.destroy();
    },
  };
}

function p2pHls(playbackId: string, tracker: string, verifier: SegmentVerifier, stats: DeliveryStats): Hls {
  // segment URL → the peers its bytes came from (a download can move from peer to peer, and on to
  // the origin: p2p-media-loader resumes a partial download where it stopped)
  const sources = new Map<string, Set<string>>();
  const reject = (url: string, bytes: number) => {
    stats.rejectedSegments++;
    stats.rejectedBytes += bytes;
    const from = [...(sources.get(url) ?? [])];
    sources.delete(url); // the retry starts from byte 0
    if (from.length !== 1) return void stats.rejectedUnattributed++;
    if (!bannedPeers.has(from[0]!)) stats.bannedPeers.push(from[0]!);
    bannedPeers.add(from[0]!);
  };
  const HlsWithP2P = HlsJsP2PEngine.injectMixin(Hls);
  const hls = new HlsWithP2P({
    lowLatencyMode: false,
    // 4 segments behind the live edge (hls.js: 3): a new segment has ~2 s more to come from a peer
    liveSyncDurationCount: 4,
    p2p: {
      core: {
        // Live windows (seconds ahead of the playhead). p2p-media-loader's defaults are for VOD (the
        // high-demand window of 15 s covers a whole live playlist, so every viewer fetched every
        // segment from the origin): here a segment goes to the origin only when it is due within
        // 3 s. Before that it comes from a peer, or, if no peer has it or is fetching it, from the
        // origin by the one viewer a hash names for it (p2pPatches.ts designatedFetcher). Both
        // windows span the whole live playlist (~12 s) from any viewer's playhead, so the viewers
        // furthest behind live take part in fetching new segments too.
        highDemandTimeWindow: 3,
        httpDownloadTimeWindow: 20,
        p2pDownloadTimeWindow: 20,
        announceTrackers: [tracker],
        rtcConfig: { iceServers: [] }, // no third-party STUN: host candidates (LAN, or public addresses)
        swarmId: `segmint-${playbackId}`, // p2p/tracker.ts swarmIdOf; the rendition is added per swarm
        // Wait up to 1.5 s for a peer before the first segments go to the origin (startup stays short).
        httpDownloadInitialTimeoutMs: 1500,
        validateP2PSegment: async (url, _range, data) => {
          const verdict = await verifier.check(url, data);
          if (verdict === 'ok') return true;
          if (verdict === 'unknown') {
            // not in the sidecar (yet), or no valid signature: refused, but nobody is blamed
            stats.unverifiedSegments++;
            sources.delete(url);
            return false;
          }
          reject(url, data.byteLength);
          return false;
        },
        // Checked too: a download a peer started and the origin finished holds the peer's bytes.
        // The origin is trusted: a segment it serves without a signed record plays.
        validateHTTPSegment: async (url, _range, data) => {
          if ((await verifier.check(url, data)) !== 'mismatch') return true;
          reject(url, data.byteLength);
          return false;
        },
      },
    },
  });
  // Start on the top rendition: each rendition is its own swarm, and viewers on a good link all end
  // up on the top one. hls.js starts on the lowest here (its default estimate, 500 kb/s), where no
  // peer is: measured, every page's first segments came from the origin, it built a WebRTC mesh in
  // that swarm for one or two segments, and its first segment at the top came from the origin too
  // (due at once). Starting on top, the first segments come from peers. A slow viewer pays a slower
  // first segment, then hls.js's ABR steps down.
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => {
    hls.startLevel = d.levels.length - 1;
  });
  const engine = hls.p2pEngine;
  engine.addEventListener('onSegmentStart', (d) => {
    if (d.downloadSource !== 'p2p' || !d.peerId) return;
    const set = sources.get(d.segment.url) ?? new Set<string>();
    sources.set(d.segment.url, set.add(d.peerId));
  });
  engine.addEventListener('onSegmentLoaded', (d) => {
    sources.delete(d.segmentUrl);
    if (d.streamType !== 'main') return;
    if (d.downloadSource === 'p2p') stats.peerBytes += d.bytesLength;
    else stats.originBytes += d.bytesLength;
  });
  const connected = new Set<string>();
  const count = () => (stats.peersConnected = connected.size);
  engine.addEventListener('onPeerConnect', (d) => (connected.add(d.peerId), count()));
  engine.addEventListener('onPeerClose', (d) => (connected.delete(d.peerId), count()));
  engine.addEventListener('onChunkUploaded', (n) => (stats.uploadedBytes += n));
  return hls;
}

/**
 * Apart from the P2P loader's own checks: every segment the fragment loader hands hls.js (what goes
 * to the decoder) is hashed against the signed records, counting `playedVerified` and
 * `playedMismatch` (the tests and the bench count corrupted segments played from it).
 */
function checkWhatPlays(hls: Hls, verifier: SegmentVerifier, stats: DeliveryStats): void {
  const Base = (hls.config.fLoader ?? hls.config.loader) as unknown as new (c: unknown) => { load(ctx: { url: string }, cfg: unknown, cbs: { onSuccess: (res: { data: unknown }, ...rest: unknown[]) => void }): void };
  class Checked extends Base {
    override load(ctx: { url: string }, cfg: unknown, cbs: { onSuccess: (res: { data: unknown }, ...rest: unknown[]) => void }) {
      super.load(ctx, cfg, {
        ...cbs,
        onSuccess: (res, ...rest) => {
          // copied first: hls.js hands the buffer to its transmuxer worker (detached) right after
          if (res.data instanceof ArrayBuffer) {
            void verifier.check(ctx.url, new Uint8Array(res.data).slice()).then((v) => {
              if (v === 'ok') stats.playedVerified++;
              if (v === 'mismatch') stats.playedMismatch++;
            });
          }
          cbs.onSuccess(res, ...rest);
        },
      });
    }
  }
  hls.config.fLoader = Checked as unknown as typeof hls.config.fLoader; // read per fragment load
}

/** Sends the delivery since the last report every `everyMs`, and once more when the page goes. */
function reportDelivery(url: string, everyMs: number, stats: DeliveryStats): () => void {
  const sent = { originBytes: 0, peerBytes: 0, rejectedSegments: 0 };
  const send = () => {
    const d = { originBytes: stats.originBytes - sent.originBytes, peerBytes: stats.peerBytes - sent.peerBytes, rejectedSegments: stats.rejectedSegments - sent.rejectedSegments };
    if (!d.originBytes && !d.peerBytes && !d.rejectedSegments) return;
    Object.assign(sent, { originBytes: stats.originBytes, peerBytes: stats.peerBytes, rejectedSegments: stats.rejectedSegments });
    void fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(d), keepalive: true }).catch(() => {});
  };
  const timer = setInterval(send, everyMs);
  addEventListener('pagehide', send);
  return () => {
    clearInterval(timer);
    removeEventListener('pagehide', send);
    send();
  };
}

export { Hls, startEdgeSession };
