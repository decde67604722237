import { ChunkParser, ChunkProtocolError, DEFAULT_CHUNK_LIMITS, type RtmpMessage } from './chunkParser.js';
import { writeChunks } from './chunkWriter.js';

const collect = (limits = DEFAULT_CHUNK_LIMITS) => {
  const got: RtmpMessage[] = [];
  const parser = new ChunkParser(limits, (m) => got.push(m));
  return { parser, got };
};

/** fmt 0 header: basic header, ts(3), len(3), type, stream id (LE). */
const fmt0 = (csid: number, ts: number, len: number, type: number, sid: number) => {
  const b = Buffer.alloc(12);
  b[0] = csid;
  b.writeUIntBE(ts, 1, 3);
  b.writeUIntBE(len, 4, 3);
  b[7] = type;
  b.writeUInt32LE(sid, 8);
  return b;
};
const fmt1 = (csid: number, delta: number, len: number, type: number) => {
  const b = Buffer.alloc(8);
  b[0] = 0x40 | csid;
  b.writeUIntBE(delta, 1, 3);
  b.writeUIntBE(len, 4, 3);
  b[7] = type;
  return b;
};
const fmt2 = (csid: number, delta: number) => {
  const b = Buffer.alloc(4);
  b[0] = 0x80 | csid;
  b.writeUIntBE(delta, 1, 3);
  return b;
};
const fmt3 = (csid: number) => Buffer.from([0xc0 | csid]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const bytes = (n: number, fill = 0xab) => Buffer.alloc(n, fill);
const setChunkSize = (n: number) => Buffer.concat([fmt0(2, 0, 4, 1, 0), u32(n)]);

/** Feeds in every split (one byte at a time and whole), so no result depends on read boundaries. */
function parseBothWays(input: Buffer) {
  const whole = collect();
  whole.parser.push(input);
  const bytewise = collect();
  for (let i = 0; i < input.length; i++) bytewise.parser.push(input.subarray(i, i + 1));
  expect(bytewise.got).toEqual(whole.got);
  return whole.got;
}

describe('ChunkParser', () => {
  it('reads a fmt 0 message with a one-byte basic header', () => {
    const [m] = parseBothWays(Buffer.concat([fmt0(3, 1000, 5, 20, 0), Buffer.from('hello')]));
    expect(m).toEqual({ csid: 3, typeId: 20, streamId: 0, timestamp: 1000, payload: Buffer.from('hello') });
  });

  it('reads two- and three-byte basic headers (csid 64–319 and 320–65599)', () => {
    const two = Buffer.concat([Buffer.from([0x00, 100 - 64]), fmt0(0, 7, 1, 9, 1).subarray(1), Buffer.from([1])]);
    const three = Buffer.concat([Buffer.from([0x01, (1000 - 64) & 0xff, (1000 - 64) >> 8]), fmt0(0, 8, 1, 8, 1).subarray(1), Buffer.from([2])]);
    const got = parseBothWays(Buffer.concat([two, three]));
    expect(got.map((m) => [m.csid, m.timestamp, m.typeId])).toEqual([[100, 7, 9], [1000, 8, 8]]);
  });

  it('applies fmt 1, fmt 2 and fmt 3 timestamp deltas and inherits length, type and stream id', () => {
    const got = parseBothWays(Buffer.concat([
      fmt0(4, 100, 2, 9, 1), bytes(2),
      fmt1(4, 33, 3, 8), bytes(3), // ts 133, new length and type
      fmt2(4, 34), bytes(3), // ts 167, same length and type
      fmt3(4), bytes(3), // new message, same delta: ts 201
    ]));
    expect(got.map((m) => [m.timestamp, m.typeId, m.streamId, m.payload.length])).toEqual([
      [100, 9, 1, 2], [133, 8, 1, 3], [167, 8, 1, 3], [201, 8, 1, 3],
    ]);
  });

  it('treats a fmt 3 message right after fmt 0 as repeating the fmt 0 timestamp as delta (as ffmpeg does)', () => {
    const got = parseBothWays(Buffer.concat([fmt0(4, 40, 1, 9, 1), bytes(1), fmt3(4), bytes(1)]));
    expect(got.map((m) => m.timestamp)).toEqual([40, 80]);
  });

  it('splits a long message into chunks of the current chunk size (default 128)', () => {
    const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const input = Buffer.concat([fmt0(6, 0, 300, 9, 1), payload.subarray(0, 128), fmt3(6), payload.subarray(128, 256), fmt3(6), payload.subarray(256)]);
    const [m] = parseBothWays(input);
    expect(m!.payload).toEqual(payload);
  });

  it('reads extended timestamps on fmt 0 and on every fmt 3 continuation chunk', () => {
    const ts = 0x12345678;
    const payload = bytes(200, 7);
    const input = Buffer.concat([fmt0(5, 0xffffff, 200, 9, 1), u32(ts), payload.subarray(0, 128), fmt3(5), u32(ts), payload.subarray(128)]);
    const [m] = parseBothWays(input);
    expect(m).toMatchObject({ timestamp: ts, payload });
  });

  it('reads an extended delta on fmt 1 and carries it to a following fmt 3 message', () => {
    const got = parseBothWays(Buffer.concat([
      fmt0(5, 10, 1, 9, 1), bytes(1),
      fmt1(5, 0xffffff, 1, 9), u32(0x01000000), bytes(1),
      fmt3(5), u32(0x01000000), bytes(1),
    ]));
    expect(got.map((m) => m.timestamp)).toEqual([10, 10 + 0x01000000, 10 + 2 * 0x01000000]);
  });

  it('wraps timestamps at 32 bits', () => {
    const got = parseBothWays(Buffer.concat([fmt0(5, 0xffffff, 1, 9, 1), u32(0xfffffff0), bytes(1), fmt2(5, 0x20), bytes(1)]));
    expect(got.map((m) => m.timestamp)).toEqual([0xfffffff0, 0x10]);
  });

  it('applies Set Chunk Size to the very next chunk, also mid-message on another chunk stream', () => {
    const video = Buffer.from(Array.from({ length: 400 }, (_, i) => (i * 7) & 0xff));
    const input = Buffer.concat([
      fmt0(6, 0, 400, 9, 1), video.subarray(0, 128), // first chunk at 128
      setChunkSize(4096), // chunk size changes while csid 6 is mid-message
      fmt3(6), video.subarray(128), // rest in one chunk of ≤ 4096
    ]);
    const got = parseBothWays(input);
    expect(got).toHaveLength(1);
    expect(got[0]!.payload).toEqual(video);
  });

  it('assembles messages of interleaved chunk streams', () => {
    const a = bytes(200, 1);
    const v = bytes(300, 2);
    const input = Buffer.concat([
      fmt0(4, 0, 200, 8, 1), a.subarray(0, 128),
      fmt0(6, 0, 300, 9, 1), v.subarray(0, 128),
      fmt3(4), a.subarray(128),
      fmt3(6), v.subarray(128, 256),
      fmt3(6), v.subarray(256),
    ]);
    const got = parseBothWays(input);
    expect(got.map((m) => [m.csid, m.payload])).toEqual([[4, a], [6, v]]);
  });

  it('drops a half-received message on Abort and reads the next one cleanly', () => {
    const input = Buffer.concat([
      fmt0(6, 0, 300, 9, 1), bytes(128, 1), // 172 bytes never come
      fmt0(2, 0, 4, 2, 0), u32(6), // Abort csid 6
      fmt0(6, 50, 3, 9, 1), Buffer.from([9, 9, 9]),
    ]);
    const got = parseBothWays(input);
    expect(got.map((m) => [m.timestamp, m.payload])).toEqual([[50, Buffer.from([9, 9, 9])]]);
  });

  it('delivers zero-length messages', () => {
    const got = parseBothWays(fmt0(3, 5, 0, 20, 0));
    expect(got).toEqual([{ csid: 3, typeId: 20, streamId: 0, timestamp: 5, payload: Buffer.alloc(0) }]);
  });

  it('round-trips what the chunk writer produces, at any chunk size, with extended timestamps', () => {
    const payload = bytes(5000, 3);
    const { parser, got } = collect();
    parser.push(setChunkSize(1000));
    parser.push(writeChunks({ csid: 7, typeId: 9, streamId: 1, timestamp: 0x1ffffff, payload }, 1000));
    expect(got).toEqual([{ csid: 7, typeId: 9, streamId: 1, timestamp: 0x1ffffff, payload }]);
  });

  const fails = (input: Buffer, code: string, limits = DEFAULT_CHUNK_LIMITS) => {
    const { parser } = collect(limits);
    let err: unknown;
    try {
      parser.push(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChunkProtocolError);
    expect((err as ChunkProtocolError).code).toBe(code);
    parser.push(Buffer.from([1, 2, 3])); // after a failure input is ignored, never throws again
  };

  it('refuses a chunk stream that starts without a fmt 0 header', () => fails(fmt1(5, 0, 1, 9), 'BAD_HEADER'));
  it('refuses a new header in the middle of a message', () => fails(Buffer.concat([fmt0(5, 0, 300, 9, 1), bytes(128), fmt2(5, 1)]), 'BAD_HEADER'));
  it('refuses an oversized chunk size', () => fails(setChunkSize(0x7fffffff), 'CHUNK_SIZE'));
  it('refuses chunk size 0', () => fails(setChunkSize(0), 'CHUNK_SIZE'));
  it('refuses a 16 MB message length before allocating it', () => fails(fmt0(4, 0, 0xffffff, 9, 1), 'MESSAGE_TOO_LARGE'));
  it('refuses more chunk streams than the limit', () => {
    const many = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.concat([fmt0(3 + i, 0, 1, 20, 0), bytes(1)])));
    fails(many, 'TOO_MANY_CHUNK_STREAMS');
  });
  it('refuses to assemble more declared bytes at once than its budget', () => {
    const limits = { ...DEFAULT_CHUNK_LIMITS, maxMessageSize: 1000 };
    fails(Buffer.concat([fmt0(4, 0, 900, 9, 1), bytes(128), fmt0(5, 0, 900, 9, 1), bytes(128), fmt0(6, 0, 900, 9, 1)]), 'TOO_MUCH_BUFFERED', limits);
  });

  it('survives endless extended-timestamp chunks: memory stays at one message', () => {
    const { parser, got } = collect();
    parser.push(setChunkSize(1)); // one body byte per chunk: the most header overhead possible
    const len = 100_000;
    parser.push(Buffer.concat([fmt0(4, 0xffffff, len, 9, 1), u32(0xffffffff), bytes(1)]));
    const cont = Buffer.concat([fmt3(4), u32(0xffffffff), bytes(1)]);
    const block = Buffer.concat(Array.from({ length: 1000 }, () => cont));
    for (let i = 0; i < 99; i++) parser.push(block);
    parser.push(Buffer.concat(Array.from({ length: 999 }, () => cont)));
    expect(got).toHaveLength(1);
    expect(got[0]!.payload.length).toBe(len);
    expect(got[0]!.timestamp).toBe(0xffffffff);
  });
});

describe('ChunkParser reusing payload buffers', () => {
  it('hands each message the right bytes during onMessage, in one kept buffer per chunk stream', () => {
    const seen: Array<{ payload: string; buffer: ArrayBufferLike }> = [];
    const parser = new ChunkParser(DEFAULT_CHUNK_LIMITS, (m) => seen.push({ payload: m.payload.toString('hex'), buffer: m.payload.buffer }), { reusePayloads: true });
    const msgs = [bytes(100, 1), bytes(90, 2), bytes(110, 3), bytes(30, 4)];
    for (const [i, b] of msgs.entries()) parser.push(Buffer.concat([i === 0 ? fmt0(6, 0, b.length, 9, 1) : fmt1(6, 33, b.length, 9), b]));
    expect(seen.map((s) => s.payload)).toEqual(msgs.map((b) => b.toString('hex')));
    expect(new Set(seen.map((s) => s.buffer)).size).toBe(1);
  });

  it('gives messages over the reuse limit a buffer of their own, so kept memory stays bounded', () => {
    const buffers: ArrayBufferLike[] = [];
    const parser = new ChunkParser(DEFAULT_CHUNK_LIMITS, (m) => buffers.push(m.payload.buffer), { reusePayloads: true });
    parser.push(setChunkSize(1024 * 1024));
    const big = bytes(600 * 1024);
    parser.push(Buffer.concat([fmt0(6, 0, big.length, 9, 1), big]));
    parser.push(Buffer.concat([fmt1(6, 33, big.length, 9), big]));
    expect(buffers[0]).not.toBe(buffers[1]);
    // other chunk streams keep buffers too, up to the parser's total of 1 MiB
    for (let csid = 7; csid < 12; csid++) parser.push(Buffer.concat([fmt0(csid, 0, 400 * 1024, 9, 1), bytes(400 * 1024)]));
    expect((parser as unknown as { spareBytes: number }).spareBytes).toBeLessThanOrEqual(1024 * 1024);
    expect((parser as unknown as { spareBytes: number }).spareBytes).toBeGreaterThan(0);
  });
});

describe('ChunkParser under random and hostile bytes', () => {
  it('throws only ChunkProtocolError and never assembles beyond its budget (20,000 seeded inputs)', () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const limits = { maxChunkSize: 65536, maxMessageSize: 256 * 1024, maxChunkStreams: 8 };
    // a valid start (chunk size, a message split in chunks) to mutate, so the fuzz gets past the first header
    const valid = Buffer.concat([setChunkSize(300), fmt0(6, 10, 700, 9, 1), bytes(300), fmt3(6), bytes(300), fmt3(6), bytes(100), fmt1(6, 33, 5, 8), bytes(5)]);
    let messages = 0;
    for (let i = 0; i < 20_000; i++) {
      const parser = new ChunkParser(limits, () => messages++);
      const input = i % 2 ? Buffer.from(valid) : Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 400) }, () => Math.floor(rnd() * 256)));
      if (i % 2) for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++) input[Math.floor(rnd() * input.length)] = Math.floor(rnd() * 256);
      try {
        // random split points: state must carry across reads
        for (let o = 0; o < input.length; ) {
          const n = 1 + Math.floor(rnd() * 64);
          parser.push(input.subarray(o, o + n));
          o += n;
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ChunkProtocolError);
      }
      expect((parser as unknown as { assembling: number }).assembling).toBeLessThanOrEqual(limits.maxMessageSize * 2);
      expect(((parser as unknown as { pending: Buffer | null }).pending?.length ?? 0)).toBeLessThanOrEqual(18);
    }
    expect(messages).toBeGreaterThan(0);
  });
});
