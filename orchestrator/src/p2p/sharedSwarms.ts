import { randomUUID } from 'node:crypto';
import type Server from 'bittorrent-tracker/server';
import type { TrackerSocket } from 'bittorrent-tracker/server';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisClient } from '../redis/redisClient.js';

/**
 * A peer stays in a swarm this long after its last announce. Players announce every 12 s (the
 * websocket interval bittorrent-tracker's server answers: 60 s / 5), and a closed connection
 * leaves its swarms at once; the TTL is for orchestrators that die with their connections.
 */
export const PEER_TTL_MS = 45_000;

// KEYS: the swarm's peers (zset: peer id → expiry ms), their orchestrators (hash: peer id → node).
// ARGV: now, peer id, node, numwant. Drops expired peers, adds or refreshes this one, returns
// [swarm size, id1, node1, id2, node2, …] for up to numwant + 1 random peers (one may be itself),
// or [-1] when a live peer of that id is held by another orchestrator (an id is one connection's).
const ANNOUNCE = `
local at = redis.call('HGET', KEYS[2], ARGV[2])
if at and at ~= ARGV[3] and tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]) or 0) > tonumber(ARGV[1]) then
  return { -1 }
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
if #expired > 0 then
  redis.call('ZREM', KEYS[1], unpack(expired))
  redis.call('HDEL', KEYS[2], unpack(expired))
end
local ttl = ${PEER_TTL_MS}
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + ttl, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local out = { redis.call('ZCARD', KEYS[1]) }
local want = tonumber(ARGV[4])
if want > 0 then
  for _, id in ipairs(redis.call('ZRANDMEMBER', KEYS[1], want + 1)) do
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
  end
end
return out`;

// KEYS as above; ARGV: peer id, node. Removes the peer if this node holds it (it may have moved).
const LEAVE = `
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 0`;

type Commands = {
  segmintP2pAnnounce(...a: (string | number)[]): Promise<[number, ...string[]]>;
  segmintP2pLeave(...a: (string | number)[]): Promise<number>;
};

/** What bittorrent-tracker's server hands a swarm (lib/server/parse-websocket.js), ids in hex. */
type AnnounceParams = { peer_id: string; event?: string; numwant?: number; socket?: PeerSocket };
type PeerSocket = TrackerSocket & { peerId?: string | null; infoHashes?: string[] | null; destroyed?: boolean; send(msg: string, cb?: (err?: Error) => void): void; onSend?: (err?: Error) => void };
/** A peer as the server uses one: it sends offers and answers with `peer.socket.send`. */
type PeerRef = { peerId: string; socket: { send(msg: string): void; onSend(): void } };
type Reply = { complete: number; incomplete: number; peers: PeerRef[] };

/**
 * The tracker's swarms in Redis, so viewers of one stream meet whichever orchestrator their
 * tracker connection reached. It replaces bittorrent-tracker's swarm store (`createSwarm`,
 * `getSwarm`, its documented seam) and keeps the rest of its server: message parsing, the
 * admission filter, the offer and answer messages. Per swarm (stream and rendition), in one hash
 * tag per stream: `PREFIX:p2p:{PLAYBACK_ID}:peers:INFO_HASH` (zset, peer id → expiry) and
 * `…:at:INFO_HASH` (hash, peer id → orchestrator instance). An offer or answer for a peer whose
 * connection is here goes down its socket; for a peer elsewhere it is published on that
 * orchestrator's channel `PREFIX:p2p:node:INSTANCE`, which each orchestrator subscribes to.
 */
export class SharedSwarms {
  readonly node = randomUUID();
  private readonly redis: RedisClient & Commands;
  private readonly local = new Map<string, PeerSocket>(); // peer id → its connection to this orchestrator
  private readonly swarms = new Map<string, SharedSwarm>();
  private readonly held = new WeakMap<PeerSocket, Map<string, [playbackId: string, infoHash: string, peerId: string]>>();
  private sub?: RedisClient;

  constructor(redis: RedisClient, private readonly prefix: string, private readonly logger: Logger) {
    if (!('segmintP2pAnnounce' in redis)) redis.defineCommand('segmintP2pAnnounce', { numberOfKeys: 2, lua: ANNOUNCE });
    if (!('segmintP2pLeave' in redis)) redis.defineCommand('segmintP2pLeave', { numberOfKeys: 2, lua: LEAVE });
    this.redis = redis as RedisClient & Commands;
  }

  private channel(node: string) {
    return `${this.prefix}:p2p:node:${node}`;
  }

  keys(playbackId: string, infoHash: string): [string, string] {
    return [`${this.prefix}:p2p:{${playbackId}}:peers:${infoHash}`, `${this.prefix}:p2p:{${playbackId}}:at:${infoHash}`];
  }

  /** Subscribes to this orchestrator's channel and takes over the server's swarm store. */
  async start(server: Server): Promise<void> {
    const sub = (this.sub = this.redis instanceof Cluster ? this.redis.duplicate() : this.redis.duplicate());
    sub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'tracker relay connection'));
    sub.on('message', (_channel: string, raw: string) => this.onRelayed(raw));
    await sub.subscribe(this.channel(this.node));
    const swarmOf = (infoHash: string, cb: (err: Error | null, swarm: SharedSwarm) => void) => {
      let swarm = this.swarms.get(infoHash);
      if (!swarm) this.swarms.set(infoHash, (swarm = new SharedSwarm(infoHash, this)));
      (server as unknown as { torrents: Record<string, SharedSwarm> }).torrents[infoHash] = swarm; // read when a socket closes
      process.nextTick(() => cb(null, swarm));
    };
    Object.assign(server, { createSwarm: swarmOf, getSwarm: swarmOf });
  }

  stop(): void {
    this.sub?.disconnect();
  }

  /**
   * Adds or refreshes a peer. A peer id belongs to the connection that announced it while that one
   * lives; one connection may hold several (p2p-media-loader has one peer id per swarm, and its
   * tracker client shares one websocket between a page's swarms).
   */
  async announce(playbackId: string, infoHash: string, p: AnnounceParams): Promise<Reply> {
    const socket = p.socket!;
    const holder = this.local.get(p.peer_id);
    if (holder && holder !== socket && !holder.destroyed) throw new Error('peer_id in use');
    const [size, ...rest] = await this.redis.segmintP2pAnnounce(...this.keys(playbackId, infoHash), Date.now(), p.peer_id, this.node, p.numwant ?? 0);
    if (Number(size) < 0) throw new Error('peer_id in use'); // held by a connection to another orchestrator
    if (socket.destroyed) {
      // closed while Redis answered: its close handling has run, so leave here
      await this.leave(playbackId, infoHash, p.peer_id);
      throw new Error('connection closed');
    }
    this.hold(socket, playbackId, infoHash, p.peer_id);
    const peers: PeerRef[] = [];
    for (let i = 0; i + 1 < rest.length && peers.length < (p.numwant ?? 0); i += 2) {
      if (rest[i] !== p.peer_id && rest[i + 1]) peers.push(this.ref(playbackId, infoHash, rest[i]!, rest[i + 1]));
    }
    return { complete: 0, incomplete: Number(size), peers };
  }

  /** Offers for `peerId` come down `socket` from now on; when it closes, its peers leave their swarms. */
  private hold(socket: PeerSocket, playbackId: string, infoHash: string, peerId: string): void {
    if (this.local.get(peerId) !== socket) this.local.set(peerId, socket);
    let held = this.held.get(socket);
    if (!held) {
      this.held.set(socket, (held = new Map()));
      // bittorrent-tracker's own close handling leaves only the first peer id's swarms
      socket.once('close', () => {
        for (const [key, [pb, ih, id]] of held!) {
          held!.delete(key);
          if (this.local.get(id) === socket) this.local.delete(id);
          this.leave(pb, ih, id).catch((err: Error) => this.logger.debug({ err: err.message }, 'tracker leave'));
        }
      });
    }
    held.set(`${infoHash}/${peerId}`, [playbackId, infoHash, peerId]);
  }

  async leave(playbackId: string, infoHash: string, peerId: string): Promise<void> {
    await this.redis.segmintP2pLeave(...this.keys(playbackId, infoHash), peerId, this.node);
  }

  /** A peer the server sends an offer or answer to; `node` unknown: looked up when sending. */
  ref(playbackId: string, infoHash: string, peerId: string, node?: string): PeerRef {
    const send = (msg: string) => {
      this.deliver(playbackId, infoHash, peerId, node, msg).catch((err: Error) => this.logger.debug({ err: err.message }, 'tracker relay'));
    };
    return { peerId, socket: { send, onSend: () => {} } };
  }

  private async deliver(playbackId: string, infoHash: string, to: string, node: string | undefined, msg: string): Promise<void> {
    if (this.sendLocal(to, msg)) return;
    const at = node ?? (await this.redis.hget(this.keys(playbackId, infoHash)[1], to));
    if (at && at !== this.node) await this.redis.publish(this.channel(at), JSON.stringify({ to, msg }));
  }

  private sendLocal(to: string, msg: string): boolean {
    const socket = this.local.get(to);
    if (!socket || socket.destroyed) return false;
    socket.send(msg, socket.onSend);
    return true;
  }

  private onRelayed(raw: string): void {
    try {
      const { to, msg } = JSON.parse(raw) as { to: unknown; msg: unknown };
      if (typeof to === 'string' && typeof msg === 'string') this.sendLocal(to, msg);
    } catch {
      // only orchestrators of this deployment publish here; nothing to answer
    }
  }
}

/** One swarm as bittorrent-tracker's server sees it (the interface of its lib/server/swarm.js). */
class SharedSwarm {
  private playbackId?: string;
  /** The server looks up the peer an answer is for here; the answer is relayed to wherever it is. */
  readonly peers = { get: (id: string) => (this.playbackId ? this.hub.ref(this.playbackId, this.infoHash, id) : undefined) };

  constructor(readonly infoHash: string, private readonly hub: SharedSwarms) {}

  announce(p: AnnounceParams, cb?: (err: Error | null, reply?: Reply) => void): void {
    // the server's filter admitted this info hash for the stream of this connection
    this.playbackId ??= (p.socket?.segmint as { playbackId: string } | undefined)?.playbackId;
    const playbackId = this.playbackId;
    if (!playbackId) return cb?.(new Error('no stream'));
    if (p.event === 'stopped') {
      if (p.socket?.infoHashes) p.socket.infoHashes = p.socket.infoHashes.filter((h) => h !== this.infoHash);
      this.hub.leave(playbackId, this.infoHash, p.peer_id).then(() => cb?.(null, { complete: 0, incomplete: 0, peers: [] }), (err: Error) => cb?.(err));
      return;
    }
    this.hub.announce(playbackId, this.infoHash, p).then((r) => cb?.(null, r), (err: Error) => cb?.(err));
  }

  scrape(_p: unknown, cb: (err: Error | null, r?: { complete: number; incomplete: number }) => void): void {
    cb(null, { complete: 0, incomplete: 0 }); // swarm sizes are nobody's business
  }
}
