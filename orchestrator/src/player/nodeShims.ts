// Node globals some of the player's dependencies (debug, bittorrent-tracker, streamx) still touch,
// injected by esbuild (player/bundle.ts) into the bundle only: the page's globals stay untouched.
const nextTick = (fn: (...args: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => fn(...args));
const shimmedProcess = { env: {} as Record<string, string>, browser: true, nextTick };
const shimmedGlobal = globalThis;
export { shimmedProcess as process, shimmedGlobal as global };
