import { capProfiles, DEFAULT_PROFILES, profileProblems } from '@segmint/protocol';

describe('capProfiles', () => {
  it('keeps the whole default ladder for a 1080p source', () => {
    expect(capProfiles(DEFAULT_PROFILES, { width: 1920, height: 1080 }).map((p) => p.name)).toEqual([
      '240p0', '360p0', '480p0', '720p0',
    ]);
  });
  it('drops renditions taller than the source', () => {
    expect(capProfiles(DEFAULT_PROFILES, { width: 854, height: 480 }).map((p) => p.name)).toEqual([
      '240p0', '360p0', '480p0',
    ]);
  });
  it('scales the smallest rendition down when the source is smaller than all of them', () => {
    expect(capProfiles(DEFAULT_PROFILES, { width: 320, height: 180 })).toEqual([
      { name: '240p0', width: 320, height: 180, bitrate: 250_000, fps: 30 },
    ]);
  });
});

describe('profileProblems', () => {
  it('names duplicate and reserved names', () => {
    const p = { width: 640, height: 360, bitrate: 800_000 };
    expect(profileProblems([{ name: 'a', ...p }, { name: 'a', ...p }, { name: 'source', ...p }])).toEqual([
      'duplicate profile name "a"',
      'profile name "source" is reserved',
    ]);
  });
});

describe('capProfiles aspect ratio', () => {
  it('follows a 4:3 source instead of stretching it', () => {
    expect(capProfiles(DEFAULT_PROFILES, { width: 640, height: 480 }).map((p) => `${p.width}x${p.height}`)).toEqual([
      '320x240', '480x360', '640x480',
    ]);
  });
});
