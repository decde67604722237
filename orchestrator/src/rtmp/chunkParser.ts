/**
 * RTMP chunk stream reader: turns the bytes after the handshake into whole messages.
 *
 * Handles basic headers of 1–3 bytes, message headers fmt 0–3, extended timestamps (also on fmt 3
 * chunks, as the spec and librtmp/ffmpeg send them), per-chunk-stream state, chunks of different
 * streams interleaved, and the two chunk-layer control messages (Set Chunk Size, Abort), which take
 * effect on the very next byte.
 *
 * Bytes are copied once, straight into the message's buffer; besides message buffers the parser
 * never holds more than one partial chunk header (≤ 18 bytes). Every limit violation or malformed
 * header throws ChunkProtocolError: the caller closes that one connection.
 *
 * With `reusePayloads`, a message's payload is only valid during the onMessage call: each chunk
 * stream assembles into a buffer it keeps for the next message (up to REUSE_MAX_BYTES each,
 * REUSE_TOTAL_BYTES per parser; bigger messages get a buffer of their own). A media message per
 * new ArrayBuffer was most of what the garbage collector did at 100 streams.
 */

export type RtmpMessage = {
  /** Chunk stream id the message arrived on. */
  csid: number;
  typeId: number;
  /** Message stream id (0: control; the id createStream returned for media). */
  streamId: number;
  /** Milliseconds, 32-bit, wraps. */
  timestamp: number;
  payload: Buffer;
};

export type ChunkParserLimits = {
  /** Largest chunk size a peer may set (Set Chunk Size above it closes the connection). */
  maxChunkSize: number;
  /** Largest message length accepted in a chunk header. */
  maxMessageSize: number;
  /** Distinct chunk stream ids per connection. */
  maxChunkStreams: number;
  /** Sum of declared lengths of messages being assembled at once (all chunk streams). */
  maxAssemblingBytes?: number;
};

export const DEFAULT_CHUNK_LIMITS: ChunkParserLimits = {
  maxChunkSize: 1024 * 1024,
  maxMessageSize: 8 * 1024 * 1024,
  maxChunkStreams: 32,
};

export type ChunkErrorCode = 'BAD_HEADER' | 'CHUNK_SIZE' | 'MESSAGE_TOO_LARGE' | 'TOO_MANY_CHUNK_STREAMS' | 'TOO_MUCH_BUFFERED';

export class ChunkProtocolError extends Error {
  override name = 'ChunkProtocolError';
  constructor(readonly code: ChunkErrorCode, message: string) {
    super(message);
  }
}

export const MSG_SET_CHUNK_SIZE = 1;
export const MSG_ABORT = 2;

type ChunkStream = {
  /** A fmt 0 header was seen, so fmt 1–3 have something to inherit from. */
  started: boolean;
  timestamp: number;
  /** fmt 0: the absolute timestamp; fmt 1/2: the delta (what a fmt 3 new message adds). */
  delta: number;
  /** The last header carried an extended timestamp, so fmt 3 chunks carry one too. */
  extended: boolean;
  length: number;
  typeId: number;
  streamId: number;
  /** Message being assembled, or null between messages. */
  payload: Buffer | null;
  received: number;
  /** Buffer kept for this chunk stream's next message (reusePayloads). */
  spare: Buffer | null;
};

export type ChunkParserOptions = {
  /** Payloads are valid only during onMessage (their buffers are reused): the consumer copies what it keeps. */
  reusePayloads?: boolean;
};

const REUSE_MAX_BYTES = 512 * 1024;
const REUSE_TOTAL_BYTES = 1024 * 1024;

const MAX_HEADER = 3 + 11 + 4;

export class ChunkParser {
  /** Chunk size the peer sends with (Set Chunk Size changes it). */
  chunkSize = 128;
  private readonly streams = new Map<number, ChunkStream>();
  private readonly maxAssembling: number;
  private assembling = 0;
  /** Bytes of a chunk header that straddled two reads. */
  private pending: Buffer | null = null;
  /** Chunk stream whose chunk body is being read, and how many body bytes are left. */
  private body: ChunkStream | null = null;
  private bodyCsid = 0;
  private bodyLeft = 0;
  private closed = false;
  private readonly reuse: boolean;
  /** Bytes held in chunk streams' spare buffers. */
  private spareBytes = 0;

  constructor(
    private readonly limits: ChunkParserLimits,
    private readonly onMessage: (m: RtmpMessage) => void,
    options: ChunkParserOptions = {},
  ) {
    this.maxAssembling = limits.maxAssemblingBytes ?? limits.maxMessageSize * 2;
    this.reuse = options.reusePayloads ?? false;
  }

  /** Feeds bytes; calls onMessage for each completed message; throws ChunkProtocolError. */
  push(data: Buffer): void {
    if (this.closed) return;
    try {
      this.parse(data);
    } catch (err) {
      this.closed = true; // a stream that failed once is never parsed again
      this.release();
      throw err;
    }
  }

  /** Drops every partially assembled message (connection closing). */
  release(): void {
    this.streams.clear();
    this.spareBytes = 0;
    this.pending = null;
    this.body = null;
    this.assembling = 0;
  }

  private parse(input: Buffer): void {
    let buf = input;
    if (this.pending) {
      buf = Buffer.concat([this.pending, input]);
      this.pending = null;
    }
    let o = 0;
    while (o < buf.length) {
      if (this.body) {
        o = this.readBody(buf, o);
        continue;
      }
      const next = this.readHeader(buf, o);
      if (next < 0) {
        this.pending = Buffer.from(buf.subarray(o)); // copy: do not pin the socket's buffer
        return;
      }
      o = next;
    }
  }

  /** Parses one chunk header at `o`; returns the offset after it, or -1 if more bytes are needed. */
  private readHeader(buf: Buffer, o: number): number {
    const avail = buf.length - o;
    const b0 = buf[o]!;
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    let p = o + 1;
    if (csid === 0) {
      if (avail < 2) return -1;
      csid = 64 + buf[p]!;
      p += 1;
    } else if (csid === 1) {
      if (avail < 3) return -1;
      csid = 64 + buf[p]! + buf[p + 1]! * 256;
      p += 2;
    }
    const mh = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (buf.length < p + mh) return -1;

    let cs = this.streams.get(csid);
    if (!cs) {
      if (fmt !== 0) throw new ChunkProtocolError('BAD_HEADER', `chunk stream ${csid} starts with a fmt ${fmt} header (needs fmt 0)`);
      if (this.streams.size >= this.limits.maxChunkStreams) {
        throw new ChunkProtocolError('TOO_MANY_CHUNK_STREAMS', `more than ${this.limits.maxChunkStreams} chunk streams on one connection`);
      }
      cs = { started: false, timestamp: 0, delta: 0, extended: false, length: 0, typeId: 0, streamId: 0, payload: null, received: 0, spare: null };
      this.streams.set(csid, cs);
    }
    if (fmt !== 3 && cs.payload) {
      throw new ChunkProtocolError('BAD_HEADER', `fmt ${fmt} header on chunk stream ${csid} in the middle of a message (${cs.received}/${cs.length} bytes)`);
    }

    let ts = 0;
    if (fmt <= 2) ts = buf.readUIntBE(p, 3);
    if (fmt <= 1) {
      const length = buf.readUIntBE(p + 3, 3);
      if (length > this.limits.maxMessageSize) {
        throw new ChunkProtocolError('MESSAGE_TOO_LARGE', `message of ${length} bytes on chunk stream ${csid} (limit ${this.limits.maxMessageSize})`);
      }
      cs.length = length;
      cs.typeId = buf[p + 6]!;
    }
    if (fmt === 0) cs.streamId = buf.readUInt32LE(p + 7);
    p += mh;

    const extended = fmt === 3 ? cs.extended : ts === 0xffffff;
    if (extended) {
      if (buf.length < p + 4) return -1;
      ts = buf.readUInt32BE(p);
      p += 4;
    }
    // Header complete: only now change state (a header cut short is re-read whole next time).
    cs.extended = extended;
    const newMessage = !cs.payload;
    if (fmt === 0) {
      cs.timestamp = ts;
      cs.delta = ts;
      cs.started = true;
    } else if (fmt === 1 || fmt === 2) {
      cs.delta = ts;
      cs.timestamp = (cs.timestamp + ts) >>> 0;
    } else if (newMessage) {
      // fmt 3 starting a message: repeats the previous delta (after fmt 0, its timestamp)
      cs.timestamp = (cs.timestamp + cs.delta) >>> 0;
    }
    if (newMessage) {
      if (this.assembling + cs.length > this.maxAssembling) {
        throw new ChunkProtocolError('TOO_MUCH_BUFFERED', `messages being assembled would exceed ${this.maxAssembling} bytes`);
      }
      cs.payload = this.reuse ? this.reusable(cs) : Buffer.allocUnsafe(cs.length);
      cs.received = 0;
      this.assembling += cs.length;
    }
    this.body = cs;
    this.bodyCsid = csid;
    this.bodyLeft = Math.min(this.chunkSize, cs.length - cs.received);
    if (this.bodyLeft === 0) this.finishChunk(cs, csid); // zero-length message
    return p;
  }

  /** A buffer for the chunk stream's next message: its spare when big enough, else a new one it may keep. */
  private reusable(cs: ChunkStream): Buffer {
    const n = cs.length;
    if (cs.spare && cs.spare.length >= n) return cs.spare.subarray(0, n);
    if (n > REUSE_MAX_BYTES) return Buffer.allocUnsafe(n);
    // grow with headroom (frames vary in size); keep it when the parser's total allows
    const size = Math.min(REUSE_MAX_BYTES, Math.max(4096, Math.ceil(n * 1.25)));
    const held = cs.spare?.length ?? 0;
    if (this.spareBytes - held + size > REUSE_TOTAL_BYTES) return Buffer.allocUnsafe(n);
    this.spareBytes += size - held;
    cs.spare = Buffer.allocUnsafeSlow(size);
    return cs.spare.subarray(0, n);
  }

  private readBody(buf: Buffer, o: number): number {
    const cs = this.body!;
    const n = Math.min(this.bodyLeft, buf.length - o);
    buf.copy(cs.payload!, cs.received, o, o + n);
    cs.received += n;
    this.bodyLeft -= n;
    if (this.bodyLeft === 0) this.finishChunk(cs, this.bodyCsid);
    return o + n;
  }

  private finishChunk(cs: ChunkStream, csid: number): void {
    this.body = null;
    if (cs.received < cs.length) return;
    const payload = cs.payload!;
    cs.payload = null;
    this.assembling -= cs.length;
    const m: RtmpMessage = { csid, typeId: cs.typeId, streamId: cs.streamId, timestamp: cs.timestamp, payload };
    if (this.control(m)) return;
    this.onMessage(m);
  }

  /** Chunk-layer control messages act here, before the next chunk is read. */
  private control(m: RtmpMessage): boolean {
    if (m.typeId === MSG_SET_CHUNK_SIZE) {
      if (m.payload.length < 4) throw new ChunkProtocolError('BAD_HEADER', 'Set Chunk Size message shorter than 4 bytes');
      const size = m.payload.readUInt32BE(0) & 0x7fffffff;
      if (size < 1 || size > this.limits.maxChunkSize) {
        throw new ChunkProtocolError('CHUNK_SIZE', `peer set chunk size ${size} (allowed 1 to ${this.limits.maxChunkSize})`);
      }
      this.chunkSize = size;
      return true;
    }
    if (m.typeId === MSG_ABORT) {
      if (m.payload.length < 4) throw new ChunkProtocolError('BAD_HEADER', 'Abort message shorter than 4 bytes');
      const cs = this.streams.get(m.payload.readUInt32BE(0));
      if (cs?.payload) {
        this.assembling -= cs.length;
        cs.payload = null;
        cs.received = 0;
      }
      return true;
    }
    return false;
  }
}

/** Header size bound, for callers sizing buffers. */
export const MAX_CHUNK_HEADER_BYTES = MAX_HEADER;
