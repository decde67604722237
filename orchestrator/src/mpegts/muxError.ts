/** Media that cannot be muxed (malformed AVC/AAC configuration or frames, a segment that never ends). */
export class MpegTsMuxError extends Error {
  override name = 'MpegTsMuxError';
  constructor(readonly code: 'BAD_AVC' | 'BAD_AAC' | 'SEGMENT_TOO_LARGE', message: string) {
    super(message);
  }
}
