// Console benchmark: how long the event history's first page takes to be on screen in Chromium,
// from navigation start (page, script, style, session check and LookupEvents, all cold: each run
// is a new browser context with an empty cache), over a data directory of many events.
//
// Usage: node tests/console/bench.mjs --data-dir DIR [--account ID] [--runs N]
// DIR is a Cairn data directory, e.g. the one `cairn bench --only history --keep --work-dir W`
// leaves in W/cairn-bench-*/history/log (scripts/bench-console does both).

import { parseArgs } from 'node:util';
import { mkdtempSync, writeFileSync, rmSync, createReadStream } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browser, cairnBin, waitFor } from './harness.mjs';

const { values: opts } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    account: { type: 'string', default: '111122223333' },
    runs: { type: 'string', default: '20' },
    // The time range shown: by default that of the benchmark's synthetic events (crates/synth
    // starts on 2024-05-01; 10 million events span about 28 hours).
    from: { type: 'string', default: '1714521600' },
    to: { type: 'string', default: String(1714521600 + 3 * 86400) },
  },
});
if (!opts['data-dir']) {
  console.error('usage: node tests/console/bench.mjs --data-dir DIR [--account ID] [--runs N]');
  process.exit(2);
}
const runs = Number(opts.runs);
const KEY = 'AKIACONSOLEBENCH0001';
const SECRET = 'console-bench-secret-000000000000000000';

const root = mkdtempSync(join(tmpdir(), 'cairn-console-bench-'));
const config = join(root, 'cairn.toml');
writeFileSync(config, `[[accounts]]\nid = "${opts.account}"\nroot_access_keys = [{ id = "${KEY}", secret = "${SECRET}" }]\n`);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAIRN_')));
const proc = spawn(cairnBin(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', opts['data-dir'], '--config', config], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((ok, fail) => {
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/cairn listening on (http:\/\/127\.0\.0\.1:\d+)/);
    if (m) ok(m[1]);
  });
  proc.on('exit', (c) => fail(new Error('cairn exited ' + c)));
});
await waitFor(async () => (await fetch(url + '/health')).ok, 600000, 'the log to open');

const chrome = await browser();
try {
  // One sign-in; each run then starts from its cookies with an empty cache.
  const first = await chrome.newContext();
  const page = await first.newPage();
  await page.goto(url + '/console');
  await page.getByLabel('Access key ID').fill(KEY);
  await page.getByLabel('Secret access key').fill(SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#events caption').waitFor();
  const storage = await first.storageState();
  // Values to filter by, from the newest events.
  const sample = await page.evaluate(async (range) => {
    const s = await (await fetch('/console/session')).json();
    const r = await fetch('/console/api/LookupEvents', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-cairn-csrf': s.Csrf, 'x-cairn-region': 'us-east-1' },
      body: JSON.stringify({ MaxResults: 50, StartTime: range.from, EndTime: range.to }),
    });
    return (await r.json()).Events || [];
  }, { from: Number(opts.from), to: Number(opts.to) });
  await first.close();

  const pick = (f) => sample.map(f).find((v) => v);
  const cases = [
    ['all events', ''],
    ['EventName', pick((e) => e.EventName)],
    ['Username', pick((e) => e.Username)],
    ['AccessKeyId', sample.map((e) => e.AccessKeyId).filter(Boolean).at(-1)],
    ['ResourceName', pick((e) => (e.Resources || []).map((r) => r.ResourceName).find(Boolean))],
  ];
  console.log(`console first page over ${opts['data-dir']}, events of ${new Date(opts.from * 1000).toISOString()} to ${new Date(opts.to * 1000).toISOString()} (${runs} cold runs per case, Chromium ${chrome.version()})`);
  for (const [attr, value] of cases) {
    if (attr !== 'all events' && !value) continue;
    const times = [];
    const lookups = [];
    const before = [];
    for (let i = 0; i < runs; i++) {
      const ctx = await chrome.newContext({ storageState: storage });
      const p = await ctx.newPage();
      const q = new URLSearchParams({ range: 'custom', start: opts.from, end: opts.to });
      if (value) { q.set('attr', attr); q.set('value', value); }
      await p.goto(`${url}/console#/events?${q}`);
      await p.waitForFunction(() => performance.getEntriesByName('cairn-events-shown').length > 0, null, { timeout: 60000 });
      const [shown, lookupMs, sentAt] = await p.evaluate(() => {
        const l = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/console/api/LookupEvents')).pop();
        return [performance.getEntriesByName('cairn-events-shown')[0].startTime, l ? l.responseEnd - l.startTime : 0, l ? l.startTime : 0];
      });
      times.push(shown);
      lookups.push(lookupMs);
      before.push(sentAt);
      await ctx.close();
    }
    const pct = (v, q) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))];
    console.log(`  ${(attr + (value ? ' = ' + value : '')).padEnd(52)} p50 ${pct(times, 0.5).toFixed(0).padStart(4)} ms  p99 ${pct(times, 0.99).toFixed(0).padStart(4)} ms  (target ≤ 300 ms); `
      + `LookupEvents sent at p50 ${pct(before, 0.5).toFixed(0)} ms, its round trip p50 ${pct(lookups, 0.5).toFixed(0)} ms`);
  }

  // The same first page reloaded in an open tab (the browser and its renderer already running;
  // the page's files revalidated by ETag), as someone refreshing the history sees it.
  {
    const ctx = await chrome.newContext({ storageState: storage });
    const p = await ctx.newPage();
    const q = new URLSearchParams({ range: 'custom', start: opts.from, end: opts.to });
    await p.goto(`${url}/console#/events?${q}`);
    const times = [];
    for (let i = 0; i < runs; i++) {
      await p.reload();
      await p.waitForFunction(() => performance.getEntriesByName('cairn-events-shown').length > 0, null, { timeout: 60000 });
      times.push(await p.evaluate(() => performance.getEntriesByName('cairn-events-shown')[0].startTime));
    }
    times.sort((a, b) => a - b);
    console.log(`  ${'all events, reloaded in an open tab'.padEnd(52)} p50 ${times[Math.floor(runs / 2)].toFixed(0).padStart(4)} ms  p99 ${times[runs - 1].toFixed(0).padStart(4)} ms`);
    await ctx.close();
  }

  // Downloads through the page's links, as a user saves them: every event of the range's first
  // 2,500 seconds (about 250,000 of the synthetic events), and one event name over the range.
  const name = sample.map((e) => e.EventName).find(Boolean);
  const downloads = [
    ['CSV', 'Download CSV', 1, { end: String(Number(opts.from) + 2500) }, 'all events of 2,500 s'],
    ['JSON', 'Download JSON', 2, { end: String(Number(opts.from) + 2500) }, 'all events of 2,500 s'],
    ['CSV', 'Download CSV', 1, { attr: 'EventName', value: name }, 'EventName = ' + name],
    ['JSON', 'Download JSON', 2, { attr: 'EventName', value: name }, 'EventName = ' + name],
  ];
  for (const [label, link, count, filter, what] of downloads) {
    const ctx = await chrome.newContext({ storageState: storage, acceptDownloads: true });
    const p = await ctx.newPage();
    const q = new URLSearchParams({ range: 'custom', start: opts.from, end: opts.to, ...filter });
    await p.goto(`${url}/console#/events?${q}`);
    await p.locator('#events tbody tr').first().waitFor();
    const t = performance.now();
    const [dl] = await Promise.all([p.waitForEvent('download'), p.getByRole('link', { name: link }).click()]);
    const path = await dl.path();
    const secs = (performance.now() - t) / 1000;
    // Counted as a stream (a large download does not fit in one string): one line per event,
    // plus the CSV header, or the JSON document's first and last lines.
    let lines = 0;
    let bytes = 0;
    let tail = Buffer.alloc(0);
    for await (const chunk of createReadStream(path)) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      tail = Buffer.concat([tail, chunk]).subarray(-8);
    }
    if (label === 'JSON' && !tail.toString().endsWith('\n]}\n')) throw new Error('the JSON download is incomplete');
    const n = lines - count;
    console.log(`  download ${label} of ${what}: ${n} events, ${(bytes / 1e6).toFixed(0)} MB in ${secs.toFixed(1)} s (${(n / secs).toFixed(0)} events/s)`);
    await ctx.close();
  }
} finally {
  await chrome.close();
  proc.kill('SIGTERM');
  await new Promise((ok) => proc.on('exit', ok));
  rmSync(root, { recursive: true, force: true });
}
