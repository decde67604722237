/**
 * The operator dashboard's HTML: live streams (live/idle, health), workers (price, stake, score,
 * jobs) and recent segments, refreshed every 2 s from `/dashboard/data.json` and
 * `/marketplace/workers`. Shows no secrets (no stream keys). data.json needs an API key: the page
 * takes it from its URL fragment (`/dashboard#key=sm_…`, never sent to the server nor logged) or
 * asks once, and keeps it in sessionStorage; it shows that key owner's streams only.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Segmint · dashboard</title>
<style>
  body { margin: 0; background: #111; color: #ddd; font: 13px system-ui, sans-serif; }
  main { padding: 16px; display: grid; gap: 16px; }
  h1 { font-size: 18px; margin: 0; } h2 { font-size: 14px; margin: 0 0 6px; color: #aaa; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #333; }
  th { color: #888; font-weight: 500; } .live { color: #4c4; } .idle { color: #888; } .bad { color: #e66; }
  #updated { color: #666; font-size: 12px; }
</style></head>
<body><main>
<h1>Segmint <span id="updated">loading…</span></h1>
<section><h2>Streams</h2><table id="streams"><thead><tr><th>name</th><th>state</th><th>health</th><th>segments (src/transcoded)</th><th>last seen</th><th>watch</th></tr></thead><tbody></tbody></table></section>
<section><h2>Workers</h2><table id="workers"><thead><tr><th>address</th><th>online</th><th>price (wei/px)</th><th>stake (wei)</th><th>success</th><th>latency ÷ duration</th><th>jobs</th><th>in flight</th></tr></thead><tbody></tbody></table></section>
<section><h2>Recent segments</h2><table id="segments"><thead><tr><th>stream</th><th>seq</th><th>renditions</th><th>duration</th><th>ingest → publish</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
(function () {
  var esc = function (s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); };
  var rows = function (id, list, cells) {
    document.querySelector('#' + id + ' tbody').innerHTML = list.map(function (x) {
      return '<tr>' + cells(x).map(function (c) { return '<td>' + c + '</td>'; }).join('') + '</tr>';
    }).join('') || '<tr><td colspan="8" class="idle">none</td></tr>';
  };
  var ago = function (ms) { return ms == null ? '–' : ((Date.now() - ms) / 1000).toFixed(0) + ' s ago'; };
  var fromHash = /[#&]key=([^&]+)/.exec(location.hash);
  if (fromHash) { sessionStorage.setItem('segmintKey', decodeURIComponent(fromHash[1])); history.replaceState(null, '', location.pathname); }
  var key = sessionStorage.getItem('segmintKey') || window.prompt('API key (sm_…) whose streams to show') || '';
  sessionStorage.setItem('segmintKey', key);
  function refresh() {
    Promise.all([
      fetch('/dashboard/data.json', { headers: { authorization: 'Bearer ' + key } }).then(function (r) {
        if (r.status === 401) { sessionStorage.removeItem('segmintKey'); throw new Error('API key refused: reload to enter another'); }
        return r.json();
      }),
      fetch('/marketplace/workers').then(function (r) { return r.ok ? r.json() : []; }).catch(function () { return []; }),
    ]).then(function (res) {
      var data = res[0], workers = res[1];
      window.segmintDashboard = { streams: data.streams, workers: workers, segments: data.segments };
      rows('streams', data.streams, function (s) {
        return [esc(s.name), s.isActive ? '<span class="live">live</span>' : '<span class="idle">idle</span>',
          s.isHealthy === null ? '–' : s.isHealthy ? '<span class="live">healthy</span>' : '<span class="bad">' + esc(s.issues.join('; ')) + '</span>',
          s.sourceSegments + ' / ' + s.transcodedSegments, ago(s.lastSeen), '<a href="/watch/' + esc(s.playbackId) + '" style="color:#8af">watch</a>'];
      });
      rows('workers', workers, function (w) {
        return [esc(w.address.slice(0, 10)) + '…', w.online ? '<span class="live">yes</span>' : '<span class="bad">no</span>', esc(w.pricePerPixel), esc(w.stake),
          (w.performance.successRate * 100).toFixed(0) + ' %', w.performance.latencyRatio.toFixed(2), w.performance.jobs, w.inflight];
      });
      rows('segments', data.segments, function (g) {
        return [esc(g.streamName), g.seq, g.renditions, g.durationSec.toFixed(2) + ' s', (g.latencyMs / 1000).toFixed(2) + ' s'];
      });
      document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    }).catch(function (e) { document.getElementById('updated').textContent = 'refresh failed: ' + e; });
  }
  refresh();
  setInterval(refresh, 2000);
})();
</script>
</body></html>`;
