// The part of bittorrent-tracker's server (it ships no types) that p2p/tracker.ts uses.
declare module 'bittorrent-tracker/server' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';
  /** A `ws` WebSocket, with whatever the caller tags it with. */
  export type TrackerSocket = EventEmitter & { close(): void; segmint?: unknown };
  type Filter = (infoHash: string, params: { socket?: TrackerSocket }, cb: (err: Error | null) => void) => void;
  export default class Server extends EventEmitter {
    constructor(opts: { http: false; udp: false; ws: { noServer: true; maxPayload?: number }; stats: false; interval?: number; filter?: Filter; trustProxy?: boolean });
    ws: { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: TrackerSocket) => void): void };
    onWebSocketConnection(socket: TrackerSocket, opts?: { trustProxy?: boolean }): void;
    close(cb?: (err: Error | null) => void): void;
  }
}

// The client (p2p-media-loader's tracker client) as player/p2pPatches.ts touches it.
declare module 'bittorrent-tracker' {
  const Client: { prototype: { emit(event: string | symbol, ...args: unknown[]): boolean } };
  export default Client;
}
