// herd's dashboard: sign-in, the views (workloads, one workload, operations,
// one operation) and the actions, over herd's REST API on the port that
// served the page. Tools (DOM, API, formatting) are in lib.js.
import {
  $, BAD_REASONS, RESOURCES, access, age, api, banner, clear, clearBanner, duration, h, handled, health,
  isActive, isName, kindName, listAll, newRequestId, opId, opLink, progressBar, progressText, resourceOf, seconds,
  session, since, stateBadge, targetText, tookSeconds, watchOperation, when, whoAmI, workloadLink, workloadPath,
  workloadRoute,
} from './lib.js';

// ---- Views --------------------------------------------------------------------

// What the page shows now. Its fetches, watches and timers end when another
// view replaces it; code that awaited checks `alive` before it draws.
class View {
  constructor() {
    this.ctl = new AbortController();
    this.stops = [];
  }
  get alive() { return !this.ctl.signal.aborted; }
  get signal() { return this.ctl.signal; }
  onStop(fn) { this.stops.push(fn); }
  stop() {
    this.ctl.abort();
    for (const fn of this.stops) fn();
  }
  // Runs `fn` (async) again and again while the view lives: `ms` after the
  // last run ended, or 10 times as long as that run took if longer (a big
  // cluster's listing is not asked for back to back), and not while the
  // tab is hidden. A failed run shows its error until one succeeds.
  every(ms, fn) {
    let timer = null;
    const next = (wait) => { if (this.alive) timer = setTimeout(run, wait); };
    const run = async () => {
      if (document.hidden) return next(ms);
      const t0 = performance.now();
      try {
        await fn();
        if (this.alive) clearBanner('refresh');
      } catch (e) {
        if (this.alive && !handled(e)) banner(e.message, 'refresh');
      }
      next(Math.max(ms, 10 * (performance.now() - t0)));
    };
    next(ms);
    this.onStop(() => clearTimeout(timer));
  }
  // The page's main area, emptied, if this view still owns it.
  main() { return this.alive ? clear($('main')) : null; }
}

let view = new View();

function signOut(message) {
  sessionStorage.removeItem('herd.token');
  session.token = '';
  session.me = null;
  route(message);
}
session.onSignedOut = signOut;

function showSignIn(message) {
  $('who').textContent = '';
  $('signout').hidden = true;
  const token = h('input', {type: 'password', id: 'token', autocomplete: 'off', placeholder: 'herd token',
                            'aria-label': 'herd token'});
  const err = h('p', {class: 'error', id: 'signin-error'}, message || '');
  const submit = async () => {
    session.token = token.value.trim();
    try {
      const me = await whoAmI();
      if (!me) throw new Error('That token is not known to herd.');
      sessionStorage.setItem('herd.token', session.token);
      session.me = me;
      route();
    } catch (e) {
      session.token = '';
      err.textContent = e.message;
    }
  };
  token.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
  clear($('main')).append(h('div', {class: 'card signin', id: 'signin'},
    h('h1', {}, 'Sign in to herd'),
    h('p', {class: 'muted'}, 'Your herd token is kept in this tab only (sessionStorage) and sent as an Authorization header.'),
    token, h('button', {class: 'primary', type: 'button', id: 'signin-submit', onclick: submit}, 'Sign in'), err));
  token.focus();
}

async function route(message) {
  view.stop();
  const v = view = new View();
  closeDialog();
  banner('');
  if (!session.me) {
    try {
      session.me = await whoAmI();
    } catch (e) {
      if (v.alive) clear($('main')).append(h('p', {class: 'error'}, 'herd did not answer: ' + e.message));
      return;
    }
    if (!v.alive) return;
    if (!session.me) return showSignIn(message);
  }
  $('who').textContent = session.me.insecure ? 'anonymous (no authentication)' : 'signed in as ' + session.me.principal;
  $('signout').hidden = !!session.me.insecure;
  const hash = location.hash || '#/';
  $('nav-workloads').classList.toggle('active', !hash.startsWith('#/op'));
  $('nav-ops').classList.toggle('active', hash.startsWith('#/op'));
  try {
    let m;
    if ((m = /^#\/w\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(hash))) {
      const [ns, resource, name] = m.slice(1).map(decodeURIComponent);
      if (!isName(ns) || !RESOURCES.has(resource) || !isName(name)) throw new Error('No such workload: ' + hash);
      return await workloadView(v, ns, resource, name);
    }
    if (hash === '#/ops') return await operationsView(v);
    if ((m = /^#\/op\/([A-Za-z0-9._-]+)$/.exec(hash))) return await operationView(v, decodeURIComponent(m[1]));
    return await workloadsView(v);
  } catch (e) {
    if (v.alive && !handled(e)) banner(e.message);
  }
}

// ---- Workloads ---------------------------------------------------------------

async function workloadsView(v) {
  const nsSelect = h('select', {id: 'ns-filter', 'aria-label': 'namespace'}, h('option', {value: ''}, 'all namespaces'));
  const search = h('input', {type: 'search', id: 'search', placeholder: 'filter: name, image, label, health…', size: 40,
                             'aria-label': 'filter'});
  const count = h('span', {class: 'count', id: 'count'});
  const tbody = h('tbody');
  const table = h('table', {id: 'workloads'},
    h('thead', {}, h('tr', {}, ['Namespace', 'Name', 'Kind', 'Images', 'Ready', 'Revision', 'Pod ages', 'Health', 'Operation']
      .map((t) => h('th', {class: ['Ready', 'Revision'].includes(t) ? 'num' : ''}, t)))),
    tbody);
  v.main().append(h('h1', {}, 'Workloads'), h('div', {class: 'toolbar'}, nsSelect, search, count), table);

  let rows = [];
  search.value = sessionStorage.getItem('herd.filter') || '';
  function applyFilter() {
    const terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const ns = nsSelect.value;
    let shown = 0;
    for (const r of rows) {
      const ok = (!ns || r.ns === ns) && terms.every((t) => r.text.includes(t));
      r.tr.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = `${shown} of ${rows.length} workloads`;
    sessionStorage.setItem('herd.filter', search.value);
    sessionStorage.setItem('herd.ns', ns);
  }
  search.addEventListener('input', applyFilter);
  nsSelect.addEventListener('change', applyFilter);

  async function load() {
    const all = await listAll('/v1/workloads', 'workloads', 0, v.signal);
    if (!v.alive) return;
    const namespaces = [...new Set(all.map((w) => w.namespace))].sort();
    const current = nsSelect.value || sessionStorage.getItem('herd.ns') || '';
    clear(nsSelect).append(h('option', {value: ''}, 'all namespaces'), ...namespaces.map((n) => h('option', {value: n}, n)));
    nsSelect.value = namespaces.includes(current) ? current : '';
    const frag = document.createDocumentFragment();
    rows = all.map((w) => {
      const tr = workloadRow(w);
      frag.append(tr);
      const hl = health(w);
      const text = [w.namespace, w.name, w.kind, hl.text, hl.detail, ...(w.containers || []).map((c) => c.image),
                    ...Object.entries(w.labels || {}).map(([k, val]) => `${k}=${val}`)].join(' ').toLowerCase();
      return {tr, ns: w.namespace, text};
    });
    tbody.replaceChildren(frag);
    applyFilter();
  }
  v.every(5000, load);
  await load();
}

function workloadRow(w) {
  const hl = health(w);
  const ready = w.kind === 'CronJob' ? (w.schedule || '')
    : `${w.readyReplicas || 0}/${w.desiredReplicas || 0}` +
      ((w.availableReplicas || 0) !== (w.readyReplicas || 0) ? ` (${w.availableReplicas || 0} avail.)` : '');
  const ages = w.oldestPodAge ? `${age(seconds(w.oldestPodAge))} / ${age(seconds(w.newestPodAge))}` : '';
  return h('tr', {'data-workload': `${w.namespace}/${w.name}`},
    h('td', {}, w.namespace),
    h('td', {}, h('a', {href: workloadLink(w.namespace, resourceOf(w.kind), w.name), class: 'wl-link'}, w.name)),
    h('td', {}, w.kind),
    h('td', {}, (w.containers || []).map((c) => h('div', {class: 'mono'}, c.image))),
    h('td', {class: 'num'}, ready),
    h('td', {class: 'num'}, w.kind === 'CronJob' ? '' : String(w.revision || '')),
    h('td', {class: 'num', title: 'oldest / newest'}, ages),
    h('td', {}, h('span', {class: 'badge ' + hl.cls}, hl.text), hl.detail ? h('div', {class: 'health-detail'}, hl.detail) : ''),
    h('td', {}, w.runningOperation ? h('a', {href: opLink(w.runningOperation)}, 'running') : ''));
}

// ---- One workload ----------------------------------------------------------------

async function workloadView(v, ns, resource, name) {
  const target = `namespaces/${ns}/${resource}/${name}`;
  const head = h('div');
  const actions = h('div', {class: 'actions', id: 'actions'});
  const pods = h('div');
  const revs = h('div');
  const ops = h('div');
  v.main().append(head, actions, pods, revs, ops);
  const verbs = new Map();  // name → Set of verbs, as /ui/access answered
  const can = (n, verb) => verbs.get(n)?.has(verb) === true;

  async function load() {
    const w = await api('GET', `/v1/${target}`, undefined, v.signal);
    const unknown = [name, ...(w.pods || []).map((p) => p.name)].filter((n) => !verbs.has(n));
    if (unknown.length) for (const [n, set] of await access(ns, unknown, v.signal)) verbs.set(n, set);
    const list = await api('GET', `/v1/operations?target=${encodeURIComponent(target)}&pageSize=15`, undefined, v.signal);
    if (!v.alive) return;
    renderHead(w);
    renderActions(w);
    renderPods(w);
    renderRevisions(w, list.operations || []);
    renderOps(list.operations || []);
  }

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
      facts.push(['Replicas', `${w.desiredReplicas || 0} desired, ${w.readyReplicas || 0} ready, ` +
                              `${w.availableReplicas || 0} available, ${w.updatedReplicas || 0} updated`],
                 ['Revision', String(w.revision || '')],
                 ['Pod ages', w.oldestPodAge ? `oldest ${age(seconds(w.oldestPodAge))}, newest ${age(seconds(w.newestPodAge))}` : '']);
      if (w.autoscaler) facts.push(['Autoscaler', `${w.autoscaler} (${w.autoscalerMin}–${w.autoscalerMax})`]);
    }
    facts.push(['Labels', Object.entries(w.labels || {}).map(([k, val]) => h('code', {}, `${k}=${val} `))]);
    if (w.runningOperation) facts.push(['Operation', h('a', {href: opLink(w.runningOperation)}, w.runningOperation)]);
    head.replaceChildren(
      h('h1', {}, h('a', {href: '#/'}, 'Workloads'), ' / ', `${w.namespace}/`, h('span', {id: 'wl-name'}, w.name), ' ',
        h('span', {class: 'badge ' + hl.cls, id: 'wl-health'}, hl.text)),
      hl.detail ? h('p', {class: 'health-detail'}, hl.detail) : '',
      h('div', {class: 'card'}, h('dl', {class: 'facts', id: 'facts'}, facts.map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]))));
  }

  // Rebuilt on every read: the dialogs start from the workload as it is.
  function renderActions(w) {
    const b = (verb, label, fn, cls) => (can(name, verb)
      ? h('button', {type: 'button', class: cls || '', 'data-action': label.toLowerCase().replace(/ /g, '-'), onclick: fn}, label)
      : null);
    const path = workloadPath(w);
    const buttons = w.kind === 'CronJob'
      ? [b('cronjob', 'Run', () => cronDialog(path, 'run', 'Run the CronJob now')),
         w.suspended ? b('cronjob', 'Resume', () => cronDialog(path, 'resume', 'Resume the schedule of'))
           : b('cronjob', 'Suspend', () => cronDialog(path, 'suspend', 'Suspend the schedule of')),
         b('cronjob', 'Kill jobs', () => cronDialog(path, 'killJobs', 'Kill the running jobs of'), 'danger')]
      : [b('rollout', 'Rollout', () => rolloutDialog(w)), b('rollout', 'Restart', () => restartDialog(w)),
         b('undo', 'Undo', () => undoDialog(w)), b('scale', 'Scale', () => scaleDialog(w)),
         b('purge', 'Purge', () => purgeDialog(w), 'danger')];
    actions.replaceChildren(...buttons.filter(Boolean));
  }

  function renderPods(w) {
    if (w.kind === 'CronJob') return pods.replaceChildren();
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
    pods.replaceChildren(h('h2', {}, `Pods (${rows.length})`),
      h('table', {id: 'pods'}, h('thead', {}, h('tr', {}, ['Pod', 'Phase', 'Ready', 'Restarts', 'Node', 'Age', 'Reason', 'Images', '']
        .map((t) => h('th', {}, t)))), h('tbody', {}, rows)));
  }

  function renderOps(list) {
    ops.replaceChildren(h('h2', {}, 'Recent operations'),
      list.length ? operationsTable(list, false) : h('p', {class: 'muted'}, 'None recorded.'));
  }

  // The workload's revisions (what Undo can go back to), newest first,
  // with the herd operation that wrote each when it is among the recent ones.
  function renderRevisions(w, list) {
    if (!(w.revisions || []).length) return revs.replaceChildren();
    const byHerd = new Map();
    for (const o of list) {
      if (o.revision && o.state === 'OPERATION_STATE_SUCCEEDED' && !byHerd.has(String(o.revision))) byHerd.set(String(o.revision), o);
    }
    const rows = w.revisions.map((r) => {
      const o = byHerd.get(String(r.revision));
      return h('tr', {'data-revision': String(r.revision), class: r.current ? 'current' : ''},
        h('td', {class: 'num'}, String(r.revision), r.current ? [' ', h('span', {class: 'badge ok'}, 'current')] : ''),
        h('td', {class: 'mono'}, (r.containers || []).map((c) => h('div', {}, `${c.name}: ${c.image}`))),
        h('td', {class: 'num'}, String(r.pods || 0)),
        h('td', {}, r.createTime ? when(r.createTime) : ''),
        h('td', {}, o ? [h('a', {href: opLink(o.name)}, `${kindName(o.kind)} by ${o.principal || '?'}`),
                         (o.reason ? `: ${o.reason}` : '')] : (r.changeCause || '')),
        h('td', {}, !r.current && can(name, 'undo')
          ? h('button', {type: 'button', 'data-action': 'undo-to', onclick: () => undoDialog(w, r.revision)}, 'Undo to this') : ''));
    });
    revs.replaceChildren(h('h2', {}, `Revisions (${rows.length})`),
      h('table', {id: 'revisions'}, h('thead', {}, h('tr', {}, ['Revision', 'Images', 'Pods', 'Created', 'Written by', '']
        .map((t) => h('th', {class: ['Revision', 'Pods'].includes(t) ? 'num' : ''}, t)))), h('tbody', {}, rows)));
  }

  v.every(3000, load);
  await load();
}

// ---- Actions: each shows its dry-run plan and asks for a reason first ------------

function closeDialog() {
  $('dialog-backdrop').hidden = true;
  clear($('dialog'));
}

function openDialog(...children) {
  clear($('dialog')).append(...children);
  $('dialog-backdrop').hidden = false;
}

function field(label, input) { return [h('label', {for: input.id}, label), input]; }

// A dialog with the request's own inputs. "Show plan" sends the request
// with dryRun and shows the plan; "Run" is enabled once the plan of the
// inputs as they are now is shown and a reason given. One request id per
// dialog, so a Run repeated after a lost answer starts nothing twice.
function actionDialog(title, inputs, send) {
  const reason = h('textarea', {id: 'reason', rows: 2, placeholder: 'Why (recorded in the audit trail and notifications)'});
  const plan = h('div', {id: 'plan'});
  const err = h('p', {class: 'error', id: 'dialog-error'});
  const run = h('button', {type: 'button', class: 'primary', id: 'run', disabled: true}, 'Run');
  const planBtn = h('button', {type: 'button', id: 'show-plan'}, 'Show plan');
  const requestId = newRequestId();
  let edits = 0;  // changes to the inputs; a plan counts only for the inputs it was made from
  let planned = -1;
  const ready = () => { run.disabled = !(planned === edits && reason.value.trim()); };
  reason.addEventListener('input', ready);
  for (const i of inputs.filter((x) => x instanceof HTMLInputElement || x instanceof HTMLSelectElement)) {
    i.addEventListener('input', () => { edits++; plan.replaceChildren(); ready(); });
  }
  planBtn.addEventListener('click', async () => {
    err.textContent = '';
    plan.replaceChildren();
    planBtn.disabled = true;
    const mine = edits;
    try {
      const op = await send({dryRun: true});
      if (mine === edits) {
        plan.append(planView(op));
        planned = mine;
      }
    } catch (e) {
      if (!handled(e)) err.textContent = e.message;
    } finally {
      planBtn.disabled = false;
      ready();
    }
  });
  run.addEventListener('click', async () => {
    err.textContent = '';
    run.disabled = true;
    try {
      const op = await send({reason: reason.value.trim(), requestId});
      closeDialog();
      location.hash = opLink(op.name);
    } catch (e) {
      if (!handled(e)) err.textContent = e.message;
      run.disabled = false;
    }
  });
  openDialog(h('h2', {id: 'dialog-title'}, title), ...inputs, h('div', {class: 'actions'}, planBtn), plan,
    ...field('Reason', reason), err,
    h('div', {class: 'actions'}, run, h('button', {type: 'button', id: 'close', onclick: closeDialog}, 'Close')));
}

function planView(op) {
  const p = op.plan || {};
  const parts = [h('h3', {}, 'Plan'), h('p', {id: 'plan-summary'}, p.summary || '')];
  if ((p.changes || []).length) parts.push(h('ul', {id: 'plan-changes'}, p.changes.map((c) => h('li', {}, c))));
  if (p.estimatedDuration) parts.push(h('p', {}, 'Estimated time: ', h('b', {id: 'plan-eta'}, duration(seconds(p.estimatedDuration)))));
  if ((p.budgets || []).length) {
    parts.push(h('table', {id: 'plan-budgets'},
      h('thead', {}, h('tr', {}, ['Disruption budget', 'Allowed', 'Needed', 'Verdict'].map((t) => h('th', {}, t)))),
      h('tbody', {}, p.budgets.map((b) => h('tr', {}, h('td', {}, b.budget), h('td', {class: 'num'}, String(b.disruptionsAllowed || 0)),
        h('td', {class: 'num'}, String(b.disruptionsNeeded || 0)),
        h('td', {}, h('span', {class: 'badge ' + (b.blocks ? 'bad' : 'ok')}, b.blocks ? 'blocks' : 'allows')))))));
  }
  if ((p.pods || []).length) {
    parts.push(h('table', {id: 'plan-pods'}, h('thead', {}, h('tr', {}, ['Pod', 'Action', 'Verdict'].map((t) => h('th', {}, t)))),
      h('tbody', {}, p.pods.map((x) => h('tr', {}, h('td', {class: 'mono'}, x.pod), h('td', {}, x.action || ''),
                                          h('td', {}, x.verdict || ''))))));
  }
  return h('div', {class: 'plan'}, parts);
}

const post = (path, body) => api('POST', path, body);

function rolloutDialog(w) {
  const inputs = (w.containers || []).map((c, i) => h('input', {type: 'text', id: 'image-' + i, value: c.image}));
  const strategy = h('select', {id: 'strategy'}, h('option', {value: 'ROLLOUT_STRATEGY_FAST'}, 'FAST: every new pod at once'),
    h('option', {value: 'ROLLOUT_STRATEGY_ROLLING'}, "ROLLING: the workload's own strategy"));
  actionDialog(`Roll out ${w.namespace}/${w.name}`,
    [...inputs.flatMap((input, i) => field(`Image of ${w.containers[i].name}`, input)), ...field('Strategy', strategy)],
    (options) => {
      const images = {};
      inputs.forEach((input, i) => {
        if (input.value.trim() !== w.containers[i].image) images[w.containers[i].name] = input.value.trim();
      });
      return post(`/v1/${workloadPath(w)}:rollout`, {images, strategy: strategy.value, options});
    });
}

function restartDialog(w) {
  actionDialog(`Restart ${w.namespace}/${w.name} (new pods, same images)`, [],
    (options) => post(`/v1/${workloadPath(w)}:rollout`, {restart: true, options}));
}

// `toRevision` given: a fixed target (Roll back); else asked for.
function undoDialog(w, toRevision) {
  const rev = h('input', {type: 'number', id: 'to-revision', min: 1, placeholder: 'the previous one',
                          value: toRevision ? String(toRevision) : undefined});
  actionDialog(`Undo ${w.namespace}/${w.name}`, field('To revision (empty: the previous one)', rev),
    (options) => post(`/v1/${workloadPath(w)}:undo`, {toRevision: rev.value ? String(parseInt(rev.value, 10)) : undefined, options}));
}

function scaleDialog(w) {
  const n = h('input', {type: 'number', id: 'replicas', min: 0, value: String(w.desiredReplicas || 0)});
  actionDialog(`Scale ${w.namespace}/${w.name}`, field('Replicas', n),
    (options) => post(`/v1/${workloadPath(w)}:scale`, {replicas: parseInt(n.value, 10), options}));
}

function purgeDialog(w) {
  const mode = h('select', {id: 'purge-mode'}, h('option', {value: 'PURGE_MODE_ROLLING'}, 'ROLLING: replacements first, availability kept'),
    h('option', {value: 'PURGE_MODE_BURN'}, 'BURN: delete every pod at once'));
  actionDialog(`Purge ${w.namespace}/${w.name} (replace every pod)`, field('Mode', mode),
    (options) => post(`/v1/${workloadPath(w)}:purge`, {mode: mode.value, options}));
}

function killDialog(ns, pod) {
  actionDialog(`Kill pod ${ns}/${pod}`, [],
    (options) => post(`/v1/namespaces/${encodeURIComponent(ns)}/pods:kill`, {pods: [pod], options}));
}

function cronDialog(path, verb, title) {
  actionDialog(`${title} ${targetText(decodeURIComponent(path))}`, [], (options) => post(`/v1/${path}:${verb}`, {options}));
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
      await post(`/v1/operations/${encodeURIComponent(opId(op))}:${verb}`, {reason: reason.value.trim()});
      closeDialog();
    } catch (e) {
      if (!handled(e)) err.textContent = e.message;
      go.disabled = false;
    }
  });
  openDialog(h('h2', {id: 'dialog-title'}, `${title}: ${kindName(op.kind)} of ${targetText(op.target)}`),
    ...field('Reason', reason), err, h('div', {class: 'actions'}, go, h('button', {type: 'button', id: 'close', onclick: closeDialog}, 'Close')));
}

// ---- Operations ----------------------------------------------------------------------

function operationsTable(list, withTarget) {
  return h('table', {class: 'ops'},
    h('thead', {}, h('tr', {}, ['Operation', 'Kind', withTarget ? 'Target' : null, 'State', 'Progress', 'Who', 'Why', 'Started', 'Took']
      .filter((x) => x !== null).map((t) => h('th', {}, t)))),
    h('tbody', {}, list.map((op) => {
      const route = workloadRoute(op.target);
      return h('tr', {'data-op': opId(op)},
        h('td', {class: 'mono'}, h('a', {href: opLink(op.name)}, opId(op))),
        h('td', {}, kindName(op.kind)),
        withTarget ? h('td', {}, route ? h('a', {href: route}, targetText(op.target)) : targetText(op.target)) : null,
        h('td', {class: 'state'}, stateBadge(op)),
        h('td', {class: 'progress'}, progressBar(op)),
        h('td', {}, op.principal || ''),
        h('td', {}, op.reason || ''),
        h('td', {}, when(op.createTime)),
        h('td', {class: 'num'}, op.endTime ? duration(tookSeconds(op)) : since(op.createTime)));
    })));
}

// A browser keeps 6 connections to a server; a watch holds one for as long
// as its operation runs (an approval can take days). The list follows this
// many running operations live and reads the others with the list.
const LIVE_ROWS = 3;

async function operationsView(v) {
  const active = h('div', {id: 'active-ops'});
  const recent = h('div', {id: 'recent-ops'});
  v.main().append(h('h1', {}, 'Operations'), active, recent);
  const watched = new Map();  // id → AbortController
  v.onStop(() => { for (const c of watched.values()) c.abort(); });

  async function load() {
    const list = await listAll('/v1/operations', 'operations', 200, v.signal);
    if (!v.alive) return;
    const running = list.filter(isActive);
    const ended = list.filter((o) => !isActive(o)).slice(0, 100);
    active.replaceChildren(h('h2', {}, `Running (${running.length})`),
      running.length ? operationsTable(running, true) : h('p', {class: 'muted'}, 'Nothing is running.'));
    recent.replaceChildren(h('h2', {}, 'Recent'), operationsTable(ended, true));
    for (const op of running.filter((o) => o.state !== 'OPERATION_STATE_PENDING_APPROVAL')) {
      const id = opId(op);
      if (watched.has(id) || watched.size >= LIVE_ROWS) continue;
      const ctl = new AbortController();
      watched.set(id, ctl);
      v.signal.addEventListener('abort', () => ctl.abort());
      watchOperation(id, (now) => {
        const row = active.querySelector(`tr[data-op="${CSS.escape(id)}"]`);
        if (!row) return;
        const live = progressBar(now);
        live.classList.add('live');  // drawn from the watch, not the list
        row.querySelector('td.state').replaceChildren(stateBadge(now));
        row.querySelector('td.progress').replaceChildren(live);
      }, ctl.signal).catch(() => {}).finally(() => watched.delete(id));
    }
  }
  v.every(5000, load);
  await load();
}

// The names an operation's target is authorized on, as herd's service
// checks them: cancel on its workload ("" for pods and selectors, every
// workload of the namespace); approve on each workload or pod it names.
function authKeys(target) {
  const ns = (/^namespaces\/([^/?]+)/.exec(target || '') || [])[1] || '';
  const one = /^namespaces\/[^/]+\/[^/]+\/([^/?]+)$/.exec(target || '');
  const names = /[?&]names=([^&]+)/.exec(target || '');
  return {
    ns,
    cancel: one ? one[1] : '',
    approve: one ? [one[1]] : (names ? decodeURIComponent(names[1]).split(',').filter(Boolean) : ['']),
  };
}

async function operationView(v, id) {
  const main = v.main();
  let planOpen = false;
  let last = null;
  let keys = null;
  let verbs = new Map();
  let currentRevision = null;  // of the workload a succeeded rollout wrote

  const allowed = (verb, names) => names.every((n) => verbs.get(n)?.has(verb) === true);

  function render(op) {
    if (!v.alive) return;
    last = op;
    const route = workloadRoute(op.target);
    const facts = [
      ['Target', route ? h('a', {href: route}, targetText(op.target)) : targetText(op.target)],
      ['State', stateBadge(op)],
      ['Progress', h('div', {}, progressBar(op), h('div', {class: 'muted', id: 'progress-text'}, progressText(op)))],
      ['Who', op.principal || ''], ['Why', op.reason || ''],
      ['Started', when(op.createTime)],
      ['Ended', op.endTime ? `${when(op.endTime)} (took ${duration(tookSeconds(op))})` : ''],
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
    if (isActive(op) && allowed('cancel', [keys.cancel])) {
      buttons.push(h('button', {type: 'button', 'data-action': 'cancel', onclick: () => decideDialog(last, 'cancel', 'Cancel')}, 'Cancel'));
    }
    if (op.state === 'OPERATION_STATE_PENDING_APPROVAL' && allowed('approve', keys.approve) && a && a.requester !== session.me.principal) {
      buttons.push(
        h('button', {type: 'button', class: 'primary', 'data-action': 'approve', onclick: () => decideDialog(last, 'approve', 'Approve')}, 'Approve'),
        h('button', {type: 'button', class: 'danger', 'data-action': 'reject', onclick: () => decideDialog(last, 'reject', 'Reject')}, 'Reject'));
    }
    // Roll back what this rollout wrote, while it is still what runs.
    const m = /^namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)$/.exec(op.target || '');
    if (m && op.state === 'OPERATION_STATE_SUCCEEDED' && op.kind === 'OPERATION_KIND_ROLLOUT' &&
        String(currentRevision) === String(op.revision) && allowed('undo', [keys.cancel])) {
      const w = {namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[3]), kind: m[2] === 'statefulsets' ? 'StatefulSet' : 'Deployment'};
      buttons.push(h('button', {type: 'button', 'data-action': 'rollback', onclick: () => undoDialog(w)}, 'Roll back'));
    }
    const plan = op.plan && op.plan.summary ? h('details', {open: planOpen}, h('summary', {}, 'Plan'), planView(op)) : null;
    if (plan) plan.addEventListener('toggle', () => { planOpen = plan.open; });
    const parts = [
      h('h1', {}, h('a', {href: '#/ops'}, 'Operations'), ' / ', `${kindName(op.kind)} `, h('span', {class: 'mono'}, id)),
      h('div', {class: 'actions', id: 'actions'}, buttons),
      h('div', {class: 'card'}, h('dl', {class: 'facts', id: 'facts'}, facts.map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]))),
    ];
    if (op.error && op.error.message) {
      parts.push(h('div', {class: 'card'}, h('h2', {}, 'Why it ended'), h('p', {class: 'error', id: 'op-error'}, op.error.message)));
    }
    if (op.failure && (op.failure.pods || []).length) parts.push(failureView(op.failure));
    if ((op.timings || []).length) parts.push(timingsView(op));
    if (plan) parts.push(plan);
    parts.push(h('h2', {}, 'Events'), h('ul', {class: 'events', id: 'events'}, (op.events || []).map((e) =>
      h('li', {}, h('time', {}, e.time ? new Date(e.time).toLocaleTimeString(undefined, {hour12: false}) : ''), e.message))));
    main.replaceChildren(...parts);
  }

  async function settle(op) {
    const route = workloadRoute(op.target);
    if (route && op.state === 'OPERATION_STATE_SUCCEEDED' && op.kind === 'OPERATION_KIND_ROLLOUT') {
      const w = await api('GET', `/v1/${op.target}`, undefined, v.signal).catch(() => null);
      currentRevision = w ? w.revision : null;
    }
    render(op);
  }

  const op = await api('GET', `/v1/operations/${encodeURIComponent(id)}`, undefined, v.signal);
  keys = authKeys(op.target);
  if (keys.ns) verbs = await access(keys.ns, [...new Set([keys.cancel, ...keys.approve])], v.signal).catch(() => new Map());
  await settle(op);
  if (v.alive && isActive(op)) {
    watchOperation(id, (now) => (isActive(now) ? render(now) : settle(now)), v.signal)
      .catch((e) => { if (v.alive && !handled(e)) banner('The live view stopped: ' + e.message); });
  }
}

function failureView(f) {
  return h('div', {class: 'card', id: 'failure'},
    h('h2', {}, 'Failure: ' + String(f.reason || '').replace('FAILURE_REASON_', '').toLowerCase().replace(/_/g, ' ')),
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
  if (op.endTime) rows.push(['whole operation', tookSeconds(op)]);
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
