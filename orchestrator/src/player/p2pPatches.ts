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
}

/** p2p-media-loader's peer id of a connection (Peer.getPeerIdFromConnection: hex → UTF-8). */
function peerIdOf(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return new TextDecoder().decode(bytes);
}
