/**
 * The dashboard page: plain HTML, CSS and a small script, served as one document. Data is written with
 * textContent / attributes only (never innerHTML), so a job's metadata or error message cannot inject markup.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>maskflow dashboard</title>
<style>
  :root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --ok:#12b76a; --bad:#f04438; --run:#2e90fa; --warn:#f79009; }
  * { box-sizing: border-box; }
  [hidden] { display:none !important; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; align-items:center; gap:16px; padding:12px 24px; background:#101828; color:#fff; }
  header h1 { font-size:18px; margin:0; letter-spacing:.02em; }
  header .status { margin-left:auto; font-size:12px; color:#d0d5dd; }
  main { padding:20px 24px; display:grid; gap:20px; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 12px; }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { font-weight:600; color:var(--muted); font-size:12px; }
  td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
  .tiles { display:flex; gap:12px; flex-wrap:wrap; }
  .tile { flex:1 1 90px; border:1px solid var(--line); border-radius:8px; padding:8px 10px; }
  .tile b { display:block; font-size:22px; font-variant-numeric: tabular-nums; }
  .tile span { color:var(--muted); font-size:12px; }
  .bar { height:10px; background:#eef0f3; border-radius:5px; overflow:hidden; display:flex; }
  .bar i { display:block; height:100%; }
  .bar .ok { background:var(--ok); } .bar .bad { background:var(--bad); } .bar .cancel { background:#98a2b3; } .bar .run { background:var(--run); }
  .slots .bar { height:16px; }
  .batch { padding:10px 0; border-bottom:1px solid var(--line); }
  .batch:last-child { border-bottom:0; }
  .batch .meta { display:flex; gap:12px; font-size:12px; color:var(--muted); margin-top:4px; flex-wrap:wrap; }
  .batch .title { display:flex; justify-content:space-between; gap:8px; }
  .pill { font-size:11px; padding:1px 8px; border-radius:10px; background:#eef0f3; }
  .pill.completed { background:#d1fadf; } .pill.running { background:#d1e9ff; } .pill.canceled { background:#f2f4f7; }
  code { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .err { color:var(--bad); }
  button { font:inherit; font-size:12px; padding:3px 10px; border-radius:6px; border:1px solid #d0d5dd; background:#fff; cursor:pointer; }
  button:hover { background:#f2f4f7; }
  button:disabled { opacity:.5; cursor:default; }
  .gallery { display:grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap:12px; }
  .cutout { border:1px solid var(--line); border-radius:8px; overflow:hidden; }
  .cutout .img { aspect-ratio: 1; display:flex; align-items:center; justify-content:center;
    background-color:#fff; background-image: conic-gradient(#d9dde3 25%, #fff 0 50%, #d9dde3 0 75%, #fff 0); background-size:16px 16px; }
  .cutout img { max-width:100%; max-height:100%; display:block; }
  .cutout .cap { font-size:11px; padding:4px 6px; color:var(--muted); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
  .empty { color:var(--muted); font-style:italic; }
  #login { max-width:420px; margin:60px auto; background:#fff; border:1px solid var(--line); border-radius:10px; padding:24px; }
  #login input { width:100%; padding:8px; font:inherit; margin:8px 0 12px; border:1px solid #d0d5dd; border-radius:6px; }
  .links a { color:#d0d5dd; font-size:12px; margin-left:12px; }
</style>
</head>
<body>
<header><h1>maskflow</h1><span class="links"><a href="/admin/queues">queue admin</a></span><span class="status" id="status">loading…</span></header>
<div id="login" hidden>
  <h2>API key</h2>
  <p>The dashboard shows your tenant's jobs and batches. The key stays in this browser tab.</p>
  <form id="login-form"><input id="key-input" type="password" autocomplete="off" placeholder="mf_live_… or a key from API_KEYS"><button type="submit">Open</button></form>
  <p class="err" id="login-error"></p>
</div>
<main id="app" hidden>
  <section>
    <h2>Provider slots</h2>
    <div class="slots"><div class="bar"><i class="run" id="slots-bar" style="width:0"></i></div>
    <p><b id="slots-text">–</b> in flight at the provider (your tenant: <span id="tenant-slots">–</span>)</p></div>
    <h2>Jobs, last 24 h</h2>
    <div class="tiles" id="tiles"></div>
  </section>
  <section>
    <h2>Queues</h2>
    <table><thead><tr><th>queue</th><th class="num">waiting</th><th class="num">active</th><th class="num">delayed</th><th class="num">failed</th><th class="num">oldest</th></tr></thead><tbody id="queues"></tbody></table>
  </section>
  <section class="wide">
    <h2>Batches</h2>
    <div id="batches"></div>
  </section>
  <section class="wide">
    <h2>Recent failures</h2>
    <table><thead><tr><th>job</th><th>image</th><th>reason</th><th>when</th><th></th></tr></thead><tbody id="failures"></tbody></table>
  </section>
  <section class="wide">
    <h2>Recent cut-outs</h2>
    <div class="gallery" id="gallery"></div>
  </section>
</main>
<script>
(function () {
  'use strict';
  var STORE = 'maskflow.dashboard.key';
  var fromHash = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (fromHash) { sessionStorage.setItem(STORE, decodeURIComponent(fromHash[1])); history.replaceState(null, '', location.pathname); }
  var key = sessionStorage.getItem(STORE);
  var timer = null;

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === 'text') n.textContent = attrs[k]; else if (k === 'class') n.className = attrs[k]; else n.setAttribute(k, attrs[k]); }
    (children || []).forEach(function (c) { if (c) n.appendChild(c); });
    return n;
  }
  function fill(id, nodes) { var p = document.getElementById(id); p.replaceChildren.apply(p, nodes); }
  function ago(iso) {
    if (!iso) return '';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  }
  function dur(s) { return s == null ? '–' : s < 60 ? s + ' s' : s < 3600 ? Math.round(s / 60) + ' min' : (s / 3600).toFixed(1) + ' h'; }
  function short(id) { return id.slice(0, 8); }
  function showLogin(message) {
    if (timer) clearTimeout(timer);
    document.getElementById('app').hidden = true;
    document.getElementById('login').hidden = false;
    document.getElementById('login-error').textContent = message || '';
    document.getElementById('status').textContent = 'signed out';
  }
  document.getElementById('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    key = document.getElementById('key-input').value.trim();
    sessionStorage.setItem(STORE, key);
    document.getElementById('login').hidden = true;
    refresh();
  });

  function api(method, path) {
    return fetch(path, { method: method, headers: { authorization: 'Bearer ' + key, accept: 'application/json' } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; });
    });
  }

  function render(d) {
    var p = d.provider;
    document.getElementById('slots-bar').style.width = Math.min(100, (100 * p.slots_in_use) / Math.max(1, p.slots_limit)) + '%';
    document.getElementById('slots-text').textContent = p.slots_in_use + ' / ' + p.slots_limit;
    document.getElementById('tenant-slots').textContent = String(p.tenant_slots_in_use);
    fill('tiles', ['queued', 'submitting', 'processing', 'storing', 'succeeded', 'failed', 'canceled'].map(function (s) {
      return el('div', { class: 'tile', 'data-state': s }, [el('b', { text: String(d.jobs_last_24h[s] || 0) }), el('span', { text: s })]);
    }));
    fill('queues', d.queues.map(function (q) {
      return el('tr', { 'data-queue': q.name }, [el('td', {}, [el('code', { text: q.name })]), el('td', { class: 'num', text: String(q.waiting) }), el('td', { class: 'num', text: String(q.active) }),
        el('td', { class: 'num', text: String(q.delayed) }), el('td', { class: 'num', text: String(q.failed) }), el('td', { class: 'num', text: dur(q.oldest_waiting_seconds) })]);
    }));
    fill('batches', d.batches.length === 0 ? [el('p', { class: 'empty', text: 'No batches yet: POST /v1/batches or maskflow submit.' })] : d.batches.map(function (b) {
      var c = b.counts, t = Math.max(1, c.total);
      var bar = el('div', { class: 'bar' }, [
        el('i', { class: 'ok', style: 'width:' + (100 * c.succeeded / t) + '%' }), el('i', { class: 'bad', style: 'width:' + (100 * c.failed / t) + '%' }),
        el('i', { class: 'cancel', style: 'width:' + (100 * c.canceled / t) + '%' }),
        el('i', { class: 'run', style: 'width:' + (100 * (c.submitting + c.processing + c.storing) / t) + '%' })]);
      return el('div', { class: 'batch', 'data-batch': b.id }, [
        el('div', { class: 'title' }, [el('span', {}, [el('code', { text: short(b.id) }), document.createTextNode(' '), el('span', { class: 'pill ' + b.state, text: b.state })]),
          el('b', { class: 'percent', text: b.percent_done + '%' })]),
        bar,
        el('div', { class: 'meta' }, [el('span', { class: 'done', text: (c.succeeded + c.failed + c.canceled) + ' / ' + c.total + ' done' }),
          el('span', { text: c.succeeded + ' succeeded' }), el('span', { class: c.failed ? 'err' : '', text: c.failed + ' failed' }),
          el('span', { text: b.throughput_per_minute + ' / min' }), el('span', { text: 'ETA ' + (b.completed_at ? 'done' : dur(b.eta_seconds)) }),
          el('span', { text: 'created ' + ago(b.created_at) })])]);
    }));
    fill('failures', d.recent_failures.length === 0 ? [el('tr', {}, [el('td', { class: 'empty', colspan: '5', text: 'No failures.' })])] : d.recent_failures.map(function (j) {
      var btn = el('button', { type: 'button', 'data-retry': j.id, text: 'Retry' });
      btn.addEventListener('click', function () {
        btn.disabled = true; btn.textContent = 'Retrying…';
        api('POST', '/v1/jobs/' + encodeURIComponent(j.id) + '/retry').then(function (r) {
          btn.textContent = r.status < 300 ? 'Queued' : (r.body.error && r.body.error.code) || 'Error ' + r.status;
          refresh();
        });
      });
      return el('tr', { 'data-job': j.id }, [el('td', {}, [el('code', { text: short(j.id) })]), el('td', { text: j.image_url || 'upload' }),
        el('td', { class: 'err' }, [el('code', { text: j.error ? j.error.code : '' }), document.createTextNode(j.error ? ' ' + j.error.message : '')]),
        el('td', { text: ago(j.completed_at) }), el('td', {}, [btn])]);
    }));
    fill('gallery', d.recent_cutouts.length === 0 ? [el('p', { class: 'empty', text: 'No cut-outs yet.' })] : d.recent_cutouts.filter(function (j) { return j.outputs.length; }).map(function (j) {
      return el('a', { class: 'cutout', href: j.outputs[0].url, target: '_blank', rel: 'noopener', 'data-job': j.id }, [
        el('div', { class: 'img' }, [el('img', { src: j.outputs[0].url, alt: 'cut-out of job ' + j.id, loading: 'lazy' })]),
        el('div', { class: 'cap', text: short(j.id) + ' · ' + ago(j.completed_at) })]);
    }));
    document.getElementById('status').textContent = 'updated ' + new Date(d.generated_at).toLocaleTimeString();
  }

  function refresh() {
    if (timer) clearTimeout(timer);
    if (!key) return showLogin();
    api('GET', '/v1/dashboard').then(function (r) {
      if (r.status === 401) return showLogin((r.body.error && r.body.error.message) || 'That key was not accepted.');
      if (r.status !== 200) { document.getElementById('status').textContent = 'error ' + r.status + (r.body.error ? ': ' + r.body.error.code : ''); }
      else { document.getElementById('app').hidden = false; render(r.body); }
      timer = setTimeout(refresh, 2000);
    }, function () { document.getElementById('status').textContent = 'offline, retrying…'; timer = setTimeout(refresh, 2000); });
  }
  refresh();
})();
</script>
</body>
</html>
`;
