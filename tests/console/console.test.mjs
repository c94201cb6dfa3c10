// The web console in headless Chromium: sign-in, the event history (filters, columns, paging, an
// event's detail, CSV and JSON downloads compared with LookupEvents), trails (stop and start
// logging), an insight's chart, and the security properties (no session, no CSRF token, another
// account, injected markup). Screenshots go to tests/console/artifacts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Cairn, IDS, ALPHA, BETA, browser, record, signIn, waitFor, artifacts } from './harness.mjs';

const MINUTE = 60;
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const INJECTED = {
  eventName: '<img src=x onerror="window.__pwned=1">',
  user: '<script>window.__pwned=2</script>',
  resource: '"><svg onload="window.__pwned=3">',
};

let cairn;
let chrome;
let t0;

/** Two hours of EC2 traffic ending half an hour ago, with a RunInstances spike in minutes 90-96. */
function traffic() {
  const out = [];
  for (let m = 0; m < 120; m++) {
    const base = t0 + m * MINUTE;
    for (let i = 0; i < 18 + (m % 5); i++) out.push(record(ALPHA, base + (i % 60)));
    for (let i = 0; i < 10; i++) out.push(record(ALPHA, base + 3 + i * 5, { eventName: 'DescribeInstances', readOnly: true }));
    if (m >= 90 && m < 97) {
      for (let i = 0; i < 200; i++) {
        out.push(record(ALPHA, base + (i % 60), {
          userIdentity: { type: 'IAMUser', principalId: 'AIDAMALLORY', arn: `arn:aws:iam::${ALPHA}:user/mallory`, accountId: ALPHA, userName: 'mallory' },
          userAgent: 'evil-script/1.0',
        }));
      }
    }
  }
  return out;
}

before(async () => {
  cairn = await new Cairn({
    CAIRN_INSIGHTS_BASELINE: '1h',
    CAIRN_INSIGHTS_IDLE: '2s',
    CAIRN_DELIVERY_INTERVAL: '1s',
    CAIRN_CONSOLE_SESSION_TTL: '10m',
  }).start();
  const root = IDS.alphaRoot;
  cairn.aws(root, ['s3api', 'create-bucket', '--bucket', 'console-logs']);
  cairn.aws(root, ['cloudtrail', 'create-trail', '--name', 'main', '--s3-bucket-name', 'console-logs', '--enable-log-file-validation']);
  cairn.aws(root, ['cloudtrail', 'start-logging', '--name', 'main']);
  cairn.aws(root, ['cloudtrail', 'put-insight-selectors', '--trail-name', 'main', '--insight-selectors', '[{"InsightType":"ApiCallRateInsight"}]']);
  t0 = Math.floor((Date.now() / 1000 - 150 * MINUTE) / MINUTE) * MINUTE;
  const now = Math.floor(Date.now() / 1000);
  cairn.importRecords(root, [
    ...traffic(),
    // Fields holding markup and script, which the console must show as text.
    record(ALPHA, now - 120, {
      eventName: INJECTED.eventName,
      userIdentity: { type: 'IAMUser', principalId: 'AIDAX', arn: `arn:aws:iam::${ALPHA}:user/x`, accountId: ALPHA, userName: INJECTED.user },
      resources: [{ ARN: 'arn:aws:s3:::' + INJECTED.resource, accountId: ALPHA, type: 'AWS::S3::Bucket' }],
      requestParameters: { bucketName: INJECTED.resource, note: '</pre><script>window.__pwned=4</script>' },
    }),
  ]);
  cairn.importRecords(IDS.betaAdmin, [record(BETA, now - 60, { eventName: 'BetaOnlySecretEvent' })]);
  chrome = await browser();
});

after(async () => {
  if (chrome) await chrome.close();
  if (cairn) await cairn.stop();
});

/** Waits for the spike's insight (its Start and End) to be in the history. */
function insightRaised() {
  return waitFor(() => cairn.lookup(IDS.alphaRoot, ['--event-category', 'insight']).length >= 2, 120000, 'the spike\'s insight');
}

async function newPage(options = {}) {
  const context = await chrome.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, ...options });
  return context.newPage();
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name + '.png'), fullPage: true });
}

/** The values of one column of the events table. */
async function column(page, header) {
  const headers = await page.locator('#events thead th').allTextContents();
  const i = headers.indexOf(header);
  assert.ok(i >= 0, `column ${header} is shown (have ${headers})`);
  return page.locator(`#events tbody tr td:nth-child(${i + 1})`).allTextContents();
}

async function showColumn(page, label) {
  const summary = page.locator('details.columns summary');
  await summary.click();
  const box = page.getByLabel(label, { exact: true });
  if (!(await box.isChecked())) await box.check();
  await summary.click();
}

test('nothing is served without a session, a CSRF token or from another site', async () => {
  const url = cairn.url;
  const post = (path, headers = {}, body = '{}') => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  let r = await post('/console/api/LookupEvents', { 'x-cairn-csrf': 'x' });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).__type, 'NotSignedInException');
  r = await fetch(url + '/console/export?format=csv');
  assert.equal(r.status, 401);
  r = await fetch(url + '/console/session');
  assert.equal(r.status, 401);

  // A real session, then requests that lack what a browser of this site would send.
  r = await post('/console/signin', { 'x-cairn-csrf': 'sign-in' }, JSON.stringify({ AccessKeyId: IDS.alphaAdmin.key, SecretAccessKey: IDS.alphaAdmin.secret }));
  assert.equal(r.status, 200);
  const [cookie, csrfCookie] = r.headers.getSetCookie();
  assert.match(cookie, /^cairn_session=[0-9a-f]{64}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=600$/);
  // The CSRF token's cookie is the page's to read (it sends it back in a header).
  assert.match(csrfCookie, /^cairn_csrf=[0-9a-f]{64}; Path=\/console; SameSite=Strict; Max-Age=600$/);
  const session = cookie.split(';')[0];
  const { Csrf: csrf } = await r.json();
  r = await post('/console/api/LookupEvents', { cookie: session });
  assert.equal(r.status, 403, 'no CSRF token');
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': 'wrong' });
  assert.equal(r.status, 403, 'a wrong CSRF token');
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf, origin: 'http://evil.example' });
  assert.equal(r.status, 403, 'another origin');
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf, 'sec-fetch-site': 'cross-site' });
  assert.equal(r.status, 403, 'a cross-site request');
  r = await post('/console/api/DeleteTrail', { cookie: session, 'x-cairn-csrf': csrf }, '{"Name":"main"}');
  assert.equal((await r.json()).__type, 'UnknownOperationException', 'the console cannot delete trails');
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf }, '{"MaxResults": 0}');
  assert.equal((await r.json()).__type, 'InvalidMaxResultsException');
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf }, '{not json');
  assert.equal((await r.json()).__type, 'SerializationException');
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf }, 'x'.repeat(100 * 1024));
  assert.equal(r.status, 413);
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf }, '{}');
  assert.equal(r.status, 200);
  // A form of another site cannot sign in (no JSON, no header).
  r = await fetch(url + '/console/signin', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'AccessKeyId=a' });
  assert.equal(r.status, 400);
  // Sign-out needs the token too, then the session is gone.
  r = await post('/console/signout', { cookie: session });
  assert.equal(r.status, 403);
  r = await post('/console/signout', { cookie: session, 'x-cairn-csrf': csrf });
  assert.equal(r.status, 200);
  r = await post('/console/api/LookupEvents', { cookie: session, 'x-cairn-csrf': csrf });
  assert.equal(r.status, 401);
  // The page's headers.
  r = await fetch(url + '/console');
  assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
});

test('a wrong secret is refused and recorded; a sign-in is recorded', async () => {
  const page = await newPage();
  await page.goto(cairn.url + '/console');
  await page.getByLabel('Access key ID').fill(IDS.alphaAdmin.key);
  await page.getByLabel('Secret access key').fill('not-the-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
  await shot(page, 'signin-failed');
  await page.getByLabel('Secret access key').fill(IDS.alphaAdmin.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#events caption').waitFor();
  const logins = cairn.lookup(IDS.alphaRoot, ['--lookup-attributes', 'AttributeKey=EventName,AttributeValue=ConsoleLogin'])
    .map((e) => JSON.parse(e.CloudTrailEvent)).filter((e) => e.userIdentity.userName === 'admin');
  const outcomes = logins.map((e) => e.responseElements.ConsoleLogin);
  assert.ok(outcomes.includes('Success') && outcomes.includes('Failure'), JSON.stringify(outcomes));
  assert.ok(logins.every((e) => e.eventType === 'AwsConsoleSignIn' && e.eventSource === 'signin.amazonaws.com'));
  await page.context().close();
});

test('the event history filters, pages and shows optional columns like LookupEvents', async () => {
  const page = await newPage();
  await signIn(page, cairn.url, IDS.alphaAdmin);
  await shot(page, 'events');
  await page.getByLabel('Lookup attribute').selectOption('EventName');
  await page.getByLabel('Attribute value').fill('DescribeInstances');
  await page.getByLabel('Time range').selectOption('1d');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#events caption', { hasText: 'Events 1–50' }).waitFor();
  await showColumn(page, 'Event ID');
  await showColumn(page, 'Source IP address');
  const hash = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
  const [start, end] = [Number(hash.get('at')) - 86400, Number(hash.get('at'))];
  const expected = cairn.lookup(IDS.alphaAdmin, ['--lookup-attributes', 'AttributeKey=EventName,AttributeValue=DescribeInstances',
    '--start-time', String(start), '--end-time', String(end)]).map((e) => e.EventId);
  assert.equal(expected.length, 1200);
  const seen = [];
  for (let p = 0; p < 3; p++) {
    await page.locator('#events caption', { hasText: `Events ${p * 50 + 1}–` }).waitFor();
    seen.push(...(await column(page, 'Event ID')));
    assert.deepEqual(new Set(await column(page, 'Event name')), new Set(['DescribeInstances']));
    assert.deepEqual(new Set(await column(page, 'Source IP address')), new Set(['10.0.0.1']));
    await page.getByRole('button', { name: 'Next page' }).click();
  }
  assert.deepEqual(seen, expected.slice(0, 150), 'the first three pages, in LookupEvents order');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.locator('#events caption', { hasText: 'Events 101–150' }).waitFor();
  await shot(page, 'events-filtered');

  // A reload asks for the first page once, at start (in parallel with the session check).
  const lookups = [];
  page.on('request', (req) => { if (req.url().endsWith('/console/api/LookupEvents')) lookups.push(req); });
  await page.reload();
  await page.locator('#events caption', { hasText: 'Events 1–50' }).waitFor();
  assert.equal(lookups.length, 1);
  assert.deepEqual(await column(page, 'Event ID'), expected.slice(0, 50));
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('#events caption', { hasText: 'Events 101–150' }).waitFor();

  // Keyboard: "/" goes to the value field; a row's link opens with Enter; Escape comes back.
  await page.locator('body').click({ position: { x: 5, y: 400 } });
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-value');
  await page.locator('#events tbody a.event-link').first().focus();
  await page.keyboard.press('Enter');
  await page.locator('#event-json').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#events caption', { hasText: 'Events 101–150' }).waitFor();

  // The console's reads are events of the user, marked as from the console.
  const reads = cairn.lookup(IDS.alphaRoot, ['--lookup-attributes', 'AttributeKey=Username,AttributeValue=admin', '--max-items', '50'])
    .map((e) => JSON.parse(e.CloudTrailEvent)).filter((e) => e.eventName === 'LookupEvents' && e.sessionCredentialFromConsole === 'true');
  assert.ok(reads.length >= 4, `console lookups recorded: ${reads.length}`);
  assert.match(reads[0].userAgent, /Chrome/);
  await page.context().close();
});

test('an event opens as formatted JSON, and markup in its fields stays text', async () => {
  const page = await newPage();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cairn.url });
  await signIn(page, cairn.url, IDS.alphaAdmin);
  await page.getByLabel('Lookup attribute').selectOption('ResourceName');
  await page.getByLabel('Attribute value').fill(INJECTED.resource);
  await page.getByRole('button', { name: 'Apply' }).click();
  const link = page.getByRole('link', { name: INJECTED.eventName, exact: true });
  await link.waitFor();
  assert.deepEqual(await column(page, 'User name'), [INJECTED.user]);
  assert.deepEqual(await column(page, 'Resource name'), [INJECTED.resource]);
  await shot(page, 'injected-row');
  await link.click();
  await page.locator('#event-json').waitFor();
  assert.equal(await page.locator('#event-title').textContent(), INJECTED.eventName);
  const json = JSON.parse(await page.locator('#event-json').textContent());
  assert.equal(json.requestParameters.note, '</pre><script>window.__pwned=4</script>');
  assert.equal(json.userIdentity.userName, INJECTED.user);
  await page.getByRole('button', { name: 'Copy JSON' }).click();
  await page.getByText(/Copied|Selected/).waitFor();
  const clip = await page.evaluate(() => navigator.clipboard.readText().catch(() => ''));
  if (clip) assert.deepEqual(JSON.parse(clip), json);
  assert.doesNotMatch(await page.locator('main').textContent(), /\[object /);
  assert.equal(await page.locator('dl.props dt', { hasText: 'Source IP address' }).count(), 1);
  await shot(page, 'injected-detail');
  // Nothing ran, and no element came out of the data.
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator('main img, main script, main svg[onload]').count(), 0);
  await page.context().close();
});

test('CSV and JSON downloads hold exactly what LookupEvents returns', async () => {
  const page = await newPage();
  await signIn(page, cairn.url, IDS.alphaAdmin);
  await page.getByLabel('Lookup attribute').selectOption('Username');
  await page.getByLabel('Attribute value').fill('mallory');
  await page.getByLabel('Time range').selectOption('1d');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#events caption', { hasText: 'Events 1–50' }).waitFor();
  const hash = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
  const end = Number(hash.get('at'));
  const expected = cairn.lookup(IDS.alphaAdmin, ['--lookup-attributes', 'AttributeKey=Username,AttributeValue=mallory',
    '--start-time', String(end - 86400), '--end-time', String(end)]);
  assert.equal(expected.length, 1400);

  const [csvDl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  const csv = readFileSync(await csvDl.path(), 'utf8').trimEnd().split('\r\n');
  assert.match(csv[0], /^EventTime,EventName,Username,EventSource,ResourceType,ResourceName,AccessKeyId,ReadOnly,EventId,/);
  const ids = csv.slice(1).map((line) => line.split(',')[8]);
  assert.deepEqual(ids, expected.map((e) => e.EventId));

  const [jsonDl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download JSON' }).click()]);
  assert.match(jsonDl.suggestedFilename(), /\.json$/);
  const doc = JSON.parse(readFileSync(await jsonDl.path(), 'utf8'));
  assert.deepEqual(doc.Records, expected.map((e) => JSON.parse(e.CloudTrailEvent)));
  await page.context().close();
});

test('trails show their status, and logging stops and starts where the policy allows', async () => {
  const page = await newPage();
  await signIn(page, cairn.url, IDS.alphaAdmin);
  await page.getByRole('link', { name: 'Trails', exact: true }).click();
  const row = page.locator('#trails tbody tr', { hasText: 'main' });
  await row.waitFor();
  assert.match(await row.textContent(), /Logging/);
  await waitFor(() => cairn.aws(IDS.alphaRoot, ['cloudtrail', 'get-trail-status', '--name', 'main']).LatestDeliveryTime, 30000, 'a delivery');
  await page.reload();
  await row.waitFor();
  await shot(page, 'trails');
  await page.getByRole('link', { name: 'main', exact: true }).click();
  await page.locator('#toggle-logging').waitFor();
  await page.getByText('ApiCallRateInsight').waitFor();
  await page.getByRole('button', { name: 'Stop logging' }).click();
  await page.locator('#confirm-logging').click();
  await page.getByText('Logging stopped.', { exact: true }).first().waitFor();
  assert.equal(cairn.aws(IDS.alphaRoot, ['cloudtrail', 'get-trail-status', '--name', 'main']).IsLogging, false);
  await shot(page, 'trail-stopped');
  await page.getByRole('button', { name: 'Start logging' }).click();
  await page.locator('#confirm-logging').click();
  await page.getByText('Logging started.', { exact: true }).first().waitFor();
  assert.equal(cairn.aws(IDS.alphaRoot, ['cloudtrail', 'get-trail-status', '--name', 'main']).IsLogging, true);
  const stops = cairn.lookup(IDS.alphaRoot, ['--lookup-attributes', 'AttributeKey=EventName,AttributeValue=StopLogging'])
    .map((e) => JSON.parse(e.CloudTrailEvent));
  assert.ok(stops.some((e) => e.sessionCredentialFromConsole === 'true' && e.userIdentity.userName === 'admin'));
  await page.context().close();

  // A reader sees the trail but cannot stop it.
  const reader = await newPage();
  await signIn(reader, cairn.url, IDS.alphaReader);
  await reader.goto(cairn.url + '/console#/trails');
  await reader.getByRole('link', { name: 'main', exact: true }).click();
  await reader.locator('#toggle-logging').waitFor();
  assert.equal(await reader.locator('#toggle-logging').isDisabled(), true);
  await reader.getByText('do not allow cloudtrail:StopLogging').waitFor();
  await reader.context().close();
});

test('an insight is charted against its baseline', async () => {
  await insightRaised();
  const page = await newPage();
  await signIn(page, cairn.url, IDS.alphaAdmin);
  await page.getByRole('link', { name: 'Insights', exact: true }).click();
  const card = page.locator('article.insight', { hasText: 'RunInstances' }).first();
  await card.waitFor();
  await card.locator('svg polyline').waitFor();
  const points = (await card.locator('svg polyline').getAttribute('points')).trim().split(' ');
  assert.ok(points.length > 60, `a minute-by-minute series: ${points.length} points`);
  assert.equal(await card.locator('svg rect.window').count(), 1);
  assert.equal(await card.locator('svg line.baseline').count(), 1);
  assert.match(await card.locator('svg desc').textContent(), /Peak \d+ per minute/);
  assert.doesNotMatch(await card.textContent(), /\[object /);
  // Who made it: the spike's caller and agent lead the attributions.
  const top = card.locator('table.attributions tbody tr');
  assert.match(await top.filter({ hasText: 'Caller' }).locator('td').first().textContent(), new RegExp(`^arn:aws:iam::${ALPHA}:user/mallory`));
  assert.match(await top.filter({ hasText: 'User agent' }).locator('td').first().textContent(), /^evil-script\/1\.0/);
  await card.locator('dd', { hasText: 'per minute' }).first().waitFor();
  await shot(page, 'insight');
  await page.context().close();
});

test('a session of one account sees nothing of another', async () => {
  const beta = await newPage();
  await signIn(beta, cairn.url, IDS.betaAdmin);
  await beta.getByRole('link', { name: 'BetaOnlySecretEvent' }).waitFor();
  assert.equal(await beta.getByText('RunInstances').count(), 0);
  await beta.goto(cairn.url + '/console#/trails');
  await beta.getByText('No trail applies').waitFor();
  await beta.context().close();

  const alpha = await newPage();
  await signIn(alpha, cairn.url, IDS.alphaAdmin);
  await alpha.getByLabel('Lookup attribute').selectOption('EventName');
  await alpha.getByLabel('Attribute value').fill('BetaOnlySecretEvent');
  await alpha.getByRole('button', { name: 'Apply' }).click();
  await alpha.locator('#events caption', { hasText: 'No events match' }).waitFor();
  // The export of alpha's session holds no beta event whatever the query asks.
  const csv = await alpha.evaluate(async () => (await fetch('/console/export?format=csv&attribute=EventName&value=BetaOnlySecretEvent')).text());
  assert.equal(csv.trim().split('\n').length, 1, 'a header only');
  await alpha.context().close();
});

test('phone layout, dark mode and a region selector', async () => {
  const page = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
  await signIn(page, cairn.url, IDS.alphaAdmin);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling of the page: ${overflow}px`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(15, 20, 25)');
  await shot(page, 'phone-dark');
  // Times in UTC, remembered.
  await page.getByLabel('Times', { exact: true }).selectOption('utc');
  await page.locator('#events tbody td.time', { hasText: / UTC$/ }).first().waitFor();
  await page.reload();
  await page.locator('#events tbody td.time', { hasText: / UTC$/ }).first().waitFor();
  await page.getByLabel('Region', { exact: true }).selectOption('eu-west-1');
  await page.locator('#events caption', { hasText: 'No events match' }).waitFor();
  await page.context().close();
});

/** WCAG 2.1 A/AA violations axe-core finds on the page as it is now. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
}

test('every view passes axe-core\'s WCAG 2.1 AA checks, light and dark', async () => {
  await insightRaised();
  for (const colorScheme of ['light', 'dark']) {
    // axe is injected as a script, which the console's CSP would (rightly) refuse.
    const page = await newPage({ bypassCSP: true, colorScheme });
    await page.goto(cairn.url + '/console');
    await page.getByLabel('Access key ID').waitFor();
    assert.deepEqual(await violations(page), [], `sign-in, ${colorScheme}`);
    await signIn(page, cairn.url, IDS.alphaAdmin);
    const views = [
      ['#/events?attr=Username&value=mallory&range=1d', '#events tbody tr'],
      ['#/trails', '#trails tbody tr'],
      ['#/insights', 'article.insight svg polyline'],
    ];
    for (const [hash, ready] of views) {
      await page.goto(cairn.url + '/console' + hash);
      await page.locator(ready).first().waitFor();
      assert.deepEqual(await violations(page), [], `${hash}, ${colorScheme}`);
    }
    await page.goto(cairn.url + '/console#/events');
    await page.locator('#events tbody a.event-link').first().click();
    await page.locator('#event-json').waitFor();
    assert.deepEqual(await violations(page), [], `an event, ${colorScheme}`);
    await page.goto(cairn.url + '/console#/trails');
    await page.getByRole('link', { name: 'main', exact: true }).click();
    await page.locator('#toggle-logging').waitFor();
    assert.deepEqual(await violations(page), [], `a trail, ${colorScheme}`);
    await page.context().close();
  }
});
