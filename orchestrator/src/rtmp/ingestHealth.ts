/**
 * Ingest health of one RTMP publish, from the media messages themselves (no decoding): bitrate and
 * frame rate over a sliding window, keyframe interval from keyframe timestamps, last message time.
 */

export type IngestHealth = {
  protocol: 'rtmp';
  /** Unix ms of the last media message. */
  lastSeen: number;
  /** Audio + video payload bits per second over the last window. */
  bitrate: number;
  /** Video frames per second over the last window (by media timestamps). */
  fps: number;
  /** Seconds between the last two keyframes; null until two were seen. */
  keyframeInterval: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  warnings: string[];
};

/** Keyframe interval beyond the segment target that still gets no warning (timestamp rounding). */
const KEYFRAME_SLACK_SEC = 0.05;
const WINDOW_MS = 5000;

export class IngestHealthTracker {
  /** (arrival ms, bytes) of recent media messages. */
  private readonly bytes: Array<[number, number]> = [];
  /** Media timestamps (ms) of recent video frames. */
  private readonly frames: number[] = [];
  private lastKeyframeTs: number | null = null;
  private keyframeInterval: number | null = null;
  private lastSeen = Date.now();
  videoCodec: string | null = null;
  audioCodec: string | null = null;

  constructor(private readonly segmentTargetSec: number) {}

  media(bytes: number, now = Date.now()): void {
    this.lastSeen = now;
    this.bytes.push([now, bytes]);
    while (this.bytes.length && this.bytes[0]![0] < now - WINDOW_MS) this.bytes.shift();
    if (this.bytes.length > 20_000) this.bytes.shift(); // bounded whatever the message rate
  }

  videoFrame(timestamp: number, keyframe: boolean): void {
    this.frames.push(timestamp);
    while (this.frames.length > 1 && (this.frames.length > 1000 || timestamp - this.frames[0]! > WINDOW_MS)) this.frames.shift();
    if (keyframe) {
      if (this.lastKeyframeTs !== null && timestamp > this.lastKeyframeTs) this.keyframeInterval = (timestamp - this.lastKeyframeTs) / 1000;
      this.lastKeyframeTs = timestamp;
    }
  }

  snapshot(now = Date.now()): IngestHealth {
    const recent = this.bytes.filter(([t]) => t >= now - WINDOW_MS);
    const total = recent.reduce((s, [, b]) => s + b, 0);
    const spanMs = recent.length > 1 ? Math.max(1000, now - recent[0]![0]) : WINDOW_MS;
    const f = this.frames;
    const fps = f.length > 1 && f[f.length - 1]! > f[0]! ? ((f.length - 1) * 1000) / (f[f.length - 1]! - f[0]!) : 0;
    const warnings: string[] = [];
    // A few ms over is whole-millisecond timestamps (a 29.97 fps encoder's 60-frame GOP is 2.002 s),
    // not a GOP that makes segments longer.
    if (this.keyframeInterval !== null && this.keyframeInterval > this.segmentTargetSec + KEYFRAME_SLACK_SEC) {
      warnings.push(`keyframe interval ${this.keyframeInterval.toFixed(2)} s exceeds the ${this.segmentTargetSec} s segment target: segments will be longer; set the encoder's keyframe interval to ${this.segmentTargetSec} s`);
    }
    return {
      protocol: 'rtmp',
      lastSeen: this.lastSeen,
      bitrate: Math.round((total * 8 * 1000) / spanMs),
      fps: Math.round(fps * 100) / 100,
      keyframeInterval: this.keyframeInterval,
      videoCodec: this.videoCodec,
      audioCodec: this.audioCodec,
      warnings,
    };
  }
}
