import { Type, type Static } from 'typebox';

/** One rendition of the ladder (Livepeer Studio's `profiles[]` shape; bitrate in bits/s). */
export const RenditionProfileSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Unique within the stream; used in URLs' }),
    width: Type.Integer({ minimum: 16, maximum: 3840, multipleOf: 2 }),
    height: Type.Integer({ minimum: 16, maximum: 2160, multipleOf: 2 }),
    bitrate: Type.Integer({ minimum: 16_000, maximum: 50_000_000, description: 'Video bits per second' }),
    fps: Type.Optional(Type.Integer({ minimum: 1, maximum: 120, description: 'Defaults to 30' })),
    gop: Type.Optional(Type.Number({ minimum: 0.5, maximum: 10, description: 'Keyframe interval, seconds; defaults to 2' })),
  },
  { additionalProperties: false },
);
export type RenditionProfile = Static<typeof RenditionProfileSchema>;

/** Limits on a stream's ladder (named in README). */
export const PROFILE_LIMITS = { maxProfiles: 8, maxWidth: 3840, maxHeight: 2160 } as const;

export const ProfilesSchema = Type.Array(RenditionProfileSchema, { minItems: 1, maxItems: PROFILE_LIMITS.maxProfiles });

/** Livepeer Studio's default ladder: 240p 250 kb/s, 360p 800 kb/s, 480p 1.6 Mb/s, 720p 3 Mb/s at 30 fps. */
export const DEFAULT_PROFILES: readonly RenditionProfile[] = Object.freeze([
  { name: '240p0', width: 426, height: 240, bitrate: 250_000, fps: 30 },
  { name: '360p0', width: 640, height: 360, bitrate: 800_000, fps: 30 },
  { name: '480p0', width: 854, height: 480, bitrate: 1_600_000, fps: 30 },
  { name: '720p0', width: 1280, height: 720, bitrate: 3_000_000, fps: 30 },
]);

/** Name of the untranscoded rendition in playlists and URLs. */
export const SOURCE_RENDITION = 'source';

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * Fits a ladder to the source: renditions taller than the source are dropped (when every one
 * is, the smallest is kept at the source height, so a small source still gets a transcode), and
 * each width follows the source's aspect ratio so nothing is stretched.
 */
export function capProfiles(
  profiles: readonly RenditionProfile[],
  source: { width: number; height: number },
): RenditionProfile[] {
  let kept = profiles.filter((p) => p.height <= source.height);
  if (kept.length === 0) {
    const smallest = [...profiles].sort((a, b) => a.height - b.height)[0];
    kept = smallest ? [{ ...smallest, height: even(source.height) }] : [];
  }
  return kept.map((p) => ({ ...p, width: even((p.height * source.width) / source.height) }));
}

/** Problems a ladder can have beyond its schema (duplicate names, the reserved source name). */
export function profileProblems(profiles: readonly RenditionProfile[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const p of profiles) {
    if (p.name === SOURCE_RENDITION) problems.push(`profile name "${SOURCE_RENDITION}" is reserved`);
    if (seen.has(p.name)) problems.push(`duplicate profile name "${p.name}"`);
    seen.add(p.name);
  }
  return problems;
}
