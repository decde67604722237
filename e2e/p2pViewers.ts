import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Viewer pages for the peer-to-peer tests and bench: Debian's chromium, headless, one browser with
 * many pages (each its own context: own storage, own peer id), WebRTC over loopback.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchViewerBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      // WebRTC between pages on one machine: real host candidates (no mDNS names), loopback allowed
      '--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection',
      // pages in the background still play and fetch on time
      '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
    ],
  });
}

export type Delivery = {
  p2p: boolean; originBytes: number; peerBytes: number; rejectedSegments: number; rejectedBytes: number; unverifiedSegments: number; rejectedUnattributed: number; bannedPeers: string[];
  peersConnected: number; uploadedBytes: number; playedVerified: number; playedMismatch: number;
};
export type ViewerState = { state: string; currentTime: number; startupMs: number | null; stalledMs: number; delivery: Delivery | null; errors: string[] };

/**
 * Opens the watch page. A `poison` viewer is an attacker: it plays normally, but every segment
 * chunk it sends to a peer over its WebRTC data channels has one byte altered (messages of 4 KiB
 * and more: segment data; the protocol's small commands pass untouched). Who fetches a new segment
 * from the origin for the swarm is named by a hash (player/fetchOrder.ts), so the attacker is that
 * viewer for its share of the segments (until banned) and is asked for them; arriving first, it also
 * holds the segments the viewers after it start with.
 */
export async function openViewer(browser: Browser, url: string, o: { poison?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (o.poison) {
    await page.addInitScript(() => {
      const send = RTCDataChannel.prototype.send;
      (window as unknown as { poisonedChunks: number }).poisonedChunks = 0;
      RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
        const view = data as unknown;
        const bytes = view instanceof ArrayBuffer ? new Uint8Array(view) : ArrayBuffer.isView(view) ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : null;
        if (bytes && bytes.byteLength >= 4096) {
          const altered = bytes.slice();
          altered[altered.length >> 1] = altered[altered.length >> 1]! ^ 0x01;
          (window as unknown as { poisonedChunks: number }).poisonedChunks++;
          return send.call(this, altered as never);
        }
        return send.call(this, data);
      };
    });
  }
  await page.goto(url);
  return page;
}

export function viewerState(page: Page): Promise<ViewerState> {
  return page.evaluate(() => {
    const w = (window as unknown as { segmintWatch: { state: string; startupMs: number | null; stalledNow(): number; delivery: Delivery | null; errors: string[] } }).segmintWatch;
    return {
      state: w.state,
      currentTime: document.querySelector('video')!.currentTime,
      startupMs: w.startupMs,
      stalledMs: w.stalledNow(),
      delivery: w.delivery ? { ...w.delivery, bannedPeers: [...w.delivery.bannedPeers] } : null,
      errors: [...w.errors],
    };
  });
}
