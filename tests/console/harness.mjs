// What the console tests share: a Cairn server on a free loopback port with a throwaway data
// directory, the aws CLI (from the repository's .venv) as the independent oracle, and headless
// Chromium driven by playwright-core.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const artifacts = process.env.CAIRN_CONSOLE_ARTIFACTS || join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

export const ALPHA = '111111111111';
export const BETA = '222222222222';

export const IDS = {
  alphaRoot: { account: ALPHA, key: 'AKIAALPHAROOT0000001', secret: 'alpha-root-secret-0000000000000000', user: null },
  alphaAdmin: { account: ALPHA, key: 'AKIAALPHAADMIN000001', secret: 'alpha-admin-secret-00000000000000', user: 'admin' },
  alphaReader: { account: ALPHA, key: 'AKIAALPHAREADER00001', secret: 'alpha-reader-secret-000000000000', user: 'reader' },
  betaAdmin: { account: BETA, key: 'AKIABETAADMIN0000001', secret: 'beta-admin-secret-000000000000000', user: 'admin' },
};

const ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';
const READ_ONLY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:Describe*","cloudtrail:Get*","cloudtrail:List*","cloudtrail:LookupEvents"],"Resource":"*"}]}';

const key = (i) => `{ id = "${i.key}", secret = "${i.secret}" }`;
const CONFIG = `
[[accounts]]
id = "${ALPHA}"
alias = "alpha"
root_access_keys = [${key(IDS.alphaRoot)}]

[[accounts.users]]
name = "admin"
access_keys = [${key(IDS.alphaAdmin)}]
policies = ['${ALLOW_ALL}']

[[accounts.users]]
name = "reader"
access_keys = [${key(IDS.alphaReader)}]
policies = ['${READ_ONLY}']

[[accounts]]
id = "${BETA}"
alias = "beta"

[[accounts.users]]
name = "admin"
access_keys = [${key(IDS.betaAdmin)}]
policies = ['${ALLOW_ALL}']
`;

export function cairnBin() {
  if (process.env.CAIRN_BIN) return process.env.CAIRN_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
  return join(target, 'debug', 'cairn');
}

export function awsBin() {
  return process.env.CAIRN_AWS || join(repo, '.venv', 'bin', 'aws');
}

/** A running `cairn serve`. */
export class Cairn {
  constructor(env = {}) {
    this.root = mkdtempSync(join(tmpdir(), 'cairn-console-'));
    this.dataDir = join(this.root, 'data');
    this.config = join(this.root, 'cairn.toml');
    writeFileSync(this.config, CONFIG);
    this.env = env;
    this.stderr = '';
  }

  async start() {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAIRN_')));
    Object.assign(env, this.env);
    this.proc = spawn(cairnBin(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', this.dataDir, '--config', this.config], {
      env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d.toString()).slice(-20000); });
    this.url = await new Promise((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error('cairn did not start: ' + this.stderr)), 60000);
      this.proc.stdout.on('data', (d) => {
        out += d.toString();
        const m = out.match(/cairn listening on (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) { clearTimeout(timer); ok(m[1]); }
      });
      this.proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`cairn exited (${code}): ${this.stderr}`)); });
    });
    await waitFor(async () => (await fetch(this.url + '/health')).ok, 60000, 'cairn to be healthy');
    return this;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((ok) => this.proc.on('exit', ok));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The aws CLI as `id`, JSON out. */
  aws(id, args, region = 'us-east-1') {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: id.key, AWS_SECRET_ACCESS_KEY: id.secret, AWS_DEFAULT_REGION: region,
      AWS_REGION: region, AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };
    const out = execFileSync(awsBin(), [...args, '--endpoint-url', this.url, '--output', 'json'], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
    return out.trim() ? JSON.parse(out) : {};
  }

  /** Every event LookupEvents returns for `args` (the aws CLI pages through all of them). */
  lookup(id, args = [], region = 'us-east-1') {
    return this.aws(id, ['cloudtrail', 'lookup-events', ...args], region).Events || [];
  }

  /** `cairn import --endpoint-url` of CloudTrail records, as `id`. */
  importRecords(id, records) {
    const file = join(this.root, `import-${randomUUID()}.json`);
    writeFileSync(file, JSON.stringify({ Records: records }));
    execFileSync(cairnBin(), ['import', '--endpoint-url', this.url, file], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: id.key, AWS_SECRET_ACCESS_KEY: id.secret, AWS_REGION: 'us-east-1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
}

export async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CAIRN_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A CloudTrail record of `account` at epoch second `t`. */
export function record(account, t, fields = {}) {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${account}:user/alice`, accountId: account, accessKeyId: 'AKIAEXAMPLEALICE0001', userName: 'alice' },
    eventTime: new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '10.0.0.1',
    userAgent: 'aws-cli/2.15',
    requestParameters: null,
    responseElements: null,
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
    ...fields,
  };
}

/** Signs in through the page's form. */
export async function signIn(page, url, id) {
  await page.goto(url + '/console');
  await page.getByLabel('Access key ID').fill(id.key);
  await page.getByLabel('Secret access key').fill(id.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#events tbody tr, #events caption').first().waitFor();
}
