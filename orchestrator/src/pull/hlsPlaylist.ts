/** What a pull needs of an HLS playlist: a master's first variant, or a media playlist's segments. */
export type ParsedPlaylist =
  | { kind: 'master'; variants: string[] }
  | { kind: 'media'; mediaSequence: number; targetDuration: number; ended: boolean; segments: { seq: number; uri: string }[] };

/** Parses the few tags a pull uses (RFC 8216); anything that is not a playlist throws. */
export function parsePlaylist(text: string): ParsedPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist (no #EXTM3U)');
  if (lines.some((l) => l.startsWith('#EXT-X-STREAM-INF'))) {
    const variants = lines.filter((l, i) => !l.startsWith('#') && lines[i - 1]?.startsWith('#EXT-X-STREAM-INF'));
    return { kind: 'master', variants };
  }
  const tag = (name: string) => lines.find((l) => l.startsWith(`#${name}:`))?.slice(name.length + 2);
  const mediaSequence = Number(tag('EXT-X-MEDIA-SEQUENCE') ?? 0);
  const targetDuration = Number(tag('EXT-X-TARGETDURATION') ?? 2);
  if (!Number.isSafeInteger(mediaSequence) || mediaSequence < 0 || !(targetDuration > 0)) throw new Error('bad #EXT-X-MEDIA-SEQUENCE or #EXT-X-TARGETDURATION');
  const uris = lines.filter((l, i) => !l.startsWith('#') && lines[i - 1]?.startsWith('#EXTINF'));
  return { kind: 'media', mediaSequence, targetDuration, ended: lines.includes('#EXT-X-ENDLIST'), segments: uris.map((uri, i) => ({ seq: mediaSequence + i, uri })) };
}
