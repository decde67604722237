/**
 * The watch page's HTML: Segmint's player (hls.js; peer-to-peer with verified segments when `p2p`
 * is given) plays the ladder (a live stream's, or `hlsPath`: an asset's) and shows the rendition
 * playing and where the bytes came from.
 */
export function watchPage(playbackId: string, hlsPath?: string, p2p?: { segmentSigner: string } | null, edge = false): string {
  const id = JSON.stringify(playbackId).replace(/</g, '\\u003c');
  const path = JSON.stringify(hlsPath ?? null).replace(/</g, '\\u003c');
  const signer = JSON.stringify(p2p?.segmentSigner ?? null).replace(/</g, '\\u003c');
  const edgeOn = edge ? 'true' : 'false';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Segmint · watch</title>
<style>
  body { margin: 0; background: #111; color: #eee; font: 14px system-ui, sans-serif; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; }
  video { width: 100%; background: #000; aspect-ratio: 16 / 9; }
  #status { display: flex; gap: 16px; flex-wrap: wrap; padding: 8px 0; color: #aaa; }
  #status b { color: #eee; font-weight: 600; }
</style></head>
<body><main>
<video id="video" controls autoplay muted playsinline></video>
<div id="status">
  <span>state: <b id="state">loading</b></span>
  <span>rendition: <b id="rendition">–</b></span>
  <span>renditions: <b id="levels">–</b></span>
  <span>time: <b id="time">0.0</b> s</span>
  <span>from peers: <b id="peers">–</b></span>
  <span>edge: <b id="edge">–</b></span>
</div>
</main>
<script src="/player/segmint-player.js"></script>
<script>
(function () {
  var playbackId = ${id};
  var jwt = new URLSearchParams(location.search).get('jwt'); // for streams with a jwt playback policy
  var src = (${path} || '/hls/' + encodeURIComponent(playbackId) + '/index.m3u8') + (jwt ? '?jwt=' + encodeURIComponent(jwt) : '');
  var video = document.getElementById('video');
  var $ = function (id) { return document.getElementById(id); };
  var signer = ${signer}; // the orchestrator's segment signer: P2P is on for this stream
  // startup (page start to first frame playing) and stalls after it, for the benches and anyone curious
  var watch = window.segmintWatch = { state: 'loading', rendition: null, levels: [], switches: 0, errors: [], delivery: null, startupMs: null, stalledMs: 0 };
  var stalledSince = null;
  watch.stalledNow = function () { return watch.stalledMs + (stalledSince === null ? 0 : performance.now() - stalledSince); };
  var setState = function (s) { watch.state = s; $('state').textContent = s; };
  var showLevel = function (l) {
    if (!l) return;
    watch.rendition = { name: l.name || null, width: l.width, height: l.height, bitrate: l.bitrate };
    $('rendition').textContent = (l.name ? l.name + ' · ' : '') + l.width + 'x' + l.height + ' · ' + Math.round(l.bitrate / 1000) + ' kb/s';
  };
  video.addEventListener('playing', function () {
    setState('playing');
    if (watch.startupMs === null) watch.startupMs = Math.round(performance.now());
    if (stalledSince !== null) watch.stalledMs += performance.now() - stalledSince;
    stalledSince = null;
  });
  video.addEventListener('waiting', function () {
    setState('buffering');
    if (watch.startupMs !== null && stalledSince === null) stalledSince = performance.now();
  });
  video.addEventListener('ended', function () { setState('ended'); });
  video.addEventListener('timeupdate', function () { $('time').textContent = video.currentTime.toFixed(1); });
  var retry = function () { setState('waiting for the stream'); setTimeout(start, 2000); };
  var showDelivery = function () {
    var d = watch.delivery;
    if (d && d.edge) $('edge').textContent = (d.edge.address || 'origin') + ' · ' + Math.round(d.edge.bytes / 1024) + ' KiB verified' + (d.edge.rejectedSegments ? ' · ' + d.edge.rejectedSegments + ' rejected' : '');
    if (!d || !d.p2p) return;
    var total = d.originBytes + d.peerBytes;
    $('peers').textContent = (total ? Math.round((100 * d.peerBytes) / total) : 0) + ' % · ' + d.peersConnected + ' peers' + (d.rejectedSegments ? ' · ' + d.rejectedSegments + ' rejected' : '');
  };
  setInterval(showDelivery, 1000);
  // every viewer session this page started (a fatal error starts another): their receipts are sent
  // until the edge acknowledges them; flushReceipts() waits for that, pagehide hands the rest to sendBeacon
  var edgeViewers = watch.edgeViewers = [];
  watch.flushReceipts = function (ms) {
    return Promise.all(edgeViewers.map(function (v) { return v.flushReceipts(ms); })).then(function () { return watch.edgeTotals(); });
  };
  watch.edgeTotals = function () {
    var t = { edgeBytes: 0, receiptedBytes: 0, receipts: 0, unsentReceipts: 0 };
    edgeViewers.forEach(function (v) { for (var k in t) t[k] += v.stats[k]; });
    return t;
  };
  addEventListener('pagehide', function () { edgeViewers.forEach(function (v) { v.beaconReceipts(); }); });
  function start() {
    var Hls = window.SegmintPlayer && SegmintPlayer.Hls;
    if (Hls && Hls.isSupported() && ${edgeOn} && SegmintPlayer.startEdgeSession) {
      SegmintPlayer.startEdgeSession(location.origin, playbackId).then(function (v) { // a viewer session: steered to an edge, or not
        if (v) edgeViewers.push(v);
        play(v);
      });
    } else play(null);
  }
  function play(edgeViewer) {
    var Hls = window.SegmintPlayer && SegmintPlayer.Hls;
    if (Hls && Hls.isSupported()) {
      var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
      var player = SegmintPlayer.createPlayer({
        video: video,
        src: src,
        playbackId: playbackId,
        p2p: signer ? { tracker: proto + location.host + '/tracker/' + encodeURIComponent(playbackId), segmentSigner: signer } : null,
        edge: edgeViewer, // steered to a staked edge: every segment through it (P2P off)
        reportUrl: ${path} ? undefined : '/api/playback/' + encodeURIComponent(playbackId) + '/delivery',
      });
      var hls = window.segmintHls = player.hls;
      watch.delivery = player.stats;
      hls.on(Hls.Events.MANIFEST_PARSED, function (_e, data) {
        watch.levels = data.levels.map(function (l) { return { name: l.name || null, width: l.width, height: l.height, bitrate: l.bitrate }; });
        $('levels').textContent = String(data.levels.length);
        video.play().catch(function () {});
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, function (_e, data) { watch.switches++; showLevel(hls.levels[data.level]); });
      hls.on(Hls.Events.ERROR, function (_e, data) {
        watch.errors.push(data.details);
        if (!data.fatal) return;
        player.destroy();
        retry();
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src; // Safari plays HLS natively
    } else {
      setState('this browser cannot play HLS');
    }
  }
  start();
})();
</script>
</body></html>`;
}
