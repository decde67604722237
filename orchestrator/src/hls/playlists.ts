import { SOURCE_RENDITION } from '@segmint/protocol';
import { segmentFile as segmentFileName } from '../ingest/jobIds.js';
import type { LiveMeta, PublishedRecord } from '../live/liveState.js';

export type MediaPlaylistParameters = {
  rendition: string;
  meta: LiveMeta;
  published: readonly PublishedRecord[];
  /** Segments listed in the live window. */
  window: number;
  /** Session ended and nothing is in flight: the playlist is complete. */
  ended: boolean;
};

/**
 * A live media playlist (RFC 8216 §4.3.3): the last `window` published segments that have this
 * rendition, EXT-X-MEDIA-SEQUENCE = index of the first, EXT-X-DISCONTINUITY where the seq jumped
 * or a new session began, EXT-X-ENDLIST once the stream ended.
 */
export function renderMediaPlaylist(p: MediaPlaylistParameters): string {
  const withRendition = p.published.filter((r) => r.entry.renditions[p.rendition]);
  // Ended streams keep the same window: a reloading client must never see the sequence go back.
  const listed = withRendition.slice(-p.window);
  const first = listed[0];
  const hidden = first ? p.published.filter((r) => r.index < first.index && r.discontinuity).length : 0;
  // A discontinuity on a segment that left the window still counts, and so does one on a
  // segment that lacks this rendition: it moves to the next segment that has it.
  const target = Math.max(1, ...listed.map((r) => Math.ceil(r.entry.renditions[p.rendition]!.durationSec - 0.001)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.index ?? p.meta.mediaIndex}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.meta.discBase + hidden}`,
  ];
  let previous: number | undefined;
  for (const r of listed) {
    const jumped = previous !== undefined && r.index !== previous + 1;
    if (r.discontinuity || jumped) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${r.entry.renditions[p.rendition]!.durationSec.toFixed(3)},`);
    lines.push(segmentFileName(r.entry.session, r.entry.seq, r.entry.rev));
    previous = r.index;
  }
  if (p.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

export type Variant = {
  rendition: string;
  width: number;
  height: number;
  fps: number;
  codecs: string;
  /** Peak bits/s of the listed segments. */
  bandwidth: number;
  /** Mean bits/s. */
  averageBandwidth: number;
};

/** Measured bandwidth of each rendition over the published segments; nominal ladder as fallback. */
export function variantsOf(
  published: readonly PublishedRecord[],
  nominal: readonly { rendition: string; width: number; height: number; fps: number; bitrate: number }[],
): Variant[] {
  return nominal.map((n) => {
    const samples = published.map((r) => r.entry.renditions[n.rendition]).filter((x) => x !== undefined);
    const last = samples[samples.length - 1];
    if (!last) {
      const guess = n.bitrate + 96_000; // video + audio
      return { rendition: n.rendition, width: n.width, height: n.height, fps: n.fps, codecs: 'avc1.64001f,mp4a.40.2', bandwidth: Math.round(guess * 1.1), averageBandwidth: guess };
    }
    const rates = samples.map((s) => (s.bytes * 8) / Math.max(s.durationSec, 0.001));
    const totalBits = samples.reduce((a, s) => a + s.bytes * 8, 0);
    const totalSec = samples.reduce((a, s) => a + s.durationSec, 0);
    return {
      rendition: n.rendition,
      width: last.width,
      height: last.height,
      fps: last.fps,
      codecs: `${last.codecs},mp4a.40.2`,
      bandwidth: Math.round(Math.max(...rates)),
      averageBandwidth: Math.round(totalBits / Math.max(totalSec, 0.001)),
    };
  });
}

/**
 * Master playlist (RFC 8216 §4.3.4.2): every transcoded rendition, lowest first (players start
 * with the first listed), then the untranscoded source.
 */
export function renderMasterPlaylist(variants: readonly Variant[]): string {
  const sorted = [...variants].sort((a, b) =>
    a.rendition === SOURCE_RENDITION ? 1 : b.rendition === SOURCE_RENDITION ? -1 : a.bandwidth - b.bandwidth,
  );
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of sorted) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${v.bandwidth},AVERAGE-BANDWIDTH=${v.averageBandwidth},` +
        `RESOLUTION=${v.width}x${v.height},CODECS="${v.codecs}",FRAME-RATE=${v.fps.toFixed(3)},NAME="${v.rendition}"`,
    );
    lines.push(`${v.rendition}/index.m3u8`);
  }
  return lines.join('\n') + '\n';
}
