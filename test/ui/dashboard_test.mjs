// herd's web dashboard end to end, in Debian's headless Chromium driven by
// Playwright (playwright-core), against `herdd --sim` and against a second
// herdd with a tokens file on the same simulated cluster. The cluster is
// read back with kubectl. Screenshots of each state go to
// $HERD_UI_ARTIFACTS (default: ui-artifacts/ in the working directory).
//
//   HERD_BIN=build/bin node --test test/ui/dashboard_test.mjs
//
// Environment: HERD_BIN (herdd), HERD_PLAYWRIGHT_CORE (the playwright-core
// package directory; default where scripts/install-deps.sh puts it),
// HERD_CHROMIUM (default /usr/bin/chromium), KUBECTL (default kubectl).
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const BIN = process.env.HERD_BIN || path.resolve('build/bin');
const PLAYWRIGHT = process.env.HERD_PLAYWRIGHT_CORE || '/usr/local/lib/herd-test-node/node_modules/playwright-core';
const CHROMIUM = process.env.HERD_CHROMIUM || '/usr/bin/chromium';
const KUBECTL = process.env.KUBECTL || 'kubectl';
const ARTIFACTS = path.resolve(process.env.HERD_UI_ARTIFACTS || 'ui-artifacts');
const {chromium} = await import(pathToFileURL(path.join(PLAYWRIGHT, 'index.mjs')).href);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-ui-'));
const kubeconfig = path.join(dir, 'kubeconfig');
const tokensFile = path.join(dir, 'tokens.yaml');
fs.mkdirSync(ARTIFACTS, {recursive: true});

// Rules: an operator of shop, a reader of everything, an approver; scaling
// shop/api is held for approval.
function tokens({operatorScales = true} = {}) {
  return `
approvals:
  - name: api-scale
    namespaces: [shop]
    workloads: [api]
    verbs: [scale]
    timeout: 10m
principals:
  - name: operator
    token: t-operator
    rules:
      - verbs: [read, rollout, undo, purge, kill, cronjob, cancel${operatorScales ? ', scale' : ''}]
        namespaces: [shop, batch]
  - name: viewer
    token: t-viewer
    rules:
      - verbs: [read]
        namespaces: ["*"]
  - name: approver
    token: t-approver
    rules:
      - verbs: [read, approve]
        namespaces: [shop]
`;
}

function writeTokens(text) {
  fs.writeFileSync(tokensFile + '.tmp', text);
  fs.renameSync(tokensFile + '.tmp', tokensFile);
}

// Starts herdd with `args`; resolves with its HTTP address once it logs
// "herdd serving".
function startHerdd(name, args) {
  const log = path.join(dir, name + '.log');
  const out = fs.openSync(log, 'w');
  const proc = spawn(path.join(BIN, 'herdd'), ['--grpc-listen=127.0.0.1:0', '--http-listen=127.0.0.1:0',
                                               `--identity=${name}`, ...args],
                     {stdio: ['ignore', 'ignore', out]});
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30000;
    const check = () => {
      for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
        try {
          const e = JSON.parse(line);
          if (e.msg === 'herdd serving') return resolve({proc, url: 'http://' + e.http, log});
        } catch (err) { /* not a log line yet */ }
      }
      if (proc.exitCode !== null) return reject(new Error(`${name} exited: ${fs.readFileSync(log, 'utf8')}`));
      if (Date.now() > deadline) return reject(new Error(`${name} did not start: ${fs.readFileSync(log, 'utf8')}`));
      setTimeout(check, 25);
    };
    check();
  });
}

function kubectl(...args) {
  return execFileSync(KUBECTL, args, {env: {...process.env, KUBECONFIG: kubeconfig}, encoding: 'utf8'});
}

function imageOf(ns, name) {
  return kubectl('-n', ns, 'get', 'deploy', name, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
}

// Waits until `fn` returns a truthy value (deadline 20 s).
async function until(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let sim, authd, browser;
const pageErrors = [];

async function newPage(url) {
  const context = await browser.newContext({viewport: {width: 1280, height: 860}});
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => { pageErrors.push('a dialog opened: ' + d.message()); d.dismiss(); });
  // A refused request (401, 403) is logged by the browser itself; anything
  // else the console gets is the page's own error.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push('console: ' + m.text());
  });
  if (url) await page.goto(url);
  return page;
}

const shot = (page, name) => page.screenshot({path: path.join(ARTIFACTS, name + '.png'), fullPage: true});

async function signIn(page, url, token) {
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('#signin-submit');
  await page.waitForSelector('#workloads tbody tr');
}

// Waits until herdd has reloaded the tokens file: the operator may scale
// shop/worker, or may not.
function operatorMayScale(may) {
  return until('the tokens file to be reloaded', async () => {
    const r = await fetch(authd.url + '/ui/access?namespace=shop&name=worker', {headers: {Authorization: 'Bearer t-operator'}});
    return (await r.json()).verbs.worker.includes('scale') === may;
  });
}

// Fills a workload's action dialog, shows its plan, gives a reason.
async function planAction(page, action, fill) {
  await page.click(`#actions button[data-action="${action}"]`);
  if (fill) await fill();
  await page.click('#show-plan');
  await page.waitForSelector('#plan-summary');
  await page.fill('#reason', 'from the dashboard test');
}

// Runs the open action dialog and waits for the operation's page.
async function runAction(page) {
  await page.click('#run');
  await page.waitForURL(/#\/op\//);
  await page.waitForSelector('#progress-text', {state: 'attached'});
}

before(async () => {
  sim = await startHerdd('ui-sim', ['--sim', '--sim-pod-start-delay=400ms', `--sim-kubeconfig-out=${kubeconfig}`]);
  writeTokens(tokens());
  authd = await startHerdd('ui-auth', [`--kubeconfig=${kubeconfig}`, `--tokens-file=${tokensFile}`]);
  browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']});
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [sim, authd]) if (p) p.proc.kill('SIGTERM');
  fs.rmSync(dir, {recursive: true, force: true});
  assert.deepEqual(pageErrors, [], 'errors in the page');
});

describe('herdd --sim', () => {
  test('the page loads and lists the demo workloads, filtered by namespace and search', async () => {
    const page = await newPage();
    const t0 = Date.now();
    await page.goto(sim.url + '/');
    await page.waitForSelector('#workloads tbody tr[data-workload="shop/web"]');
    const loaded = Date.now() - t0;
    console.log(`# the workloads page showed its rows ${loaded} ms after navigation started`);
    assert.ok(loaded < 5000, `loaded in ${loaded} ms`);
    const rows = await page.$$eval('#workloads tbody tr', (trs) => trs.map((tr) => tr.dataset.workload));
    assert.deepEqual(rows.sort(), ['batch/queue', 'batch/report', 'shop/api', 'shop/web', 'shop/worker']);
    assert.match(await page.textContent('#who'), /anonymous/);
    await shot(page, '01-workloads');

    await page.fill('#search', 'worker');
    assert.deepEqual(await page.$$eval('#workloads tbody tr:not([hidden])', (trs) => trs.map((tr) => tr.dataset.workload)),
                     ['shop/worker']);
    await page.fill('#search', '');
    await page.selectOption('#ns-filter', 'batch');
    assert.equal(await page.textContent('#count'), '2 of 5 workloads');
    await page.selectOption('#ns-filter', '');
    await page.context().close();
  });

  test('a rollout: its plan, its progress streamed to done, the new image shown', async () => {
    const page = await newPage(sim.url + '/#/w/shop/deployments/web');
    await page.waitForSelector('#pods tbody tr');
    await shot(page, '02-workload');
    await planAction(page, 'rollout', () => page.fill('#image-0', 'shop/web:1.1'));
    assert.match(await page.textContent('#plan-changes'), /image web: shop\/web:1\.0 → shop\/web:1\.1/);
    assert.equal(await page.$$eval('#plan-pods tbody tr', (r) => r.length), 6);
    await shot(page, '03-rollout-plan');
    await runAction(page);
    await page.waitForSelector('[data-state="OPERATION_STATE_RUNNING"], [data-state="OPERATION_STATE_SUCCEEDED"]');
    // The bar follows the watch: collect what it showed until the end.
    const seen = new Set();
    await until('the rollout to succeed', async () => {
      const v = await page.$eval('#facts [role=progressbar]', (b) => b.getAttribute('aria-valuenow')).catch(() => null);
      if (v !== null) seen.add(Number(v));
      if (seen.size === 2) await shot(page, '04-rollout-running');
      return page.$('[data-state="OPERATION_STATE_SUCCEEDED"]');
    });
    assert.ok([...seen].some((v) => v > 0 && v < 100), `the bar went through ${[...seen]}`);
    assert.equal(await page.$eval('#facts [role=progressbar]', (b) => b.getAttribute('aria-valuenow')), '100');
    assert.match(await page.textContent('#progress-text'), /new pods ready 6\/6.*old pods left 0/);
    assert.ok(await page.$('#timings tr[data-phase="pods-ready"]'), 'the phases are charted');
    await shot(page, '05-rollout-done');
    assert.equal(imageOf('shop', 'web'), 'shop/web:1.1');

    await page.click('#facts a');  // the target
    await page.waitForSelector('#wl-name');
    assert.match(await page.textContent('#facts'), /web: shop\/web:1\.1/);
    await until('the pods of 1.1 to be listed', async () =>
      (await page.$$eval('#pods tbody tr', (r) => r.map((x) => x.textContent))).every((t) => t.includes('shop/web:1.1')));
    // Its revisions: the new one current, written by this rollout; the one
    // before it can be gone back to, after reading the plan.
    const revs = await page.$$eval('#revisions tbody tr', (r) => r.map((x) => ({
      revision: x.dataset.revision, current: x.classList.contains('current'), text: x.textContent})));
    assert.ok(revs.length >= 2, `revisions listed: ${JSON.stringify(revs)}`);
    assert.ok(revs[0].current && /shop\/web:1\.1/.test(revs[0].text) && /rollout by anonymous/.test(revs[0].text), revs[0].text);
    assert.ok(!revs[1].current && /shop\/web:1\.0/.test(revs[1].text), revs[1].text);
    assert.ok(Number(revs[0].revision) > Number(revs[1].revision), 'newest first');
    await until('the current revision to count its 6 pods', async () =>
      (await page.textContent(`#revisions tr[data-revision="${revs[0].revision}"] td:nth-child(3)`)) === '6');
    await page.click(`#revisions tr[data-revision="${revs[1].revision}"] button[data-action="undo-to"]`);
    assert.equal(await page.inputValue('#to-revision'), revs[1].revision);
    await page.click('#show-plan');
    await page.waitForSelector('#plan-summary');
    assert.match(await page.textContent('#plan-changes'), /shop\/web:1\.1 → shop\/web:1\.0/);
    await shot(page, '05b-workload-revisions');
    await page.click('#close');
    assert.equal(imageOf('shop', 'web'), 'shop/web:1.1', 'a plan changes nothing');
    await page.context().close();
  });

  test('a crash-looping rollout fails and rolls back, with its reason and the log lines', async () => {
    const page = await newPage(sim.url + '/#/w/shop/deployments/web');
    await page.waitForSelector('#pods tbody tr');
    await planAction(page, 'rollout', () => page.fill('#image-0', 'shop/web:2-crashloop'));
    await runAction(page);
    await page.waitForSelector('[data-state="OPERATION_STATE_ROLLED_BACK"]', {timeout: 60000});
    assert.match(await page.textContent('#failure'), /CrashLoopBackOff/);
    assert.ok((await page.$$('#failure pre.log-tail')).length > 0, 'the crash-looping pod\'s log lines are shown');
    assert.match(await page.textContent('#op-error'), /.+/);
    await shot(page, '06-rollout-rolled-back');
    assert.equal(imageOf('shop', 'web'), 'shop/web:1.1');
    await page.context().close();
  });

  test('a pod killed from its row, after the plan names it', async () => {
    const page = await newPage(sim.url + '/#/w/shop/deployments/api');
    await page.waitForSelector('#pods tbody tr button[data-action="kill"]');
    const pod = await page.$eval('#pods tbody tr', (tr) => tr.dataset.pod);
    await page.click(`#pods tr[data-pod="${pod}"] button[data-action="kill"]`);
    await page.click('#show-plan');
    await page.waitForSelector('#plan-pods');
    assert.match(await page.textContent('#plan-pods'), new RegExp(pod));
    await page.fill('#reason', 'a stuck pod');
    await runAction(page);
    await page.waitForSelector('[data-state="OPERATION_STATE_SUCCEEDED"]');
    assert.match(await page.textContent('#progress-text'), /killed 1\/1/);
    const left = kubectl('-n', 'shop', 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}');
    assert.ok(!left.split(' ').includes(pod), `${pod} is gone: ${left}`);
    await page.context().close();
  });

  test('a CronJob run from its page starts a Job', async () => {
    const page = await newPage(sim.url + '/#/w/batch/cronjobs/report');
    await page.waitForSelector('#actions button[data-action="run"]');
    assert.match(await page.textContent('#facts'), /\*\/5 \* \* \* \*/);
    await planAction(page, 'run');
    await runAction(page);
    await page.waitForSelector('#facts');
    await page.waitForSelector('[data-state="OPERATION_STATE_SUCCEEDED"]', {timeout: 30000});
    assert.notEqual(kubectl('-n', 'batch', 'get', 'jobs', '-o', 'jsonpath={.items[*].metadata.name}').trim(), '');
    await page.context().close();
  });

  test('the operations page follows running operations live; one is cancelled from its page', async () => {
    const start = async (image) => {
      const r = await fetch(sim.url + '/v1/namespaces/shop/deployments/worker:rollout', {
        method: 'POST', body: JSON.stringify({images: {worker: image}, options: {reason: 'slow pods'}})});
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()).name.replace('operations/', '');
    };
    const page = await newPage();
    const first = await start('shop/worker:2-slow-3s');
    await page.goto(sim.url + '/#/ops');
    const bar = `#active-ops tr[data-op="${first}"] [role=progressbar]`;
    await page.waitForSelector(bar);
    assert.equal(await page.$eval(bar, (b) => b.getAttribute('aria-valuenow')), '0');
    await shot(page, '13-operations-running');
    // The row moves with the watch: the page marks a bar drawn from it.
    let live = 0;
    await until('the rollout to end in its row', async () => {
      const v = await page.$eval(`${bar}.live`, (b) => Number(b.getAttribute('aria-valuenow'))).catch(() => 0);
      live = Math.max(live, v);
      return page.$(`#active-ops tr[data-op="${first}"] [data-state="OPERATION_STATE_SUCCEEDED"]`);
    });
    assert.ok(live > 0, 'the watch moved the bar');
    assert.equal(await page.$eval(bar, (b) => b.getAttribute('aria-valuenow')), '100');

    const second = await start('shop/worker:3-slow-60s');
    await page.goto(sim.url + '/#/op/' + second);
    await page.click('#actions button[data-action="cancel"]');
    await page.fill('#reason', 'too slow');
    await page.click('#run');
    await page.waitForSelector('[data-state="OPERATION_STATE_CANCELLED"], [data-state="OPERATION_STATE_ROLLED_BACK"]', {timeout: 30000});
    await page.waitForSelector('#op-error');
    assert.match(await page.textContent('#op-error'), /too slow/);
    await shot(page, '14-cancelled');
    assert.equal(imageOf('shop', 'worker'), 'shop/worker:2-slow-3s');
    await page.context().close();
  });

  test('text from the cluster and from callers renders as text', async () => {
    const image = 'shop/x:<script>window.pwned=1</script>';
    const manifest = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'markup', namespace: 'shop'},
      spec: {replicas: 1, selector: {matchLabels: {app: 'markup'}},
             template: {metadata: {labels: {app: 'markup'}}, spec: {containers: [{name: 'app', image}]}}},
    };
    execFileSync(KUBECTL, ['apply', '-f', '-'], {input: JSON.stringify(manifest), env: {...process.env, KUBECONFIG: kubeconfig}});
    const page = await newPage(sim.url + '/#/w/shop/deployments/markup');
    await page.waitForSelector('#facts');
    assert.match(await page.textContent('#facts'), /app: shop\/x:<script>window\.pwned=1<\/script>/);
    // A rollout whose reason is markup: the operation page shows it as written.
    await page.click('#actions button[data-action="restart"]');
    await page.click('#show-plan');
    await page.waitForSelector('#plan-summary');
    await page.fill('#reason', '<img src=x onerror="window.pwned=2"><b>bold</b>');
    await runAction(page);
    await page.waitForSelector('#facts');
    assert.match(await page.textContent('#facts'), /<img src=x onerror="window\.pwned=2"><b>bold<\/b>/);
    await page.click('a[href="#/"]');
    await page.waitForSelector('#workloads tbody tr[data-workload="shop/markup"]');
    assert.match(await page.textContent('tr[data-workload="shop/markup"]'), /<script>window\.pwned=1<\/script>/);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.$$eval('script', (s) => s.length), 1, 'only the page\'s own script');
    assert.equal(await page.$$eval('img, b', (x) => x.length), 0);
    await shot(page, '07-markup-as-text');
    // A route is names, not a path to walk.
    await page.goto(sim.url + '/#/w/shop/deployments/web%2F..%2F..%2F..%2Fbatch%2Fcronjobs%2Freport');
    await page.waitForSelector('#banner:text("No such workload")');
    assert.equal(await page.$$eval('#actions button', (b) => b.length), 0);
    await page.context().close();
  });
});

describe('herdd with a tokens file', () => {
  test('sign-in: a wrong token is refused, the token stays out of the URL', async () => {
    const page = await newPage(authd.url + '/');
    await page.waitForSelector('#signin');
    await shot(page, '08-sign-in');
    await page.fill('#token', 't-wrong');
    await page.click('#signin-submit');
    await page.waitForSelector('#signin-error:text("not known")');
    await signIn(page, authd.url + '/', 't-viewer');
    assert.equal(await page.textContent('#who'), 'signed in as viewer');
    assert.ok(!page.url().includes('t-viewer'));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('herd.token')), 't-viewer');
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await page.click('#signout');
    await page.waitForSelector('#signin');
    await page.context().close();
  });

  test('a read-only principal sees no action buttons', async () => {
    const page = await newPage();
    await signIn(page, authd.url + '/', 't-viewer');
    await page.click('a.wl-link:text-is("web")');
    await page.waitForSelector('#pods tbody tr');
    assert.equal(await page.$$eval('#actions button', (b) => b.length), 0);
    assert.equal(await page.$$eval('#pods button', (b) => b.length), 0);
    await shot(page, '09-read-only');
    // An operation's page neither: the viewer may not cancel.
    await page.click('table.ops tbody a');
    await page.waitForSelector('#facts');
    assert.equal(await page.$$eval('#actions button', (b) => b.length), 0);
    await page.context().close();
  });

  test('a refused action shows the server\'s message and changes nothing', async () => {
    const page = await newPage();
    await signIn(page, authd.url + '/', 't-operator');
    await page.goto(authd.url + '/#/w/shop/deployments/worker');
    await page.waitForSelector('#pods tbody tr');
    await planAction(page, 'scale', () => page.fill('#replicas', '5'));
    // The operator's right to scale is taken away while the dialog is open.
    writeTokens(tokens({operatorScales: false}));
    await operatorMayScale(false);
    await page.click('#run');
    await page.waitForSelector('#dialog-error:text("scale")');
    assert.match(await page.textContent('#dialog-error'), /operator may not scale/);
    await shot(page, '10-refused');
    writeTokens(tokens());
    await operatorMayScale(true);
    assert.equal(kubectl('-n', 'shop', 'get', 'deploy', 'worker', '-o', 'jsonpath={.spec.replicas}'), '3');
    await page.context().close();
  });

  test('a held scale is approved by another principal, never by its requester', async () => {
    const op = await newPage();
    await signIn(op, authd.url + '/', 't-operator');
    await op.goto(authd.url + '/#/w/shop/deployments/api');
    await op.waitForSelector('#pods tbody tr');
    await planAction(op, 'scale', () => op.fill('#replicas', '6'));
    await runAction(op);
    await op.waitForSelector('[data-state="OPERATION_STATE_PENDING_APPROVAL"]');
    assert.match(await op.textContent('#approval'), /waiting for one of approver/);
    assert.equal(await op.$$eval('#actions button[data-action="approve"]', (b) => b.length), 0);
    await shot(op, '11-waiting-for-approval');
    const url = op.url();

    const approver = await newPage();
    await signIn(approver, authd.url + '/', 't-approver');
    await approver.goto(url);
    await approver.click('#actions button[data-action="approve"]');
    await approver.fill('#reason', 'capacity for the sale');
    await approver.click('#run');
    // The requester's page follows the watch through approval to the end.
    await op.waitForSelector('[data-state="OPERATION_STATE_SUCCEEDED"]', {timeout: 30000});
    assert.match(await op.textContent('#approval'), /approved by approver: capacity for the sale/);
    await shot(op, '12-approved-and-done');
    assert.equal(kubectl('-n', 'shop', 'get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'), '6');
    await op.context().close();
    await approver.context().close();
  });

  test('--dashboard=false: no page, the REST API still served', async () => {
    const off = await startHerdd('ui-off', [`--kubeconfig=${kubeconfig}`, '--insecure-no-auth', '--dashboard=false']);
    try {
      for (const p of ['/', '/ui/app.js', '/ui/access']) assert.equal((await fetch(off.url + p)).status, 404, p);
      assert.equal((await fetch(off.url + '/v1/workloads')).status, 200);
    } finally {
      off.proc.kill('SIGTERM');
    }
  });
});
