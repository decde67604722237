/**
 * A player's side of edge delivery (docs/edge.md), shared by the Node client and the browser:
 * starts a viewer session with a key of its own (the orchestrator steers it to an edge or the
 * origin), takes segments from the edge, checks each against the orchestrator-signed hash (the
 * sidecar is always read from the origin), signs a receipt for each intact one and hands it to the
 * edge. Wrong bytes: reported with the edge's signature over them, the edge avoided, the segment
 * taken from the origin. An edge that fails: the session is steered again, avoiding it.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { Address, Hex } from 'viem';
import { receiptTypedData, type Receipt, type ViewerSession } from '../../../protocol/src/edge/index.js';
import { EDGE_SIGNATURE_HEADER, edgeCommitmentSigner } from '../../../protocol/src/edge/edgeCommitment.js';
import { SegmentVerifier } from './segmentVerifier.js';

export type EdgeViewerStats = {
  /** Verified bytes from edges, each segment counted once per session (what its receipts vouch for). */
  edgeBytes: number;
  originBytes: number;
  receipts: number;
  /** Segments from an edge whose bytes did not match the signed hash (never played). */
  rejectedSegments: number;
  faultsReported: number;
  /** Times the session was steered again after its edge failed or cheated. */
  failovers: number;
  /** Segments handed on that matched the signed hash (from wherever they came). */
  verified: number;
  /** Segments fetched again from the same edge in the same session (a player retry): no second receipt, it would pay nothing. */
  repeated: number;
  /** Bytes of the receipts an edge has acknowledged (journaled there): `receipts` counts those receipts. */
  receiptedBytes: number;
  /** Receipts signed and not yet acknowledged by their edge (sent again until they are, or the viewer closes). */
  unsentReceipts: number;
};

/** Receipts signed for one edge, waiting to be handed to it. */
type Outbox = { url: string; receipts: Receipt[]; sending: Promise<void> | null; timer: ReturnType<typeof setTimeout> | undefined; failures: number };

/** Receipts per POST to an edge (it takes 100). */
const RECEIPTS_PER_POST = 50;

export type EdgeViewerOptions = { orchestratorUrl: string; playbackId: string; fetchTimeoutMs?: number; /** Edges not to be steered to. */ avoid?: string[] };

export class EdgeViewer {
  readonly key: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey());
  readonly stats: EdgeViewerStats = { edgeBytes: 0, originBytes: 0, receipts: 0, rejectedSegments: 0, faultsReported: 0, failovers: 0, verified: 0, repeated: 0, receiptedBytes: 0, unsentReceipts: 0 };
  /** Per edge receipts URL: receipts not acknowledged yet. */
  private readonly outboxes = new Map<string, Outbox>();
  private closed = false;
  /** Called when receipt counters change in the background (the player mirrors them). */
  onStats: (() => void) | null = null;
  /** `session rendition/uri` this viewer has vouched for (the orchestrator refuses a second receipt anyway). */
  private readonly vouched = new Set<string>();
  readonly avoided = new Set<string>();
  session!: ViewerSession;
  private verifier!: SegmentVerifier;
  private readonly base: string;

  private constructor(private readonly o: EdgeViewerOptions) {
    this.base = o.orchestratorUrl.replace(/\/$/, '');
  }

  static async start(o: EdgeViewerOptions): Promise<EdgeViewer> {
    const v = new EdgeViewer(o);
    for (const a of o.avoid ?? []) v.avoided.add(a.toLowerCase());
    await v.steer();
    v.verifier = new SegmentVerifier(v.session.segmentSigner as Address);
    return v;
  }

  /** The edge this viewer plays from now, or null (origin). */
  get edge(): { address: string; url: string } | null {
    return this.session.edge;
  }

  /** Starts a (new) viewer session, avoiding the edges that failed this viewer. */
  async steer(): Promise<void> {
    const res = await fetch(`${this.base}/edges/sessions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ playbackId: this.o.playbackId, viewerKey: this.key.address, ...(this.avoided.size ? { avoid: [...this.avoided].slice(-16) } : {}) }),
    });
    if (!res.ok) throw new Error(`cannot start a viewer session: ${res.status} ${await res.text()}`);
    this.session = (await res.json()) as ViewerSession;
  }

  private async failover(edge: string): Promise<void> {
    this.avoided.add(edge);
    this.stats.failovers++;
    await this.steer();
  }

  /** A media playlist, from the edge (the origin when the edge fails). */
  async mediaPlaylist(rendition: string): Promise<string> {
    const path = `/hls/${this.o.playbackId}/${rendition}/index.m3u8`;
    const edge = this.session.edge;
    if (edge) {
      const res = await this.get(`${edge.url}${path}`);
      if (res?.ok) return res.text();
      await this.failover(edge.address);
    }
    const res = await fetch(`${this.base}${path}`);
    if (!res.ok) throw new Error(`origin playlist: ${res.status}`);
    return res.text();
  }

  /** A segment's bytes, verified: from the edge when it serves them intact, else from the origin. */
  async segment(rendition: string, uri: string): Promise<Uint8Array> {
    const originUrl = `${this.base}/hls/${this.o.playbackId}/${rendition}/${uri}`;
    const edge = this.session.edge;
    if (edge) {
      const res = await this.get(`${edge.url}/hls/${this.o.playbackId}/${rendition}/${uri}`);
      const bytes = res?.ok ? new Uint8Array(await res.arrayBuffer()) : null;
      const verdict = bytes ? await this.verifier.check(originUrl, bytes) : 'failed';
      if (verdict === 'ok' && bytes) {
        this.stats.verified++;
        const key = `${this.session.session} ${rendition}/${uri}`;
        if (this.vouched.has(key)) {
          this.stats.repeated++;
          return bytes;
        }
        this.vouched.add(key);
        if (this.vouched.size > 2000) this.vouched.delete(this.vouched.values().next().value!); // a live window is far less
        this.stats.edgeBytes += bytes.byteLength;
        await this.receipt(edge.address, rendition, uri, bytes);
        return bytes;
      }
      if (verdict === 'mismatch' && bytes) {
        this.stats.rejectedSegments++;
        await this.report(edge.address, rendition, uri, bytes, res!.headers.get(EDGE_SIGNATURE_HEADER));
      }
      // failed, wrong or unverifiable: this edge is not used again by this viewer
      if (verdict !== 'unknown') await this.failover(edge.address);
    }
    const res = await fetch(originUrl);
    if (!res.ok) throw new Error(`origin segment ${uri}: ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    this.stats.originBytes += bytes.byteLength;
    if ((await this.verifier.check(originUrl, bytes)) === 'ok') this.stats.verified++;
    return bytes;
  }

  private async get(url: string): Promise<Response | null> {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(this.o.fetchTimeoutMs ?? 5000) });
    } catch {
      return null;
    }
  }

  /**
   * Signs this segment's receipt with the session key and queues it for the edge (which submits
   * it): sent at once, in the background (the segment is not held back for it), and again after
   * a failure until the edge acknowledges it (it journals before it answers) or close().
   */
  private async receipt(edge: string, rendition: string, uri: string, bytes: Uint8Array): Promise<void> {
    const unsigned = { session: this.session.session, edge, playbackId: this.o.playbackId, rendition, uri, sha256: bytesToHex(sha256(bytes)), bytes: bytes.byteLength, time: Date.now() };
    const receipt: Receipt = { ...unsigned, signature: await this.key.signTypedData(receiptTypedData(unsigned)) };
    if (!this.session.receiptsUrl) return;
    const url = this.session.receiptsUrl;
    const box = this.outboxes.get(url) ?? { url, receipts: [], sending: null, timer: undefined, failures: 0 };
    this.outboxes.set(url, box);
    box.receipts.push(receipt);
    this.stats.unsentReceipts++;
    void this.send(box);
  }

  /** Hands an outbox's receipts to its edge, one POST at a time; a failure retries later (backoff up to 5 s). */
  private send(box: Outbox): Promise<void> {
    box.sending ??= (async () => {
      clearTimeout(box.timer);
      while (box.receipts.length && !this.closed) {
        const batch = box.receipts.slice(0, RECEIPTS_PER_POST);
        // text/plain: a "simple" request, no CORS preflight, and what sendBeacon sends
        const res = await fetch(box.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ receipts: batch }), signal: AbortSignal.timeout(this.o.fetchTimeoutMs ?? 5000) }).catch(() => null);
        if (!res?.ok) {
          box.failures++;
          box.timer = setTimeout(() => void this.send(box), Math.min(5000, 250 * 2 ** Math.min(box.failures, 5)));
          (box.timer as { unref?: () => void }).unref?.(); // Node: a retry alone does not keep the process alive
          return;
        }
        box.failures = 0;
        box.receipts.splice(0, batch.length);
        this.stats.receipts += batch.length;
        this.stats.receiptedBytes += batch.reduce((n, r) => n + r.bytes, 0);
        this.stats.unsentReceipts -= batch.length;
        this.onStats?.();
      }
    })().finally(() => (box.sending = null));
    return box.sending;
  }

  /** Sends every waiting receipt now; resolves once all are acknowledged or `timeoutMs` passed. Returns how many are still unsent. */
  async flushReceipts(timeoutMs = 10_000): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.stats.unsentReceipts > 0 && Date.now() < until && !this.closed) {
      await Promise.race([Promise.all([...this.outboxes.values()].map((b) => this.send(b))), new Promise((r) => setTimeout(r, 250))]);
      if (this.stats.unsentReceipts > 0) await new Promise((r) => setTimeout(r, 100));
    }
    return this.stats.unsentReceipts;
  }

  /** The page is going away: what is unsent goes by sendBeacon (browsers deliver it after the page closes). */
  beaconReceipts(): void {
    const nav = (globalThis as { navigator?: { sendBeacon?: (url: string, body: string) => boolean } }).navigator;
    if (!nav?.sendBeacon) return;
    for (const box of this.outboxes.values()) {
      for (let i = 0; i < box.receipts.length; i += RECEIPTS_PER_POST) nav.sendBeacon(box.url, JSON.stringify({ receipts: box.receipts.slice(i, i + RECEIPTS_PER_POST) }));
    }
  }

  /** Stops retrying (receipts still unsent stay counted in unsentReceipts). */
  close(): void {
    this.closed = true;
    for (const b of this.outboxes.values()) clearTimeout(b.timer);
  }

  /** Reports wrong bytes with the edge's signature over them (when it signed: else only avoided). */
  private async report(edge: string, rendition: string, uri: string, bytes: Uint8Array, signature: string | null): Promise<void> {
    const receivedSha256 = bytesToHex(sha256(bytes));
    const f = { playbackId: this.o.playbackId, rendition, uri, sha256: receivedSha256 };
    if (!signature || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return;
    const signer = await edgeCommitmentSigner(f, signature as Hex, this.session.chainId, this.session.stakingManager as Address);
    if (signer?.toLowerCase() !== edge) return;
    const res = await fetch(`${this.base}/edges/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session: this.session.session, edge, playbackId: this.o.playbackId, rendition, uri, receivedSha256, receivedBytes: bytes.byteLength, edgeSignature: signature }),
    }).catch(() => null);
    if (res?.ok) this.stats.faultsReported++;
  }
}
