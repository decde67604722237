import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decodeAmf0, encodeAmf0, type AmfValue } from '../orchestrator/src/rtmp/amf.js';
import { ChunkParser, DEFAULT_CHUNK_LIMITS, type RtmpMessage } from '../orchestrator/src/rtmp/chunkParser.js';
import { writeChunks } from '../orchestrator/src/rtmp/chunkWriter.js';
import { HANDSHAKE_SIZE } from '../orchestrator/src/rtmp/handshake.js';

/**
 * A minimal RTMP publisher for tests that need to see exact status codes or send exact bytes
 * (ffmpeg only prints them). Plain handshake, AMF0 commands, default chunk size 128.
 */
export class TestRtmpClient {
  readonly messages: RtmpMessage[] = [];
  readonly closed: Promise<void>;
  private readonly parser = new ChunkParser({ ...DEFAULT_CHUNK_LIMITS, maxChunkSize: 16 * 1024 * 1024 }, (m) => this.messages.push(m));
  private tid = 1;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  /** TCP connect only (no handshake): for hostile-input tests. */
  static raw(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  }

  static async connect(port: number): Promise<TestRtmpClient> {
    const socket = await TestRtmpClient.raw(port);
    socket.on('error', () => {});
    const c1 = randomBytes(HANDSHAKE_SIZE);
    c1.writeUInt32BE(0, 4);
    socket.write(Buffer.concat([Buffer.from([3]), c1]));
    const client = new TestRtmpClient(socket);
    let hs = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        hs = Buffer.concat([hs, d]);
        if (hs.length < 1 + 2 * HANDSHAKE_SIZE) return;
        socket.off('data', onData);
        socket.write(hs.subarray(1, 1 + HANDSHAKE_SIZE)); // C2 echoes S1
        socket.on('data', (x: Buffer) => client.parser.push(x));
        const rest = hs.subarray(1 + 2 * HANDSHAKE_SIZE);
        if (rest.length) client.parser.push(rest);
        resolve();
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('closed during handshake')));
    });
    return client;
  }

  send(csid: number, typeId: number, streamId: number, payload: Buffer, timestamp = 0): void {
    this.socket.write(writeChunks({ csid, typeId, streamId, timestamp, payload }, 128));
  }

  command(streamId: number, name: string, ...args: AmfValue[]): number {
    const tid = this.tid++;
    this.send(streamId ? 8 : 3, 20, streamId, encodeAmf0(name, tid, ...args));
    return tid;
  }

  /** Decoded AMF0 commands received so far. */
  commands(): AmfValue[][] {
    return this.messages.filter((m) => m.typeId === 20).map((m) => decodeAmf0(m.payload));
  }

  async waitCommand(pred: (c: AmfValue[]) => boolean, timeoutMs = 20_000): Promise<AmfValue[]> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const hit = this.commands().find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching command within ${timeoutMs} ms; got ${JSON.stringify(this.commands())}`);
  }

  /** connect + createStream + publish; resolves with the onStatus info object the server answered. */
  async publish(key: string, app = 'live'): Promise<{ code: string; level: string; description: string }> {
    const ctid = this.command(0, 'connect', { app, type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl: `rtmp://127.0.0.1/${app}` });
    const connected = await this.waitCommand((c) => (c[0] === '_result' || c[0] === '_error') && c[1] === ctid);
    if (connected[0] === '_error') return connected[3] as never;
    const stid = this.command(0, 'createStream', null);
    const created = await this.waitCommand((c) => c[0] === '_result' && c[1] === stid);
    const streamId = created[3] as number;
    this.command(streamId, 'publish', null, key, 'live');
    const status = await this.waitCommand((c) => c[0] === 'onStatus');
    return status[3] as never;
  }

  close(): void {
    this.socket.destroy();
  }
}
