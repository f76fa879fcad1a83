// herd's dashboard, its tools: building the page from text (never markup),
// herd's REST API (/v1/…) with the caller's token, and what the page says
// about workloads and operations. The views are in app.js.
//
// Every text from the cluster or a caller goes into the page as text
// (textContent, never innerHTML), under a Content-Security-Policy that
// allows no inline script and requires Trusted Types for every HTML sink.

// ---- DOM ------------------------------------------------------------------

// h('a', {href: '#/', class: 'x', onclick: f}, 'text', child, [more]):
// strings become text nodes; null, undefined and false are skipped. Props
// are always literals of the page; only their values come from the server.
export function h(tag, props, ...children) {
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

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Links stay inside the page: only its own routes.
function safeHref(v) {
  const s = String(v);
  return s.startsWith('#/') ? s : '#/';
}

export function clear(el) { el.replaceChildren(); return el; }
export const $ = (id) => document.getElementById(id);

// The banner over the page: an error of `source` ('refresh' for the views'
// periodic reads, which clear their own once a read succeeds again).
export function banner(text, source) {
  const b = $('banner');
  b.textContent = text || '';
  b.dataset.source = source || '';
  b.hidden = !text;
}

export function clearBanner(source) {
  if ($('banner').dataset.source === source) banner('');
}

// ---- The API ----------------------------------------------------------------

export const session = {
  token: sessionStorage.getItem('herd.token') || '',
  me: null,  // {principal, insecure}
  onSignedOut: null,  // set by app.js
};

export class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}

// Whether an error is one the page has already dealt with: the view went
// away (its fetches aborted) or the token was refused (signed out).
export function handled(e) { return e.name === 'AbortError' || (e instanceof ApiError && e.status === 401); }

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

async function checked(r) {
  if (r.status === 401 && !session.me?.insecure) {
    const e = await errorOf(r);
    if (session.onSignedOut) session.onSignedOut('Your token was refused: ' + e.message);
    throw new ApiError(401, e.message);
  }
  if (!r.ok) throw await errorOf(r);
  return r;
}

export async function api(method, path, body, signal) {
  const init = {method, signal, headers: headers(body === undefined ? {} : {'Content-Type': 'application/json'})};
  if (body !== undefined) init.body = JSON.stringify(body);
  return (await checked(await fetch(path, init))).json();
}

// Every page of a list call (at most `max` items, if given).
export async function listAll(path, field, max, signal) {
  const out = [];
  let token = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}pageSize=500${token ? '&pageToken=' + encodeURIComponent(token) : ''}`,
                           undefined, signal);
    out.push(...(page[field] || []));
    token = page.nextPageToken || '';
  } while (token && (!max || out.length < max));
  return out;
}

// Follows an operation through WatchOperation as NDJSON (fetch streams it,
// with the Authorization header an EventSource could not send), calling
// onOp with each new state until it ends or `signal` aborts.
export async function watchOperation(id, onOp, signal) {
  const r = await checked(await fetch(`/v1/operations/${encodeURIComponent(id)}:watch`,
                                      {headers: headers({Accept: 'application/x-ndjson'}), signal}));
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

export async function whoAmI() {
  const r = await fetch('/ui/access', {headers: headers()});
  if (r.status === 401) return null;
  if (!r.ok) throw await errorOf(r);
  return r.json();
}

// Which verbs herd's rules give the caller on these names of a namespace
// ("" is every workload of it): a Map from name to a Set of verbs.
export async function access(ns, names, signal) {
  const out = new Map();
  for (let i = 0; i < names.length; i += 200) {
    const q = new URLSearchParams({namespace: ns});
    for (const n of names.slice(i, i + 200)) q.append('name', n);
    const r = await checked(await fetch('/ui/access?' + q, {headers: headers(), signal}));
    for (const [name, verbs] of Object.entries((await r.json()).verbs || {})) out.set(name, new Set(verbs));
  }
  return out;
}

// A request id for one action dialog: a retried Run (its answer lost)
// finds the operation the first one started instead of starting another.
export function newRequestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return 'ui-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- Names and routes ----------------------------------------------------------

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const isName = (s) => NAME.test(s);
export const RESOURCES = new Set(['deployments', 'statefulsets', 'cronjobs']);

export function resourceOf(kind) {
  return {Deployment: 'deployments', StatefulSet: 'statefulsets', CronJob: 'cronjobs'}[kind] || 'deployments';
}

// "namespaces/NS/RESOURCE/NAME" of a workload.
export function workloadPath(w) {
  return `namespaces/${encodeURIComponent(w.namespace)}/${resourceOf(w.kind)}/${encodeURIComponent(w.name)}`;
}

export function workloadLink(ns, resource, name) {
  return `#/w/${encodeURIComponent(ns)}/${resource}/${encodeURIComponent(name)}`;
}

// The page's link of an operation target that is a workload; null for pods
// and selectors.
export function workloadRoute(target) {
  const m = /^namespaces\/([^/]+)\/(deployments|statefulsets|cronjobs)\/([^/?]+)$/.exec(target || '');
  return m ? workloadLink(m[1], m[2], m[3]) : null;
}

export const opId = (op) => String(op.name || '').replace(/^operations\//, '');
export const opLink = (name) => '#/op/' + encodeURIComponent(String(name).replace(/^operations\//, ''));

// "namespaces/shop/deployments/web" → "shop/deployments/web"
export const targetText = (t) => String(t || '').replace(/^namespaces\//, '');

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
export const isActive = (op) => ACTIVE.has(op.state);

export function stateBadge(op) {
  const [text, cls] = STATE[op.state] || [op.state || 'Unknown', 'idle'];
  return h('span', {class: 'badge ' + cls, 'data-state': op.state || ''}, op.dryRun ? text + ' (dry run)' : text);
}

export function kindName(kind) {
  return String(kind || '').replace('OPERATION_KIND_', '').toLowerCase().replace(/_/g, ' ');
}

// "12.5s", "3600s" → seconds
export const seconds = (d) => (d ? parseFloat(String(d)) : 0);

export function age(secs) {
  if (secs === null || secs === undefined || isNaN(secs)) return '';
  secs = Math.max(0, Math.floor(secs));
  if (secs < 120) return secs + 's';
  if (secs < 7200) return Math.floor(secs / 60) + 'm';
  const m = Math.floor(secs / 60) % 60;
  if (secs < 172800) return Math.floor(secs / 3600) + 'h' + (m ? m + 'm' : '');
  return Math.floor(secs / 86400) + 'd';
}

export const since = (ts) => (ts ? age((Date.now() - Date.parse(ts)) / 1000) : '');

export function duration(secs) {
  if (secs < 1) return Math.round(secs * 1000) + ' ms';
  if (secs < 120) return (Math.round(secs * 10) / 10) + ' s';
  return age(secs);
}

export const when = (ts) => (ts ? new Date(ts).toLocaleString(undefined, {hour12: false}) : '');
export const tookSeconds = (op) => (Date.parse(op.endTime) - Date.parse(op.createTime)) / 1000;

// The way to done, as herd.proto's Progress defines it (and herdctl's bar
// shows it): for a rollout, undo or purge, half the new pods Ready and half
// the old ones gone; for a scale the pods Ready; for a kill the pods killed.
export function progressFraction(op) {
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

export function progressText(op) {
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

export function progressBar(op) {
  const f = op.state === 'OPERATION_STATE_SUCCEEDED' ? 1 : (progressFraction(op) || 0);
  const cls = op.state === 'OPERATION_STATE_SUCCEEDED' ? 'bar done' : (isActive(op) ? 'bar' : 'bar failed');
  const fill = h('span');
  fill.style.width = Math.round(f * 100) + '%';
  return h('div', {class: cls, role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
                   'aria-valuenow': String(Math.round(f * 100)), title: progressText(op)}, fill);
}

export const BAD_REASONS = /CrashLoopBackOff|ImagePullBackOff|ErrImagePull|InvalidImageName|CreateContainerError|Error|OOMKilled|Unschedulable/;

// Health at a glance: crash loops and pull errors first, then pods not
// Ready, then short of replicas.
export function health(w) {
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
    return {cls: 'warn', text: `${unready.length} not ready`,
            detail: unready.map((p) => p.name + (p.reason ? ` (${p.reason})` : '')).join(', ')};
  }
  if ((w.readyReplicas || 0) < (w.desiredReplicas || 0)) {
    return {cls: 'warn', text: `${w.readyReplicas || 0}/${w.desiredReplicas} ready`, detail: ''};
  }
  return {cls: 'ok', text: 'healthy', detail: ''};
}
