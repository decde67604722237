import { ffprobePath } from './binaries.js';
import { run } from './run.js';

export type ProbedStream = {
  index: number;
  type: 'video' | 'audio' | 'other';
  codec: string;
  width?: number;
  height?: number;
  /** Average frame rate (video), e.g. 30. */
  fps?: number;
  /** Packets counted by ffprobe (= frames for video in MPEG-TS). */
  packets?: number;
  durationSec?: number;
  startSec?: number;
};

export type ProbeReturnType = {
  formatName: string;
  durationSec: number;
  startSec: number;
  bitRate: number;
  streams: ProbedStream[];
  video?: ProbedStream;
  audio?: ProbedStream;
};

const rate = (r: string | undefined): number | undefined => {
  if (!r) return undefined;
  const [n, d] = r.split('/').map(Number);
  return n && d ? n / d : undefined;
};
const num = (v: unknown): number | undefined => (v === undefined || v === 'N/A' ? undefined : Number(v));

/** ffprobe facts about a media file: format, duration, and per stream codec, size, fps, packet count. */
export async function probe(file: string): Promise<ProbeReturnType> {
  const { stdout } = await run(
    ffprobePath(),
    ['-v', 'error', '-count_packets', '-show_format', '-show_streams', '-of', 'json', file],
    { timeoutMs: 30_000 },
  );
  const json = JSON.parse(stdout.toString()) as {
    format: Record<string, string>;
    streams: Record<string, string>[];
  };
  const streams: ProbedStream[] = json.streams.map((s) => ({
    index: Number(s.index),
    type: s.codec_type === 'video' || s.codec_type === 'audio' ? s.codec_type : 'other',
    codec: s.codec_name ?? 'unknown',
    width: num(s.width),
    height: num(s.height),
    fps: rate(s.avg_frame_rate) ?? rate(s.r_frame_rate),
    packets: num(s.nb_read_packets),
    durationSec: num(s.duration),
    startSec: num(s.start_time),
  }));
  return {
    formatName: json.format.format_name ?? 'unknown',
    durationSec: num(json.format.duration) ?? 0,
    startSec: num(json.format.start_time) ?? 0,
    bitRate: num(json.format.bit_rate) ?? 0,
    streams,
    video: streams.find((s) => s.type === 'video'),
    audio: streams.find((s) => s.type === 'audio'),
  };
}
