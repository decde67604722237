import { Type, type Static } from 'typebox';
import { RenditionProfileSchema } from '../profiles/profiles.js';
import { TicketParamsSchema } from '../payments/payment.js';

/** Facts about a segment read from its own bytes (see @segmint/media segmentFacts). */
export const SegmentFactsSchema = Type.Object({
  videoCodec: Type.String(),
  audioCodec: Type.Optional(Type.String()),
  audio: Type.Optional(
    Type.Object({
      codec: Type.String(),
      channels: Type.Integer({ minimum: 0 }),
      sampleRate: Type.Integer({ minimum: 0 }),
      frames: Type.Integer({ minimum: 0 }),
      durationSec: Type.Number({ minimum: 0 }),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    }),
  ),
  streams: Type.Optional(Type.Object({ video: Type.Integer(), audio: Type.Integer(), other: Type.Integer() })),
  width: Type.Integer({ minimum: 0 }),
  height: Type.Integer({ minimum: 0 }),
  frames: Type.Integer({ minimum: 0 }),
  fps: Type.Number({ minimum: 0 }),
  durationSec: Type.Number({ minimum: 0 }),
  startSec: Type.Number(),
  videoSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  videoCodecString: Type.String(),
});
export type SegmentFacts = Static<typeof SegmentFactsSchema>;

/** One segment's transcode, as the orchestrator stores it while the segment is in flight. */
export type SegmentJob = {
  /** `${streamId}.${session}.${seq}`: unique per segment. */
  jobId: string;
  streamId: string;
  seq: number;
  /** Facts of the source segment as the orchestrator read them at ingest. */
  source: SegmentFacts;
  /** Ladder already capped to the source. */
  profiles: Static<typeof RenditionProfileSchema>[];
  /** Unix ms when the segment was ingested (for dispatch latency). */
  ingestedAt: number;
  /** The stream's cap on the auction's ask (wei per pixel, decimal); absent: the orchestrator's. */
  maxPricePerPixel?: string;
};

/** What one worker is asked to do for one segment: BullMQ job data on the worker's own queue. */
export type TranscodeJob = SegmentJob & {
  /** Address of the worker that won the auction. */
  worker: string;
  /** Where to GET the source segment. */
  sourceUrl: string;
  /** Base URL for results: PUT `${resultUrl}/${rendition}.ts`, POST `${resultUrl}` with the facts. */
  resultUrl: string;
  /** Bearer token for this job and this worker only. */
  token: string;
  /** Unix ms after which the segment goes to another worker: starting it later is wasted work. */
  deadline: number;
};

/** A worker's report that it could not transcode a job (the orchestrator re-auctions at once). */
export const JobFailureSchema = Type.Object(
  { reason: Type.String({ maxLength: 2000 }) },
  { additionalProperties: false },
);

/** Per-rendition facts a worker reports with its result. */
export const RenditionResultSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the video elementary stream' }),
    audioSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the audio elementary stream (absent: no audio)' })),
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    frames: Type.Integer({ minimum: 0 }),
    durationSec: Type.Number({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type RenditionResult = Static<typeof RenditionResultSchema>;

export const TranscodeResultSchema = Type.Object(
  {
    renditions: Type.Array(RenditionResultSchema, { minItems: 1, maxItems: 16 }),
    /**
     * ffmpeg build + encoder + settings: results with equal fingerprints must hash equal. Must be
     * the fingerprint the worker registered with (it is also a leaf of the signed commitment).
     */
    encoderFingerprint: Type.String({ maxLength: 512 }),
    workerId: Type.String({ maxLength: 128 }),
    transcodeMs: Type.Number({ minimum: 0 }),
    /**
     * The worker's signed commitment to these renditions: the Merkle root of (jobId, rendition,
     * sha256) leaves and its EIP-712 signature for StakingManager (evidence if it lied).
     */
    commitment: Type.Object(
      {
        root: Type.String({ pattern: '^0x[0-9a-f]{64}$' }),
        signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
      },
      { additionalProperties: false },
    ),
    /** How the worker wants to be paid for this result (absent: it takes no tickets). */
    ticketParams: Type.Optional(TicketParamsSchema),
  },
  { additionalProperties: false },
);
export type TranscodeResult = Static<typeof TranscodeResultSchema>;
