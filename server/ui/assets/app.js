// herd's dashboard: plain JavaScript over herd's REST API (/v1/…) on the
// port that served it. Every text from the cluster or the server goes into
// the page as text (textContent, never innerHTML), and the page runs under
// a Content-Security-Policy that allows no inline script.
'use strict';

// ---- DOM ------------------------------------------------------------------

// h('a', {href: '#/', class: 'x', onclick: f}, 'text', child, [more]):
// strings become text nodes; null, undefined and false are skipped.
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'href') el.setAttribute('href', safeHref(v));
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Links stay inside the page.
function safeHref(v) {
  const s = String(v);
  return s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//')) ? s : '#/';
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
const $ = (id) => document.getElementById(id);

function banner(text, kind) {
  const b = $('banner');
  b.textContent = text || '';
  b.className = kind || '';
  b.hidden = !text;
}

// ---- The API ----------------------------------------------------------------

const session = {
  token: sessionStorage.getItem('herd.token') || '',
  me: null,  // {principal, insecure}
};

class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}

function headers(extra) {
  const hd = Object.assign({Accept: 'application/json'}, extra || {});
  if (session.token) hd.Authorization = 'Bearer ' + session.token;
  return hd;
}

async function errorOf(r) {
  const text = await r.text();
  try {
    const j = JSON.parse(text);
    return new ApiError(r.status, j.message || j.error || text, j.code);
  } catch (e) {
    return new ApiError(r.status, text || r.statusText);
  }
}

async function api(method, path, body) {
  const init = {method, headers: headers(body === undefined ? {} : {'Content-Type': 'application/json'})};
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  if (r.status === 401) { signOut('Your token was refused: ' + (await errorOf(r)).message); throw new ApiError(401, 'signed out'); }
  if (!r.ok) throw await errorOf(r);
  return r.json();
}

// Every page of a list call.
async function listAll(path, field, max) {
  const out = [];
  let token = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}pageSize=500${token ? '&pageToken=' + encodeURIComponent(token) : ''}`);
    out.push(...(page[field] || []));
    token = page.nextPageToken || '';
  } while (token && (!max || out.length < max));
  return out;
}

// Follows an operation through WatchOperation as NDJSON (fetch streams it,
// with the Authorization header an EventSource could not send), calling
// onOp with each new state until it ends or `signal` aborts.
async function watchOperation(id, onOp, signal) {
  const r = await fetch(`/v1/operations/${encodeURIComponent(id)}:watch`,
                        {headers: headers({Accept: 'application/x-ndjson'}), signal});
  if (!r.ok) throw await errorOf(r);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buf += decoder.decode(value, {stream: true});
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line);
      if (msg.error) throw new ApiError(0, msg.error.message, msg.error.code);
      if (msg.result) onOp(msg.result);
    }
  }
}

// Which verbs herd's rules give the caller on these names of a namespace.
async function access(ns, names) {
  const q = new URLSearchParams({namespace: ns});
  for (const n of names) q.append('name', n);
  const r = await fetch('/ui/access?' + q, {headers: headers()});
  if (!r.ok) throw await errorOf(r);
  return (await r.json()).verbs || {};
}

// ---- Formatting -------------------------------------------------------------

const STATE = {
  OPERATION_STATE_PENDING: ['Pending', 'run'],
  OPERATION_STATE_RUNNING: ['Running', 'run'],
  OPERATION_STATE_SUCCEEDED: ['Succeeded', 'ok'],
  OPERATION_STATE_FAILED: ['Failed', 'bad'],
  OPERATION_STATE_CANCELLED: ['Cancelled', 'warn'],
  OPERATION_STATE_ROLLED_BACK: ['Rolled back', 'bad'],
  OPERATION_STATE_PENDING_APPROVAL: ['Waiting for approval', 'warn'],
};
const ACTIVE = new Set(['OPERATION_STATE_PENDING', 'OPERATION_STATE_RUNNING', 'OPERATION_STATE_PENDING_APPROVAL']);
const isActive = (op) => ACTIVE.has(op.state);

function stateBadge(op) {
  const [text, cls] = STATE[op.state] || [op.state || 'Unknown', 'idle'];
  return h('span', {class: 'badge ' + cls, 'data-state': op.state || ''}, op.dryRun ? text + ' (dry run)' : text);
}

function kindName(kind) {
  return String(kind || '').replace('OPERATION_KIND_', '').toLowerCase().replace(/_/g, ' ');
}

function opId(op) { return String(op.name || '').replace(/^operations\//, ''); }

// "namespaces/shop/deployments/web" → "shop/deployments/web"
function targetText(t) { return String(t || '').replace(/^namespaces\//, ''); }

// The route of a workload target, or null for pods and selectors.
function workloadRoute(target) {
  const m = /^namespaces\/([^/]+)\/(deployments|statefulsets|cronjobs)\/([^/?]+)$/.exec(target || '');
  return m ? `#/w/${m[1]}/${m[2]}/${m[3]}` : null;
}

// "12.5s", "3600s" → seconds
function seconds(d) { return d ? parseFloat(String(d)) : 0; }

function age(secs) {
  if (secs === null || secs === undefined || isNaN(secs)) return '';
  secs = Math.max(0, Math.floor(secs));
  if (secs < 120) return secs + 's';
  if (secs < 7200) return Math.floor(secs / 60) + 'm';
  if (secs < 172800) return Math.floor(secs / 3600) + 'h' + (Math.floor(secs / 60) % 60 ? Math.floor(secs / 60) % 60 + 'm' : '');
  return Math.floor(secs / 86400) + 'd';
}

function since(ts) { return ts ? age((Date.now() - Date.parse(ts)) / 1000) : ''; }

function duration(secs) {
  if (secs < 1) return Math.round(secs * 1000) + ' ms';
  if (secs < 120) return (Math.round(secs * 10) / 10) + ' s';
  return age(secs);
}

function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return d.toLocaleString(undefined, {hour12: false});
}

// The way to done, as herd.proto's Progress defines it (and herdctl's bar
// shows it): for a rollout, undo or purge, half the new pods Ready and half
// the old ones gone; for a scale the pods Ready; for a kill the pods killed.
function progressFraction(op) {
  const p = op.progress || {};
  const desired = p.desired || 0;
  if (desired <= 0) return null;
  const part = (x) => Math.min(1, Math.max(0, (x || 0) / desired));
  switch (op.kind) {
    case 'OPERATION_KIND_ROLLOUT': case 'OPERATION_KIND_UNDO': case 'OPERATION_KIND_PURGE':
      return (part(p.ready) + part(desired - (p.remaining || 0))) / 2;
    case 'OPERATION_KIND_SCALE': return part(p.ready);
    case 'OPERATION_KIND_KILL': case 'OPERATION_KIND_CRONJOB_KILL_JOBS': return part(p.killed);
    default: return null;
  }
}

function progressText(op) {
  const p = op.progress || {};
  const n = (x) => x || 0;
  switch (op.kind) {
    case 'OPERATION_KIND_ROLLOUT': case 'OPERATION_KIND_UNDO':
      return `new pods ready ${n(p.ready)}/${n(p.desired)}, updated ${n(p.updated)}, old pods left ${n(p.remaining)}`;
    case 'OPERATION_KIND_PURGE':
      return `replacements ready ${n(p.ready)}/${n(p.desired)}, old pods left ${n(p.remaining)}`;
    case 'OPERATION_KIND_SCALE': return `ready ${n(p.ready)}/${n(p.desired)}`;
    case 'OPERATION_KIND_KILL': case 'OPERATION_KIND_CRONJOB_KILL_JOBS':
      return `killed ${n(p.killed)}/${n(p.desired)}`;
    default: return '';
  }
}

function progressBar(op) {
  let f = progressFraction(op);
  if (op.state === 'OPERATION_STATE_SUCCEEDED') f = 1;
  const cls = op.state === 'OPERATION_STATE_SUCCEEDED' ? 'bar done'
    : (isActive(op) ? 'bar' : 'bar failed');
  const fill = h('span');
  fill.style.width = Math.round((f || 0) * 100) + '%';
  return h('div', {class: cls, role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
                   'aria-valuenow': String(Math.round((f || 0) * 100)), title: progressText(op)}, fill);
}

const BAD_REASONS = /CrashLoopBackOff|ImagePullBackOff|ErrImagePull|InvalidImageName|CreateContainerError|Error|OOMKilled|Unschedulable/;

// Health at a glance: crash loops and pull errors first, then pods not
// Ready, then short of replicas.
function health(w) {
  if (w.kind === 'CronJob') {
    if (w.suspended) return {cls: 'idle', text: 'suspended', detail: ''};
    return {cls: w.activeJobs ? 'run' : 'ok', text: w.activeJobs ? `${w.activeJobs} running` : 'scheduled', detail: ''};
  }
  const pods = (w.pods || []).filter((p) => !p.terminating);
  const bad = pods.filter((p) => BAD_REASONS.test(p.reason || ''));
  if (bad.length) {
    const reasons = [...new Set(bad.map((p) => p.reason))].join(', ');
    return {cls: 'bad', text: reasons, detail: bad.map((p) => p.name).join(', ')};
  }
  const unready = pods.filter((p) => !p.ready);
  if (unready.length) {
    return {cls: 'warn', text: `${unready.length} not ready`, detail: unready.map((p) => p.name + (p.reason ? ` (${p.reason})` : '')).join(', ')};
  }
  if ((w.readyReplicas || 0) < (w.desiredReplicas || 0)) {
    return {cls: 'warn', text: `${w.readyReplicas || 0}/${w.desiredReplicas} ready`, detail: ''};
  }
  return {cls: 'ok', text: 'healthy', detail: ''};
}

function resourceOf(kind) {
  return {Deployment: 'deployments', StatefulSet: 'statefulsets', CronJob: 'cronjobs'}[kind] || 'deployments';
}

// ---- The frame: sign-in, navigation, views -------------------------------------

let view = {stop() {}};  // the current view's teardown (watches, timers)

function signOut(message) {
  sessionStorage.removeItem('herd.token');
  session.token = '';
  session.me = null;
  route(message);
}

async function whoAmI() {
  const r = await fetch('/ui/access', {headers: headers()});
  if (r.status === 401) return null;
  if (!r.ok) throw await errorOf(r);
  return r.json();
}

function showSignIn(message) {
  $('who').textContent = '';
  $('signout').hidden = true;
  const token = h('input', {type: 'password', id: 'token', autocomplete: 'off', placeholder: 'herd token', required: true});
  const err = h('p', {class: 'error', id: 'signin-error'}, message || '');
  const form = h('form', {class: 'card signin', id: 'signin', onsubmit: async (e) => {
    e.preventDefault();
    session.token = token.value.trim();
    try {
      const me = await whoAmI();
      if (!me) { err.textContent = 'That token is not known to herd.'; session.token = ''; return; }
      sessionStorage.setItem('herd.token', session.token);
      session.me = me;
      route();
    } catch (ex) { err.textContent = ex.message; }
  }},
  h('h1', {}, 'Sign in to herd'),
  h('p', {class: 'muted'}, 'Your herd token is kept in this tab only (sessionStorage) and sent as an Authorization header.'),
  token, h('button', {class: 'primary', type: 'submit', id: 'signin-submit'}, 'Sign in'), err);
  clear($('main')).append(form);
  token.focus();
}

async function route(message) {
  view.stop();
  view = {stop() {}};
  closeDialog();
  banner('');
  if (!session.me) {
    try {
      session.me = await whoAmI();
    } catch (e) {
      clear($('main')).append(h('p', {class: 'error'}, 'herd did not answer: ' + e.message));
      return;
    }
    if (!session.me) return showSignIn(message);
  }
  $('who').textContent = session.me.insecure ? 'anonymous (no authentication)' : 'signed in as ' + session.me.principal;
  $('signout').hidden = !!session.me.insecure;
  const hash = location.hash || '#/';
  let m;
  $('nav-workloads').classList.toggle('active', !hash.startsWith('#/op'));
  $('nav-ops').classList.toggle('active', hash.startsWith('#/op'));
  try {
    if ((m = /^#\/w\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(hash))) return await workloadView(...m.slice(1).map(decodeURIComponent));
    if (hash === '#/ops') return await operationsView();
    if ((m = /^#\/op\/([^/]+)$/.exec(hash))) return await operationView(decodeURIComponent(m[1]));
    return await workloadsView();
  } catch (e) {
    if (e.status !== 401) banner(e.message);
  }
}

// Runs `fn` (async) again and again while the view lives: `ms` after the
// last run ended, or 10 times as long as that run took if longer (a big
// cluster's listing is not asked for back to back), and not while the tab
// is hidden.
function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const next = (wait) => { if (!stopped) timer = setTimeout(run, wait); };
  async function run() {
    if (document.hidden) return next(ms);
    const t0 = performance.now();
    try { await fn(); } finally { next(Math.max(ms, 10 * (performance.now() - t0))); }
  }
  next(ms);
  onStop(() => { stopped = true; clearTimeout(timer); });
}

function onStop(fn) {
  const prev = view.stop;
  view.stop = () => { fn(); prev(); };
}

// ---- Workloads ---------------------------------------------------------------

async function workloadsView() {
  const main = clear($('main'));
  const nsSelect = h('select', {id: 'ns-filter', 'aria-label': 'namespace'}, h('option', {value: ''}, 'all namespaces'));
  const search = h('input', {type: 'search', id: 'search', placeholder: 'filter: name, image, label, health…', size: 40});
  const count = h('span', {class: 'count', id: 'count'});
  const tbody = h('tbody');
  const table = h('table', {id: 'workloads'},
    h('thead', {}, h('tr', {}, ['Namespace', 'Name', 'Kind', 'Images', 'Ready', 'Revision', 'Pod ages', 'Health', 'Operation']
      .map((t) => h('th', {class: ['Ready', 'Revision'].includes(t) ? 'num' : ''}, t)))),
    tbody);
  main.append(h('h1', {}, 'Workloads'), h('div', {class: 'toolbar'}, nsSelect, search, count), table);

  const state = {rows: []};
  const saved = sessionStorage.getItem('herd.filter') || '';
  search.value = saved;
  nsSelect.value = sessionStorage.getItem('herd.ns') || '';

  function applyFilter() {
    const terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const ns = nsSelect.value;
    let shown = 0;
    for (const r of state.rows) {
      const ok = (!ns || r.ns === ns) && terms.every((t) => r.text.includes(t));
      r.tr.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = `${shown} of ${state.rows.length} workloads`;
    sessionStorage.setItem('herd.filter', search.value);
    sessionStorage.setItem('herd.ns', ns);
  }
  search.addEventListener('input', applyFilter);
  nsSelect.addEventListener('change', applyFilter);

  async function load() {
    const all = await listAll('/v1/workloads', 'workloads');
    const namespaces = [...new Set(all.map((w) => w.namespace))].sort();
    const current = nsSelect.value;
    clear(nsSelect).append(h('option', {value: ''}, 'all namespaces'), ...namespaces.map((n) => h('option', {value: n}, n)));
    nsSelect.value = namespaces.includes(current) ? current : '';
    const frag = document.createDocumentFragment();
    state.rows = all.map((w) => {
      const tr = workloadRow(w);
      frag.append(tr);
      const hl = health(w);
      const text = [w.namespace, w.name, w.kind, hl.text, hl.detail, ...(w.containers || []).map((c) => c.image),
                    ...Object.entries(w.labels || {}).map(([k, v]) => `${k}=${v}`)].join(' ').toLowerCase();
      return {tr, ns: w.namespace, text};
    });
    clear(tbody).append(frag);
    applyFilter();
  }
  await load();
  every(5000, () => load().catch((e) => banner(e.message)));
}

function workloadRow(w) {
  const hl = health(w);
  const link = `#/w/${encodeURIComponent(w.namespace)}/${resourceOf(w.kind)}/${encodeURIComponent(w.name)}`;
  const images = (w.containers || []).map((c) => h('div', {class: 'mono'}, c.image));
  const ready = w.kind === 'CronJob' ? (w.schedule || '')
    : `${w.readyReplicas || 0}/${w.desiredReplicas || 0}` + ((w.availableReplicas || 0) !== (w.readyReplicas || 0) ? ` (${w.availableReplicas || 0} avail.)` : '');
  const ages = w.oldestPodAge ? `${age(seconds(w.oldestPodAge))} / ${age(seconds(w.newestPodAge))}` : '';
  const op = w.runningOperation ? h('a', {href: '#/op/' + encodeURIComponent(w.runningOperation.replace(/^operations\//, ''))},
                                    'running') : '';
  return h('tr', {'data-workload': `${w.namespace}/${w.name}`},
    h('td', {}, w.namespace),
    h('td', {}, h('a', {href: link, class: 'wl-link'}, w.name)),
    h('td', {}, w.kind),
    h('td', {}, images),
    h('td', {class: 'num'}, ready),
    h('td', {class: 'num'}, w.kind === 'CronJob' ? '' : String(w.revision || '')),
    h('td', {class: 'num', title: 'oldest / newest'}, ages),
    h('td', {}, h('span', {class: 'badge ' + hl.cls}, hl.text), hl.detail ? h('div', {class: 'health-detail'}, hl.detail) : ''),
    h('td', {}, op));
}

// ---- One workload ----------------------------------------------------------------

async function workloadView(ns, resource, name) {
  const main = clear($('main'));
  const target = `namespaces/${ns}/${resource}/${name}`;
  const head = h('div');
  const actions = h('div', {class: 'actions', id: 'actions'});
  const pods = h('div');
  const ops = h('div');
  main.append(head, actions, pods, ops);
  let verbs = null;

  async function load() {
    const w = await api('GET', `/v1/${target}`);
    if (verbs === null) {
      const names = [name, ...(w.pods || []).map((p) => p.name)];
      verbs = await access(ns, names).catch(() => ({}));
      renderActions(w);
    }
    renderHead(w);
    renderPods(w);
    const list = await api('GET', `/v1/operations?target=${encodeURIComponent(target)}&pageSize=15`);
    renderOps(list.operations || []);
    if (w.pods && w.pods.some((p) => !(p.name in verbs))) {
      Object.assign(verbs, await access(ns, w.pods.map((p) => p.name)).catch(() => ({})));
      renderPods(w);
    }
  }

  const can = (n, verb) => !!(verbs && (verbs[n] || []).includes(verb));

  function renderHead(w) {
    const hl = health(w);
    const facts = [
      ['Kind', w.kind], ['Namespace', w.namespace],
      ['Images', (w.containers || []).map((c) => h('div', {class: 'mono'}, `${c.name}: ${c.image}`))],
    ];
    if (w.kind === 'CronJob') {
      facts.push(['Schedule', w.schedule || ''], ['Suspended', w.suspended ? 'yes' : 'no'],
                 ['Last run', w.lastScheduleTime ? when(w.lastScheduleTime) : 'never'], ['Active jobs', String(w.activeJobs || 0)]);
    } else {
      facts.push(['Replicas', `${w.desiredReplicas || 0} desired, ${w.readyReplicas || 0} ready, ${w.availableReplicas || 0} available, ${w.updatedReplicas || 0} updated`],
                 ['Revision', String(w.revision || '')],
                 ['Pod ages', w.oldestPodAge ? `oldest ${age(seconds(w.oldestPodAge))}, newest ${age(seconds(w.newestPodAge))}` : '']);
      if (w.autoscaler) facts.push(['Autoscaler', `${w.autoscaler} (${w.autoscalerMin}–${w.autoscalerMax})`]);
    }
    facts.push(['Labels', Object.entries(w.labels || {}).map(([k, v]) => h('code', {}, `${k}=${v} `))]);
    if (w.runningOperation) {
      facts.push(['Operation', h('a', {href: '#/op/' + encodeURIComponent(w.runningOperation.replace(/^operations\//, ''))}, w.runningOperation)]);
    }
    clear(head).append(
      h('h1', {}, h('a', {href: '#/'}, 'Workloads'), ' / ', `${w.namespace}/`, h('span', {id: 'wl-name'}, w.name), ' ',
        h('span', {class: 'badge ' + hl.cls, id: 'wl-health'}, hl.text)),
      hl.detail ? h('p', {class: 'health-detail'}, hl.detail) : '',
      h('div', {class: 'card'}, h('dl', {class: 'facts', id: 'facts'}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))));
  }

  function renderActions(w) {
    const b = (verb, label, fn, cls) => (can(name, verb)
      ? h('button', {type: 'button', class: cls || '', 'data-action': label.toLowerCase(), onclick: () => fn(w)}, label) : null);
    const buttons = w.kind === 'CronJob'
      ? [b('cronjob', 'Run', () => cronAction(target, 'run', 'Run the CronJob now')),
         w.suspended ? b('cronjob', 'Resume', () => cronAction(target, 'resume', 'Resume the schedule'))
           : b('cronjob', 'Suspend', () => cronAction(target, 'suspend', 'Suspend the schedule')),
         b('cronjob', 'Kill jobs', () => cronAction(target, 'killJobs', 'Kill its running jobs'), 'danger')]
      : [b('rollout', 'Rollout', rolloutDialog), b('rollout', 'Restart', () => restartDialog(w)),
         b('undo', 'Undo', () => undoDialog(w)), b('scale', 'Scale', scaleDialog),
         b('purge', 'Purge', purgeDialog, 'danger')];
    clear(actions).append(...buttons.filter(Boolean));
  }

  function renderPods(w) {
    if (w.kind === 'CronJob') { clear(pods); return; }
    const rows = (w.pods || []).map((p) => h('tr', {'data-pod': p.name},
      h('td', {class: 'mono'}, p.name),
      h('td', {}, p.terminating ? 'Terminating' : (p.phase || '')),
      h('td', {}, p.ready ? 'yes' : 'no'),
      h('td', {class: 'num'}, String(p.restarts || 0)),
      h('td', {}, p.node || ''),
      h('td', {class: 'num'}, since(p.startTime)),
      h('td', {}, p.reason ? h('span', {class: 'badge ' + (BAD_REASONS.test(p.reason) ? 'bad' : 'warn')}, p.reason) : ''),
      h('td', {class: 'mono'}, (p.images || []).join(', ')),
      h('td', {}, can(p.name, 'kill') && !p.terminating
        ? h('button', {type: 'button', class: 'danger', 'data-action': 'kill', onclick: () => killDialog(ns, p.name)}, 'Kill') : '')));
    clear(pods).append(h('h2', {}, `Pods (${rows.length})`),
      h('table', {id: 'pods'}, h('thead', {}, h('tr', {}, ['Pod', 'Phase', 'Ready', 'Restarts', 'Node', 'Age', 'Reason', 'Images', '']
        .map((t) => h('th', {}, t)))), h('tbody', {}, rows)));
  }

  function renderOps(list) {
    clear(ops).append(h('h2', {}, 'Recent operations'),
      list.length ? operationsTable(list, false) : h('p', {class: 'muted'}, 'None recorded.'));
    const revisions = list.filter((o) => o.revision && o.state === 'OPERATION_STATE_SUCCEEDED');
    if (revisions.length) {
      ops.append(h('h2', {}, 'Revisions herd produced'),
        h('ul', {id: 'revisions'}, revisions.map((o) => h('li', {},
          `revision ${o.revision} — ${kindName(o.kind)} by ${o.principal || '?'} at ${when(o.endTime)}`,
          ((o.plan && o.plan.changes) || []).length ? `: ${o.plan.changes.join('; ')}` : ''))));
    }
  }

  await load();
  every(3000, () => load().catch((e) => banner(e.message)));
}

// ---- Actions: each shows its dry-run plan and asks for a reason first ------------

function closeDialog() {
  $('dialog-backdrop').hidden = true;
  clear($('dialog'));
}

function field(label, input) { return [h('label', {for: input.id}, label), input]; }

// A dialog with the request's own inputs; "Show plan" sends it with
// dryRun, shows the plan, and enables "Run" once a reason is given.
function actionDialog(title, inputs, send) {
  const reason = h('textarea', {id: 'reason', rows: 2, placeholder: 'Why (recorded in the audit trail and notifications)'});
  const plan = h('div', {id: 'plan'});
  const err = h('p', {class: 'error', id: 'dialog-error'});
  const run = h('button', {type: 'button', class: 'primary', id: 'run', disabled: true}, 'Run');
  const planBtn = h('button', {type: 'button', id: 'show-plan'}, 'Show plan');
  let planned = false;
  const ready = () => { run.disabled = !(planned && reason.value.trim()); };
  reason.addEventListener('input', ready);
  for (const i of inputs.filter((x) => x instanceof HTMLElement)) {
    i.addEventListener('input', () => { planned = false; clear(plan); ready(); });
  }
  planBtn.addEventListener('click', async () => {
    err.textContent = '';
    clear(plan);
    planBtn.disabled = true;
    try {
      const op = await send({dryRun: true});
      plan.append(planView(op));
      planned = true;
    } catch (e) {
      err.textContent = e.message;
    } finally {
      planBtn.disabled = false;
      ready();
    }
  });
  run.addEventListener('click', async () => {
    err.textContent = '';
    run.disabled = true;
    try {
      const op = await send({reason: reason.value.trim()});
      closeDialog();
      location.hash = '#/op/' + encodeURIComponent(opId(op));
    } catch (e) {
      err.textContent = e.message;
      run.disabled = false;
    }
  });
  const d = clear($('dialog'));
  d.append(h('h2', {id: 'dialog-title'}, title), ...inputs, h('div', {class: 'actions'}, planBtn), plan,
    ...field('Reason', reason), err,
    h('div', {class: 'actions'}, run, h('button', {type: 'button', id: 'close', onclick: closeDialog}, 'Close')));
  $('dialog-backdrop').hidden = false;
}

function planView(op) {
  const p = op.plan || {};
  const parts = [h('h3', {}, 'Plan'), h('p', {id: 'plan-summary'}, p.summary || '')];
  if ((p.changes || []).length) parts.push(h('ul', {id: 'plan-changes'}, p.changes.map((c) => h('li', {}, c))));
  if (p.estimatedDuration) parts.push(h('p', {}, 'Estimated time: ', h('b', {id: 'plan-eta'}, duration(seconds(p.estimatedDuration)))));
  if ((p.budgets || []).length) {
    parts.push(h('table', {id: 'plan-budgets'}, h('thead', {}, h('tr', {}, ['Disruption budget', 'Allowed', 'Needed', 'Verdict'].map((t) => h('th', {}, t)))),
      h('tbody', {}, p.budgets.map((b) => h('tr', {}, h('td', {}, b.budget), h('td', {class: 'num'}, String(b.disruptionsAllowed || 0)),
        h('td', {class: 'num'}, String(b.disruptionsNeeded || 0)),
        h('td', {}, h('span', {class: 'badge ' + (b.blocks ? 'bad' : 'ok')}, b.blocks ? 'blocks' : 'allows')))))));
  }
  if ((p.pods || []).length) {
    parts.push(h('table', {id: 'plan-pods'}, h('thead', {}, h('tr', {}, ['Pod', 'Action', 'Verdict'].map((t) => h('th', {}, t)))),
      h('tbody', {}, p.pods.map((x) => h('tr', {}, h('td', {class: 'mono'}, x.pod), h('td', {}, x.action || ''), h('td', {}, x.verdict || ''))))));
  }
  return h('div', {class: 'plan'}, parts);
}

const post = (path, body) => api('POST', path, body);

function rolloutDialog(w) {
  const target = `namespaces/${w.namespace}/${resourceOf(w.kind)}/${w.name}`;
  const inputs = (w.containers || []).map((c, i) => h('input', {type: 'text', id: 'image-' + i, value: c.image, 'data-container': c.name}));
  const strategy = h('select', {id: 'strategy'}, h('option', {value: 'ROLLOUT_STRATEGY_FAST'}, 'FAST: every new pod at once'),
    h('option', {value: 'ROLLOUT_STRATEGY_ROLLING'}, "ROLLING: the workload's own strategy"));
  actionDialog(`Roll out ${w.namespace}/${w.name}`,
    [...inputs.flatMap((i) => field(`Image of ${i.dataset.container}`, i)), ...field('Strategy', strategy)],
    (opts) => {
      const images = {};
      inputs.forEach((i, k) => { if (i.value.trim() !== w.containers[k].image) images[i.dataset.container] = i.value.trim(); });
      return post(`/v1/${target}:rollout`, {images, strategy: strategy.value, options: opts});
    });
}

function restartDialog(w) {
  const target = `namespaces/${w.namespace}/${resourceOf(w.kind)}/${w.name}`;
  actionDialog(`Restart ${w.namespace}/${w.name} (new pods, same images)`, [],
    (opts) => post(`/v1/${target}:rollout`, {restart: true, options: opts}));
}

function undoDialog(w) {
  const target = `namespaces/${w.namespace}/${resourceOf(w.kind)}/${w.name}`;
  const rev = h('input', {type: 'number', id: 'to-revision', min: 0, placeholder: 'the previous one'});
  actionDialog(`Undo ${w.namespace}/${w.name}`, field('To revision (empty: the previous one)', rev),
    (opts) => post(`/v1/${target}:undo`, {toRevision: rev.value ? String(parseInt(rev.value, 10)) : undefined, options: opts}));
}

function scaleDialog(w) {
  const target = `namespaces/${w.namespace}/${resourceOf(w.kind)}/${w.name}`;
  const n = h('input', {type: 'number', id: 'replicas', min: 0, value: String(w.desiredReplicas || 0)});
  actionDialog(`Scale ${w.namespace}/${w.name}`, field('Replicas', n),
    (opts) => post(`/v1/${target}:scale`, {replicas: parseInt(n.value, 10), options: opts}));
}

function purgeDialog(w) {
  const target = `namespaces/${w.namespace}/${resourceOf(w.kind)}/${w.name}`;
  const mode = h('select', {id: 'purge-mode'}, h('option', {value: 'PURGE_MODE_ROLLING'}, 'ROLLING: replacements first, availability kept'),
    h('option', {value: 'PURGE_MODE_BURN'}, 'BURN: delete every pod at once'));
  actionDialog(`Purge ${w.namespace}/${w.name} (replace every pod)`, field('Mode', mode),
    (opts) => post(`/v1/${target}:purge`, {mode: mode.value, options: opts}));
}

function killDialog(ns, pod) {
  actionDialog(`Kill pod ${ns}/${pod}`, [],
    (opts) => post(`/v1/namespaces/${encodeURIComponent(ns)}/pods:kill`, {pods: [pod], options: opts}));
}

function cronAction(target, verb, title) {
  actionDialog(`${title}: ${targetText(target)}`, [], (opts) => post(`/v1/${target}:${verb}`, {options: opts}));
}

// A decision on an operation: cancel, approve or reject, with a reason.
function decideDialog(op, verb, title) {
  const reason = h('textarea', {id: 'reason', rows: 2, placeholder: 'Why'});
  const err = h('p', {class: 'error', id: 'dialog-error'});
  const go = h('button', {type: 'button', class: verb === 'approve' ? 'primary' : 'danger', id: 'run'}, title);
  go.addEventListener('click', async () => {
    err.textContent = '';
    go.disabled = true;
    try {
      await post(`/v1/${op.name}:${verb}`, {reason: reason.value.trim()});
      closeDialog();
    } catch (e) {
      err.textContent = e.message;
      go.disabled = false;
    }
  });
  clear($('dialog')).append(h('h2', {id: 'dialog-title'}, `${title}: ${kindName(op.kind)} of ${targetText(op.target)}`),
    ...field('Reason', reason), err, h('div', {class: 'actions'}, go, h('button', {type: 'button', id: 'close', onclick: closeDialog}, 'Close')));
  $('dialog-backdrop').hidden = false;
}

// ---- Operations ----------------------------------------------------------------------

function operationsTable(list, withTarget) {
  return h('table', {class: 'ops'},
    h('thead', {}, h('tr', {}, ['Operation', 'Kind', withTarget ? 'Target' : null, 'State', 'Progress', 'Who', 'Why', 'Started', 'Took']
      .filter((x) => x !== null).map((t) => h('th', {}, t)))),
    h('tbody', {}, list.map((op) => {
      const took = op.endTime ? duration((Date.parse(op.endTime) - Date.parse(op.createTime)) / 1000) : since(op.createTime);
      return h('tr', {'data-op': opId(op)},
        h('td', {class: 'mono'}, h('a', {href: '#/op/' + encodeURIComponent(opId(op))}, opId(op))),
        h('td', {}, kindName(op.kind)),
        withTarget ? h('td', {}, workloadRoute(op.target) ? h('a', {href: workloadRoute(op.target)}, targetText(op.target)) : targetText(op.target)) : null,
        h('td', {}, stateBadge(op)),
        h('td', {}, progressBar(op)),
        h('td', {}, op.principal || ''),
        h('td', {}, op.reason || ''),
        h('td', {}, when(op.createTime)),
        h('td', {class: 'num'}, took));
    })));
}

async function operationsView() {
  const main = clear($('main'));
  const active = h('div', {id: 'active-ops'});
  const recent = h('div', {id: 'recent-ops'});
  main.append(h('h1', {}, 'Operations'), active, recent);
  const watched = new Map();  // id → AbortController

  async function load() {
    const list = await listAll('/v1/operations', 'operations', 200);
    const running = list.filter(isActive);
    const ended = list.filter((o) => !isActive(o)).slice(0, 100);
    clear(active).append(h('h2', {}, `Running (${running.length})`),
      running.length ? operationsTable(running, true) : h('p', {class: 'muted'}, 'Nothing is running.'));
    clear(recent).append(h('h2', {}, 'Recent'), operationsTable(ended, true));
    // Live progress of what runs, from the watch.
    for (const op of running.slice(0, 20)) {
      const id = opId(op);
      if (watched.has(id)) continue;
      const ctl = new AbortController();
      watched.set(id, ctl);
      watchOperation(id, (now) => {
        const row = active.querySelector(`tr[data-op="${CSS.escape(id)}"]`);
        if (!row) return;
        const live = progressBar(now);
        live.classList.add('live');  // drawn from the watch, not the list
        row.children[3].replaceChildren(stateBadge(now));
        row.children[4].replaceChildren(live);
      }, ctl.signal).catch(() => {}).finally(() => watched.delete(id));
    }
  }
  onStop(() => { for (const c of watched.values()) c.abort(); });
  await load();
  every(5000, () => load().catch((e) => banner(e.message)));
}

async function operationView(id) {
  const main = clear($('main'));
  const ctl = new AbortController();
  onStop(() => ctl.abort());
  let verbs = null;
  let last = null;

  async function render(op) {
    last = op;
    if (verbs === null) {
      const ns = (/^namespaces\/([^/]+)/.exec(op.target || '') || [])[1] || '';
      const names = /^namespaces\/[^/]+\/[^/]+\/([^/?]+)$/.exec(op.target || '');
      const sel = /[?&]names=([^&]+)/.exec(op.target || '');
      const keys = names ? [names[1]] : (sel ? decodeURIComponent(sel[1]).split(',') : ['']);
      const v = ns ? await access(ns, keys).catch(() => ({})) : {};
      verbs = new Set(keys.map((k) => v[k] || []).reduce((a, b) => a.filter((x) => b.includes(x))));
    }
    const route = workloadRoute(op.target);
    const facts = [
      ['Target', route ? h('a', {href: route}, targetText(op.target)) : targetText(op.target)],
      ['State', stateBadge(op)],
      ['Progress', h('div', {}, progressBar(op), h('div', {class: 'muted', id: 'progress-text'}, progressText(op)))],
      ['Who', op.principal || ''], ['Why', op.reason || ''],
      ['Started', when(op.createTime)],
      ['Ended', op.endTime ? `${when(op.endTime)} (took ${duration((Date.parse(op.endTime) - Date.parse(op.createTime)) / 1000)})` : ''],
    ];
    if (op.revision) facts.push(['Revision', String(op.revision)]);
    if (op.requestId) facts.push(['Request id', h('code', {}, op.requestId)]);
    const a = op.approval;
    if (a) {
      facts.push(['Approval', h('div', {id: 'approval'},
        a.decision && a.decision !== 'APPROVAL_DECISION_UNSPECIFIED'
          ? `${a.decision.replace('APPROVAL_DECISION_', '').toLowerCase()}${a.decidedBy ? ' by ' + a.decidedBy : ''}${a.comment ? ': ' + a.comment : ''}`
          : `waiting for one of ${(a.approvers || []).join(', ')} until ${when(a.deadline)}`,
        a.rule ? ` (rule ${a.rule})` : '')]);
    }
    const buttons = [];
    const me = session.me.principal;
    if (isActive(op) && verbs.has('cancel')) {
      buttons.push(h('button', {type: 'button', 'data-action': 'cancel', onclick: () => decideDialog(last, 'cancel', 'Cancel')}, 'Cancel'));
    }
    if (op.state === 'OPERATION_STATE_PENDING_APPROVAL' && verbs.has('approve') && a && a.requester !== me) {
      buttons.push(h('button', {type: 'button', class: 'primary', 'data-action': 'approve', onclick: () => decideDialog(last, 'approve', 'Approve')}, 'Approve'),
        h('button', {type: 'button', class: 'danger', 'data-action': 'reject', onclick: () => decideDialog(last, 'reject', 'Reject')}, 'Reject'));
    }
    if (op.state === 'OPERATION_STATE_SUCCEEDED' && op.kind === 'OPERATION_KIND_ROLLOUT' && route && verbs.has('undo')) {
      buttons.push(h('button', {type: 'button', 'data-action': 'rollback', onclick: () => {
        const m = /^namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(op.target);
        undoDialog({namespace: m[1], name: m[3], kind: m[2] === 'statefulsets' ? 'StatefulSet' : 'Deployment'});
      }}, 'Roll back'));
    }
    const parts = [
      h('h1', {}, h('a', {href: '#/ops'}, 'Operations'), ' / ', `${kindName(op.kind)} `, h('span', {class: 'mono'}, id)),
      h('div', {class: 'actions', id: 'actions'}, buttons),
      h('div', {class: 'card'}, h('dl', {class: 'facts', id: 'facts'}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
    ];
    if (op.error && op.error.message) parts.push(h('div', {class: 'card'}, h('h2', {}, 'Why it ended'), h('p', {class: 'error', id: 'op-error'}, op.error.message)));
    if (op.failure && (op.failure.pods || []).length) parts.push(failureView(op.failure));
    if ((op.timings || []).length) parts.push(timingsView(op));
    if (op.plan && op.plan.summary) parts.push(h('details', {}, h('summary', {}, 'Plan'), planView(op)));
    parts.push(h('h2', {}, 'Events'), h('ul', {class: 'events', id: 'events'}, (op.events || []).map((e) =>
      h('li', {}, h('time', {}, e.time ? new Date(e.time).toLocaleTimeString(undefined, {hour12: false}) : ''), e.message))));
    clear(main).append(...parts);
  }

  await render(await api('GET', `/v1/operations/${encodeURIComponent(id)}`));
  if (isActive(last)) {
    watchOperation(id, (op) => render(op).catch((e) => banner(e.message)), ctl.signal)
      .catch((e) => { if (!ctl.signal.aborted) banner('The live view stopped: ' + e.message); });
  }
}

function failureView(f) {
  return h('div', {class: 'card', id: 'failure'}, h('h2', {}, 'Failure: ' + String(f.reason || '').replace('FAILURE_REASON_', '').toLowerCase().replace(/_/g, ' ')),
    f.budget ? h('p', {}, 'Disruption budget: ', f.budget) : '',
    (f.pods || []).map((p) => h('div', {class: 'pod-problem'},
      h('p', {}, h('b', {class: 'mono'}, p.pod), p.container ? ` (container ${p.container})` : '', ': ',
        h('span', {class: 'badge bad'}, p.reason || ''), ' ', p.message || '', p.restarts ? ` — ${p.restarts} restarts` : ''),
      (p.logTail || []).length ? h('pre', {class: 'log-tail'}, p.logTail.join('\n')) : '')));
}

// The phases of its timings (herd.proto's Timing) as a small bar chart:
// a bar per phase, as long as its duration, beside the whole operation's.
function timingsView(op) {
  const rows = op.timings.map((t) => [t.phase, seconds(t.duration)]);
  if (op.endTime) rows.push(['whole operation', (Date.parse(op.endTime) - Date.parse(op.createTime)) / 1000]);
  const longest = Math.max(...rows.map(([, s]) => s), 0.001);
  return h('div', {class: 'card'}, h('h2', {}, 'Where the time went'),
    h('table', {class: 'timings', id: 'timings'}, h('tbody', {}, rows.map(([phase, secs]) => {
      const bar = h('span');
      bar.style.width = Math.max(0.5, 100 * secs / longest) + '%';
      return h('tr', {'data-phase': phase}, h('th', {}, phase), h('td', {class: 'num'}, duration(secs)),
        h('td', {class: 'timing-bar'}, bar));
    }))));
}

// ---- Start ---------------------------------------------------------------------------

window.addEventListener('hashchange', () => route());
$('signout').addEventListener('click', () => signOut(''));
$('dialog-backdrop').addEventListener('click', (e) => { if (e.target === $('dialog-backdrop')) closeDialog(); });
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDialog(); });
route();
