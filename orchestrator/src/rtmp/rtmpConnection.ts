/**
 * One RTMP connection: handshake, chunk stream, control messages, and the NetConnection /
 * NetStream command state machine of a publisher (connect → releaseStream/FCPublish →
 * createStream → publish → media … → FCUnpublish/deleteStream). What to do with a publish (key
 * check, segmenting) is the server's business, through `onPublish`.
 *
 * Anything malformed or over a limit closes this connection with one log line; nothing thrown
 * here escapes to the process.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AmfError, decodeAmf0, encodeAmf0, type AmfValue } from './amf.js';
import { ChunkParser, ChunkProtocolError, type ChunkParserLimits, type RtmpMessage } from './chunkParser.js';
import { writeChunks } from './chunkWriter.js';
import { AUDIO_FORMAT_NAMES, audioFormat, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO, VIDEO_CODEC_NAMES, videoInfo } from './flv.js';
import { answerC0C1, HANDSHAKE_SIZE, HandshakeError } from './handshake.js';

export type RtmpConnectionLimits = ChunkParserLimits & {
  handshakeTimeoutMs: number;
  /** No bytes at all for this long closes the connection. */
  idleTimeoutMs: number;
};

/** Message type ids (RTMP spec 5.4, 7.1). */
const MSG = { ACK: 3, USER_CONTROL: 4, WINDOW_ACK_SIZE: 5, SET_PEER_BANDWIDTH: 6, AUDIO: 8, VIDEO: 9, DATA_AMF3: 15, COMMAND_AMF3: 17, DATA_AMF0: 18, COMMAND_AMF0: 20, SET_CHUNK_SIZE: 1 } as const;
const USER_STREAM_BEGIN = 0, USER_PING_REQUEST = 6, USER_PING_RESPONSE = 7;

/** Chunk size this server sends with (small replies only; any client accepts it). */
const OUT_CHUNK_SIZE = 4096;
const WINDOW_ACK_SIZE = 2_500_000;
const MAX_STREAMS_PER_CONNECTION = 8;
/** Media that arrives while the key is being checked is held, up to this much. */
const MAX_EARLY_MEDIA_BYTES = 4 * 1024 * 1024;

export type PublishRequest = { app: string; name: string; key: string; query: string; remote: string; connectionId: number };
export type MediaSink = {
  /** FLV tag type (8 audio, 9 video, 18 script) with its body; false: the sink cannot keep up (closes). */
  media(type: number, timestamp: number, body: Buffer): boolean;
  /** The publish ended: unpublish command, disconnect, or an error. Called once. */
  end(reason: string): void;
};
export type PublishDecision =
  | { ok: true; sink: MediaSink }
  | { ok: false; code: 'NetStream.Publish.BadName' | 'NetStream.Publish.Rejected'; description: string };

export type RtmpConnectionOptions = {
  id: number;
  limits: RtmpConnectionLimits;
  logger: Logger;
  onPublish(req: PublishRequest): Promise<PublishDecision>;
  onClose(conn: RtmpConnection): void;
};

type Publishing = { streamId: number; key: string; sink: MediaSink | null; early: Array<[number, number, Buffer]>; earlyBytes: number; checkedVideo: boolean; checkedAudio: boolean };

export class RtmpConnection {
  readonly remote: string;
  private state: 'c0c1' | 'c2' | 'chunks' | 'closed' = 'c0c1';
  private hs: Buffer = Buffer.alloc(0);
  private readonly parser: ChunkParser;
  private readonly log: Logger;
  private readonly hsTimer: NodeJS.Timeout;
  private app: string | null = null;
  private nextStreamId = 0;
  private publishing: Publishing | null = null;
  private bytesIn = 0;
  private lastAck = 0;
  private peerWindow = WINDOW_ACK_SIZE;

  constructor(private readonly socket: Socket, private readonly opts: RtmpConnectionOptions) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.log = opts.logger.child({ rtmpConnection: opts.id, remote: this.remote });
    // payloads are consumed (muxed, decoded) during onMessage; only held early media is copied
    this.parser = new ChunkParser(opts.limits, (m) => this.onMessage(m), { reusePayloads: true });
    this.hsTimer = setTimeout(() => this.close(`handshake not completed within ${opts.limits.handshakeTimeoutMs} ms`), opts.limits.handshakeTimeoutMs);
    socket.setNoDelay(true);
    socket.setTimeout(opts.limits.idleTimeoutMs, () => this.close(`no data for ${opts.limits.idleTimeoutMs} ms`));
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (err) => this.log.debug({ err }, 'rtmp socket error'));
    socket.on('close', () => this.onSocketClosed());
  }

  get id(): number {
    return this.opts.id;
  }

  /** Closes the connection (once) with a log line saying why. */
  close(why: string, level: 'info' | 'warn' = 'warn'): void {
    if (this.state === 'closed') return;
    this.log[level]({ why }, 'closing rtmp connection');
    this.state = 'closed';
    this.endPublish(why);
    this.parser.release();
    this.socket.end();
    // a peer that never reads must not keep the socket (and its write buffer) alive
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private onSocketClosed(): void {
    clearTimeout(this.hsTimer);
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.log.info('rtmp peer disconnected');
      this.endPublish('disconnected');
      this.parser.release();
    }
    this.opts.onClose(this);
  }

  private onData(data: Buffer): void {
    if (this.state === 'closed') return;
    this.bytesIn += data.length;
    try {
      if (this.state !== 'chunks') data = this.handshake(data);
      if (this.state === 'chunks' && data.length) this.parser.push(data);
      if (this.state === 'chunks' && this.bytesIn - this.lastAck >= this.peerWindow) {
        this.lastAck = this.bytesIn;
        this.sendControl(MSG.ACK, u32(this.bytesIn));
      }
    } catch (err) {
      if (err instanceof ChunkProtocolError || err instanceof HandshakeError || err instanceof AmfError || err instanceof ProtocolViolation) {
        this.close(`${err.name}: ${err.message}`);
      } else {
        this.log.error({ err }, 'unexpected error handling rtmp data');
        this.close('internal error');
      }
    }
  }

  /** Consumes handshake bytes; returns whatever follows C2 (chunk stream data). */
  private handshake(data: Buffer): Buffer {
    this.hs = this.hs.length ? Buffer.concat([this.hs, data]) : data;
    if (this.state === 'c0c1') {
      if (this.hs.length < 1 + HANDSHAKE_SIZE) return Buffer.alloc(0);
      const { reply, scheme } = answerC0C1(this.hs.subarray(0, 1 + HANDSHAKE_SIZE));
      this.log.debug({ scheme }, 'rtmp handshake');
      this.socket.write(reply);
      this.hs = this.hs.subarray(1 + HANDSHAKE_SIZE);
      this.state = 'c2';
    }
    // C2 is not checked: clients fill it differently, and it proves nothing we rely on.
    if (this.hs.length < HANDSHAKE_SIZE) {
      this.hs = Buffer.from(this.hs); // keep a copy, not the socket's buffer
      return Buffer.alloc(0);
    }
    const rest = this.hs.subarray(HANDSHAKE_SIZE);
    this.hs = Buffer.alloc(0);
    this.state = 'chunks';
    clearTimeout(this.hsTimer);
    return rest;
  }

  private send(csid: number, typeId: number, streamId: number, payload: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.socket.write(writeChunks({ csid, typeId, streamId, timestamp: 0, payload }, OUT_CHUNK_SIZE));
  }
  private sendControl(typeId: number, payload: Buffer): void {
    this.send(2, typeId, 0, payload);
  }
  private sendCommand(streamId: number, ...values: AmfValue[]): void {
    this.send(streamId ? 5 : 3, MSG.COMMAND_AMF0, streamId, encodeAmf0(...values));
  }
  private onStatus(streamId: number, level: 'status' | 'error', code: string, description: string): void {
    this.sendCommand(streamId, 'onStatus', 0, null, { level, code, description });
  }

  private onMessage(m: RtmpMessage): void {
    switch (m.typeId) {
      case MSG.COMMAND_AMF0:
      case MSG.COMMAND_AMF3:
        return this.onCommand(m, decodeAmf0(m.typeId === MSG.COMMAND_AMF3 ? amf3Body(m.payload) : m.payload));
      case MSG.DATA_AMF0:
      case MSG.DATA_AMF3:
        return this.onData0(m, decodeAmf0(m.typeId === MSG.DATA_AMF3 ? amf3Body(m.payload) : m.payload));
      case MSG.AUDIO:
      case MSG.VIDEO:
        return this.onMedia(m);
      case MSG.USER_CONTROL:
        if (m.payload.length >= 6 && m.payload.readUInt16BE(0) === USER_PING_REQUEST) {
          this.sendControl(MSG.USER_CONTROL, Buffer.concat([u16(USER_PING_RESPONSE), m.payload.subarray(2, 6)]));
        }
        return;
      case MSG.WINDOW_ACK_SIZE:
        if (m.payload.length < 4) throw new ProtocolViolation('Window Acknowledgement Size shorter than 4 bytes');
        // a tiny window would make us ack every read: keep it sane
        this.peerWindow = Math.max(4096, m.payload.readUInt32BE(0));
        return;
      default:
        return; // Acknowledgement, Set Peer Bandwidth, shared objects, aggregates: nothing to do
    }
  }

  private onCommand(m: RtmpMessage, args: AmfValue[]): void {
    const [name, tidRaw] = args;
    if (typeof name !== 'string') throw new ProtocolViolation('command without a name');
    const tid = typeof tidRaw === 'number' ? tidRaw : 0;
    if (name !== 'connect' && this.app === null) throw new ProtocolViolation(`"${name}" before connect`);
    switch (name) {
      case 'connect': {
        if (this.app !== null) throw new ProtocolViolation('second connect on one connection');
        const cmd = (args[2] && typeof args[2] === 'object' ? args[2] : {}) as Record<string, AmfValue>;
        const app = typeof cmd.app === 'string' ? cmd.app.split('?')[0]!.replace(/\/+$/, '') : '';
        // first, so the peer reads every reply (even an _error) at our chunk size
        this.sendControl(MSG.SET_CHUNK_SIZE, u32(OUT_CHUNK_SIZE));
        if (app !== 'live') {
          this.sendCommand(0, '_error', tid, null, { level: 'error', code: 'NetConnection.Connect.Rejected', description: `unknown application "${app}": publish to rtmp://HOST/live` });
          return this.close(`connect to unknown app "${app}"`);
        }
        this.app = app;
        this.sendControl(MSG.WINDOW_ACK_SIZE, u32(WINDOW_ACK_SIZE));
        this.sendControl(MSG.SET_PEER_BANDWIDTH, Buffer.concat([u32(WINDOW_ACK_SIZE), Buffer.from([2])]));
        const objectEncoding = cmd.objectEncoding === 3 ? 3 : 0;
        this.sendCommand(0, '_result', tid, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, {
          level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding,
        });
        return;
      }
      case 'releaseStream':
      case 'FCPublish':
      case 'getStreamLength':
        if (tid > 0) this.sendCommand(0, '_result', tid, null, undefined);
        return;
      case 'createStream':
        if (this.nextStreamId >= MAX_STREAMS_PER_CONNECTION) throw new ProtocolViolation(`more than ${MAX_STREAMS_PER_CONNECTION} createStream calls`);
        this.sendCommand(0, '_result', tid, null, ++this.nextStreamId);
        return;
      case 'publish':
        return this.onPublishCommand(m.streamId, args[3]);
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream': {
        const p = this.publishing;
        if (p && p.sink) {
          this.onStatus(p.streamId, 'status', 'NetStream.Unpublish.Success', `${p.key} is now unpublished.`);
          this.endPublish('unpublished');
        }
        return;
      }
      default:
        this.log.debug({ command: name }, 'ignoring rtmp command');
    }
  }

  private onPublishCommand(streamId: number, nameArg: AmfValue): void {
    if (streamId === 0 || streamId > this.nextStreamId) throw new ProtocolViolation(`publish on stream ${streamId}, which createStream did not return`);
    if (this.publishing) throw new ProtocolViolation('second publish on one connection');
    const raw = typeof nameArg === 'string' ? nameArg : '';
    const [path = '', query = ''] = raw.split(/\?(.*)/s);
    const key = path.replace(/^\/+/, '');
    const p: Publishing = { streamId, key, sink: null, early: [], earlyBytes: 0, checkedVideo: false, checkedAudio: false };
    this.publishing = p;
    const req: PublishRequest = { app: this.app!, name: raw, key, query, remote: this.remote, connectionId: this.id };
    this.opts.onPublish(req).then(
      (d) => {
        if (this.state === 'closed' || this.publishing !== p) {
          if (d.ok) d.sink.end('disconnected');
          return;
        }
        if (!d.ok) {
          this.onStatus(streamId, 'error', d.code, d.description);
          this.publishing = null;
          return this.close(`publish refused: ${d.code} (${d.description})`, 'info');
        }
        p.sink = d.sink;
        this.sendControl(MSG.USER_CONTROL, Buffer.concat([u16(USER_STREAM_BEGIN), u32(streamId)]));
        this.onStatus(streamId, 'status', 'NetStream.Publish.Start', `${key} is now published.`);
        const early = p.early;
        p.early = [];
        try {
          for (const [type, ts, body] of early) this.toSink(p, type, ts, body);
        } catch (err) {
          // held media replayed here, outside onData: the same errors close the connection
          if (err instanceof ProtocolViolation) return this.close(`${err.name}: ${err.message}`);
          this.log.error({ err }, 'unexpected error handling rtmp media');
          this.close('internal error');
        }
      },
      (err) => {
        this.log.error({ err }, 'publish check failed');
        this.onStatus(streamId, 'error', 'NetStream.Publish.Rejected', 'the server could not check the stream key; try again');
        this.close('publish check failed');
      },
    );
  }

  private onData0(m: RtmpMessage, values: AmfValue[]): void {
    const p = this.publishing;
    if (!p || m.streamId !== p.streamId) return;
    // `@setDataFrame onMetaData {…}` from the encoder becomes the FLV's `onMetaData {…}` script tag
    const v = values[0] === '@setDataFrame' ? values.slice(1) : values;
    if (v[0] !== 'onMetaData') return;
    this.toSink(p, TAG_SCRIPT, 0, encodeAmf0(...v));
  }

  private onMedia(m: RtmpMessage): void {
    const p = this.publishing;
    if (!p || m.streamId !== p.streamId || m.payload.length === 0) return;
    if (m.typeId === MSG.VIDEO && !p.checkedVideo) {
      const v = videoInfo(m.payload);
      if (!v || v.enhanced || v.codecId !== 7) return this.refuseCodec(p, `video codec ${v?.enhanced ? 'from Enhanced RTMP (HEVC/AV1/VP9)' : VIDEO_CODEC_NAMES[v?.codecId ?? -1] ?? `id ${v?.codecId}`} is not supported: send H.264 video`);
      p.checkedVideo = true;
    }
    if (m.typeId === MSG.AUDIO && !p.checkedAudio) {
      const f = audioFormat(m.payload);
      if (f !== 10) return this.refuseCodec(p, `audio format ${AUDIO_FORMAT_NAMES[f ?? -1] ?? `id ${f}`} is not supported: send AAC audio`);
      p.checkedAudio = true;
    }
    this.toSink(p, m.typeId === MSG.VIDEO ? TAG_VIDEO : TAG_AUDIO, m.timestamp, m.payload);
  }

  private refuseCodec(p: Publishing, description: string): void {
    this.onStatus(p.streamId, 'error', 'NetStream.Publish.Rejected', description);
    this.close(`codec refused: ${description}`);
  }

  private toSink(p: Publishing, type: number, ts: number, body: Buffer): void {
    if (!p.sink) {
      p.earlyBytes += body.length;
      if (p.earlyBytes > MAX_EARLY_MEDIA_BYTES) throw new ProtocolViolation('too much media before the publish was accepted');
      p.early.push([type, ts, Buffer.from(body)]); // the parser reuses body's buffer
      return;
    }
    if (!p.sink.media(type, ts, body)) this.close('ingest cannot keep up with this publisher');
  }

  private endPublish(reason: string): void {
    const p = this.publishing;
    this.publishing = null;
    if (p?.sink) p.sink.end(reason);
  }
}

/** The peer broke the command protocol (closes the connection like malformed bytes do). */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
}

/** AMF3 command/data messages start with a format byte (0) before AMF0-encoded values. */
function amf3Body(b: Buffer): Buffer {
  return b.length && b[0] === 0 ? b.subarray(1) : b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
