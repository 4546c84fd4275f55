import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runAirlock } from '../support/cli.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { ensureBuilt, freePort, repoRoot, type ServeProcess, startServe } from '../support/serve.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from '../support/servers.js';

/**
 * The console in Debian's Chromium against a real `airlock serve` (SQLite), a real model and a real destination on
 * loopback: what a reviewer, a lead and an admin see and do, and what the server refuses.
 */
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(repoRoot, 'test', 'console', 'screenshots');
const PASSWORD = { ada: 'ada-password-1', lee: 'lee-password-1', rita: 'rita-password-1' };
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

const ticketContract = {
  type: 'object',
  required: ['id', 'text'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    text: { type: 'string' },
    email: { type: 'string', format: 'email' },
    amount: { type: 'number' },
    expected: { type: 'string' },
    confidence: { type: 'number' },
  },
};
const orderContract = {
  type: 'object',
  required: ['id', 'sku'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, sku: { type: 'string' }, confidence: { type: 'number' } },
};

/** dist/web as `npm run build` makes it; a build running elsewhere empties it for a while, so wait for it first. */
async function consoleBuilt(): Promise<void> {
  const index = path.join(repoRoot, 'dist', 'web', 'index.html');
  const deadline = Date.now() + 90_000;
  while (!existsSync(index) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
  if (!existsSync(index)) execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}

/** Signs in as ada (admin), adds the other users through the API, and answers a fresh API token of ada's. */
async function adminToken(base: string, users: Record<string, 'lead' | 'reviewer'>): Promise<string> {
  const login = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ada', password: PASSWORD.ada }),
  });
  expect(login.status).toBe(200);
  const { csrf_token } = (await login.json()) as { csrf_token: string };
  const headers = {
    'content-type': 'application/json',
    'x-csrf-token': csrf_token,
    cookie: (login.headers.get('set-cookie') ?? '').split(';')[0],
  };
  for (const [name, role] of Object.entries(users)) {
    const res = await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name, role, password: PASSWORD[name as keyof typeof PASSWORD] }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  const t = await fetch(`${base}/v1/users/ada/tokens`, { method: 'POST', headers, body: JSON.stringify({ name: 'console-test' }) });
  expect(t.status).toBe(201);
  return ((await t.json()) as { token: string }).token;
}

describe.skipIf(!existsSync(CHROMIUM))('the web console in Chromium', () => {
  let db: TestDatabase;
  let model: ModelServer;
  let helpdesk: Receiver;
  let erp: Receiver;
  let serve: ServeProcess;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  const ingest = async (pipeline: string, records: Record<string, unknown>[]) => {
    // A machine's token would do as well; here the admin's session signs the request like any API client.
    const res = await fetch(`${base}/v1/pipelines/${pipeline}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(records),
    });
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const recordView = async (pipeline: string, id: string) => {
    const res = await fetch(`${base}/v1/pipelines/${pipeline}/records/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await res.json()) as { status: string; events: { kind: string }[] };
  };
  const recordStatus = async (pipeline: string, id: string) => (await recordView(pipeline, id)).status;
  const settled = (pipeline: string, id: string, status: string) =>
    waitFor(async () => (await recordStatus(pipeline, id)) === status, 15_000, `${pipeline}/${id} to be ${status}`);
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  let token = '';
  let workDir = '';
  let configFile = '';

  const signIn = async (name: keyof typeof PASSWORD) => {
    await context.clearCookies();
    await page.goto(`${base}/queue`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(PASSWORD[name]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor();
  };

  beforeAll(async () => {
    ensureBuilt();
    await consoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    db = await createTestDatabase('sqlite');
    model = await startModelServer((rec) => ({
      body: { label: String(rec.expected ?? 'billing'), confidence: typeof rec.confidence === 'number' ? rec.confidence : 0.99 },
    }));
    helpdesk = await startReceiver();
    erp = await startReceiver();
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-console-'));
    workDir = dir;
    writeFileSync(path.join(dir, 'ticket.schema.json'), JSON.stringify(ticketContract));
    writeFileSync(path.join(dir, 'order.schema.json'), JSON.stringify(orderContract));
    const port = await freePort();
    const config = path.join(dir, 'airlock.yaml');
    configFile = config;
    const fast = { base: '50ms', cap: '200ms', max_attempts: 2 };
    writeFileSync(
      config,
      stringify({
        database: db.url,
        server: { host: '127.0.0.1', port },
        worker: { poll_interval: '20ms', lease: '5s' },
        logging: { level: 'silent' },
        teams: { support: { members: ['rita'] } },
        pipelines: {
          tickets: {
            contract: './ticket.schema.json',
            model: { type: 'http', url: model.url, timeout: '2s', retries: 1 },
            routing: { auto_accept_at: 0.9 },
            review: {
              case_types: {
                low_confidence: { owner: 'support', sla: '4h', limits: [{ field: 'amount', reviewer: 500 }] },
                quarantine: { owner: 'support', sla: '1d' },
              },
            },
            destinations: { helpdesk: { type: 'webhook', url: helpdesk.url, retry: fast } },
          },
          orders: {
            contract: './order.schema.json',
            model: { type: 'http', url: model.url, timeout: '2s', retries: 1 },
            destinations: { erp: { type: 'webhook', url: erp.url, retry: fast } },
          },
        },
      }),
    );
    // The first admin comes from the CLI (as on a new install); the others through the API, as an admin would.
    const r = await runAirlock(['users', 'add', 'ada', '--role', 'admin', '--config', config], {
      cwd: dir,
      env: { AIRLOCK_PASSWORD: PASSWORD.ada },
    });
    expect(r.code, r.stderr).toBe(0);
    serve = await startServe({ config, database: db.url, port });
    base = serve.url as string;
    token = await adminToken(base, { lee: 'lead', rita: 'reviewer' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.kill('SIGTERM');
    await Promise.all([model?.close(), helpdesk?.close(), erp?.close()]);
    await db?.drop();
  });

  it('serves the app at / and its client routes, never over the API, health or metrics', async () => {
    for (const p of ['/', '/queue', '/cases/1', '/pipelines/tickets/drift']) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    expect((await fetch(`${base}/healthz`)).headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${base}/metrics`)).headers.get('content-type')).toMatch(/text\/plain/);
    expect(((await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
    const api = await fetch(`${base}/v1/review/cases`);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toMatch(/problem\+json/);
    const unknown = await fetch(`${base}/no/such/page`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('signs in (and refuses a wrong password), signs out, and returns to sign-in when the session is gone', async () => {
    await page.goto(`${base}/queue`);
    await page.getByLabel('Name').fill('rita');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong name or password');
    await page.getByLabel('Password').fill(PASSWORD.rita);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toContain('rita (reviewer)');
    await shot('queue-empty');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.textContent('body')).toContain('You are signed out.');
    // The session ends on the server side (expiry, revocation): the next request answers 401 and the app says so.
    await signIn('rita');
    await context.clearCookies();
    await page.getByRole('link', { name: 'Quarantine' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.textContent('body')).toContain('Your session has ended');
  });

  it('a reviewer claims the next case with a lease, approves it with the keyboard, and sees it delivered', async () => {
    await ingest('tickets', [{ id: 't-1', text: 'refund my order', amount: 20, expected: 'billing', confidence: 0.5 }]);
    await settled('tickets', 't-1', 'in_review');
    await signIn('rita');
    await expect.poll(() => page.getByRole('table', { name: /Open cases/ }).textContent()).toContain('t-1');
    // The SLA countdown is on the row (4 h, not yet amber).
    expect(await page.locator('[data-sla]').first().getAttribute('data-sla')).toBe('ok');
    await page.getByRole('button', { name: /Next case/ }).click();
    await page.getByTestId('lease').waitFor();
    await expect.poll(() => page.getByTestId('lease').textContent()).toMatch(/held by you until .* left/);
    expect(await page.getByTestId('model-label').textContent()).toBe('billing');
    expect(await page.textContent('body')).toContain('Keys:');
    await shot('case-claimed');
    await page.keyboard.press('a');
    await expect.poll(() => page.getByTestId('record-status').textContent(), { timeout: 15_000 }).toBe('delivered');
    await shot('case-delivered');
    const sent = [...helpdesk.applied.values()].find((r) => r.recordId === 't-1');
    expect(sent?.body.decision.label).toBe('billing');
  });

  it('shows a reviewer only the actions within their authority, and the server refuses the others', async () => {
    await ingest('tickets', [{ id: 't-big', text: 'refund 900', amount: 900, expected: 'billing', confidence: 0.5 }]);
    await settled('tickets', 't-big', 'in_review');
    await page.goto(`${base}/queue`);
    await page
      .getByRole('link', { name: /^#\d+$/ })
      .first()
      .waitFor();
    const row = page.getByRole('row').filter({ hasText: 't-big' });
    await row.getByRole('link').first().click();
    await page.getByRole('button', { name: /Reject/ }).waitFor();
    expect(await page.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Change label/ }).count()).toBe(0);
    await page.getByText(/Your authority on low_confidence cases/).click();
    expect(await page.getByRole('table', { name: 'Your authority' }).textContent()).toContain('amount ≤ 500');
    await shot('case-authority');
    // Trying anyway, from the signed-in page (with the session's CSRF token): 403 with the reason.
    const caseId = page.url().split('/').pop();
    const refused = await page.evaluate(async (id) => {
      const me = (await (await fetch('/v1/auth/me')).json()) as { csrf_token: string };
      const res = await fetch(`/v1/review/cases/${id}/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: JSON.stringify({ action: 'approve' }),
      });
      return { status: res.status, body: (await res.json()) as { detail: string } };
    }, caseId);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/may approve only up to amount 500; this record has 900/);
    expect(await recordStatus('tickets', 't-big')).toBe('in_review');
  });

  it('shows a record whose text is markup as text: nothing runs, no image is made', async () => {
    await ingest('tickets', [{ id: 'x-1', text: XSS, amount: 5, expected: 'bug', confidence: 0.4 }]);
    await settled('tickets', 'x-1', 'in_review');
    await page.goto(`${base}/queue`);
    await page.getByRole('row').filter({ hasText: 'x-1' }).getByRole('link').first().click();
    await page.getByRole('table', { name: 'Record fields' }).waitFor();
    await expect.poll(() => page.getByRole('table', { name: 'Record fields' }).textContent()).toContain(XSS);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await shot('case-xss-as-text');
  });

  it('edits and releases a quarantined record: the violation is shown against the contract, the fixed record is delivered', async () => {
    await ingest('tickets', [{ id: 'q-1', text: 'hello', email: 'not-an-email', expected: 'billing', confidence: 0.99 }]);
    await settled('tickets', 'q-1', 'quarantined');
    await page.getByRole('link', { name: 'Quarantine' }).click();
    await page.getByRole('link', { name: 'q-1' }).click();
    const violations = page.getByRole('table', { name: 'Violations' });
    await violations.waitFor();
    expect(await violations.textContent()).toContain('format_mismatch');
    // What the contract says at the field comes from the contract's own route, a moment later.
    await expect.poll(() => violations.textContent()).toContain('"format":"email"');
    expect(await page.locator('table[aria-label="Record fields"] tr.violation').textContent()).toContain('not-an-email');
    await page.getByRole('button', { name: 'Edit and release…' }).click();
    const editor = page.getByLabel(/Corrected record/);
    const edited = JSON.parse(await editor.inputValue());
    edited.email = 'ana@example.com';
    await editor.fill(JSON.stringify(edited, null, 2));
    await shot('quarantine-edit');
    await page.getByRole('button', { name: 'Release the edited record' }).click();
    await expect.poll(() => page.locator('.done').textContent()).toContain('Released');
    await settled('tickets', 'q-1', 'delivered');
    const sent = [...helpdesk.applied.values()].find((r) => r.recordId === 'q-1');
    expect(sent?.body.record.email).toBe('ana@example.com');
  });

  it('a halted pipeline shows a banner on every page; a lead accepts the change and the backlog is delivered', async () => {
    await ingest(
      'orders',
      ['o-1', 'o-2', 'o-3'].map((id) => ({ id, sku: 'A-1', coupon: 'XMAS' })),
    );
    await waitFor(async () => (await recordStatus('orders', 'o-3')) === 'halted', 15_000, 'the orders pipeline to halt');
    await signIn('lee');
    const banner = page.getByTestId('halt-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('orders');
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await banner.waitFor();
    await banner.getByRole('link', { name: 'Review the change' }).click();
    await page.getByRole('heading', { name: /Halted: unknown_field at/ }).waitFor();
    expect(await page.getByRole('heading', { name: /Halted/ }).textContent()).toContain('coupon');
    expect(Number(await page.getByTestId('backlog').textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.getByRole('list', { name: 'Contract changes' }).textContent()).toContain('coupon');
    await shot('schema-halt');
    await page.getByLabel('Note (why)').fill('upstream added coupons');
    await page.getByRole('button', { name: 'Accept the change' }).click();
    await expect.poll(() => page.locator('.done').textContent()).toContain('Accepted');
    for (const id of ['o-1', 'o-2', 'o-3']) await settled('orders', id, 'delivered');
    await page.reload();
    await page.getByTestId('not-halted').waitFor();
    expect(await page.getByTestId('halt-banner').count()).toBe(0);
  });

  it('a lead replays a dead letter from the deliveries page and the destination gets it once', async () => {
    helpdesk.statusFor.set('d-1', 422);
    await ingest('tickets', [{ id: 'd-1', text: 'crm refuses this', expected: 'billing', confidence: 0.99 }]);
    await settled('tickets', 'd-1', 'dead_lettered');
    await page.getByRole('link', { name: 'Deliveries' }).click();
    const row = page.getByRole('table', { name: 'Dead letters' }).getByRole('row').filter({ hasText: 'd-1' });
    await row.waitFor();
    expect(await row.textContent()).toContain('422');
    await shot('dead-letters');
    helpdesk.statusFor.delete('d-1');
    await row.getByRole('button', { name: /Replay dead letter/ }).click();
    await expect.poll(() => page.locator('.done').textContent()).toContain('Replayed');
    await settled('tickets', 'd-1', 'delivered');
    expect([...helpdesk.applied.values()].filter((r) => r.recordId === 'd-1')).toHaveLength(1);
    // The chart of deliveries per minute is drawn by the chart library (an SVG it made), with its label.
    await page.reload();
    await page
      .getByRole('img', { name: /Deliveries and 429 answers per minute/ })
      .locator('svg')
      .waitFor();
  });

  it('counts the 429 answers a destination gave, per minute, beside the deliveries it took', async () => {
    helpdesk.mode.headers = { 'retry-after': '1' };
    helpdesk.statusFor.set('r-429', 429);
    await ingest('tickets', [{ id: 'r-429', text: 'slow down', expected: 'billing', confidence: 0.99 }]);
    await waitFor(
      async () => (await recordView('tickets', 'r-429')).events.some((e) => e.kind === 'delivery_retry_scheduled'),
      15_000,
      'the destination to answer 429',
    );
    helpdesk.statusFor.delete('r-429');
    helpdesk.mode.headers = undefined;
    await settled('tickets', 'r-429', 'delivered');
    const res = await fetch(`${base}/v1/destinations/activity?minutes=10`, { headers: { authorization: `Bearer ${token}` } });
    const activity = (await res.json()) as { destinations: { destination: string; buckets: { delivered: number; throttled: number }[] }[] };
    const h = activity.destinations.find((d) => d.destination === 'helpdesk');
    expect(h?.buckets).toHaveLength(10);
    expect(h?.buckets.reduce((n, b) => n + b.throttled, 0)).toBe(1);
    // Every effect the destination applied in this run was delivered within the last 10 minutes.
    expect(h?.buckets.reduce((n, b) => n + b.delivered, 0)).toBe(helpdesk.applied.size);
  });

  it('shows the reliability diagram and the proposed threshold with its evidence; a lead approves it', async () => {
    // Overconfident predictions (right with probability c², not c): calibration proposes a routing version.
    let x = 12345;
    const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const rows = Array.from({ length: 2000 }, () => {
      const c = 0.5 + 0.5 * rand();
      return JSON.stringify({ label: rand() < c * c ? 'billing' : 'bug', probs: { billing: c, bug: 1 - c } });
    });
    writeFileSync(path.join(workDir, 'predictions.jsonl'), `${rows.join('\n')}\n`);
    const cal = await runAirlock(
      ['calibrate', 'predictions.jsonl', '--pipeline', 'tickets', '--target-accuracy', '0.9', '--delta', '0.1', '--config', configFile],
      { cwd: workDir, timeoutMs: 60_000 },
    );
    expect(cal.code, cal.stderr).toBe(0);
    await page.getByRole('link', { name: 'Confidence' }).click();
    await page.getByRole('heading', { name: 'Version 1 waits for approval' }).waitFor();
    await page
      .getByRole('img', { name: /Reliability diagram/ })
      .locator('svg')
      .waitFor();
    expect(await page.getByRole('img', { name: /Reliability diagram/ }).getAttribute('aria-label')).toMatch(/ECE raw 0\.1\d+/);
    await page
      .getByRole('img', { name: /Threshold history/ })
      .locator('svg')
      .waitFor();
    await shot('confidence');
    await page.getByRole('button', { name: 'Approve version 1' }).click();
    await expect.poll(() => page.locator('.done').textContent()).toContain('Version 1 is now active');
    const t = (await (
      await fetch(`${base}/v1/pipelines/tickets/thresholds`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      effective: { source: string; version: number };
    };
    expect(t.effective).toMatchObject({ source: 'version', version: 1 });
  });

  it('drift ranks the fields against a loaded reference, with each field’s series; readiness shows its checklist', async () => {
    // A reference whose amounts are far below those sent since (t-1: 20, t-big: 900 … against 1–10).
    const sample = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ id: `ref-${i}`, text: `hello number ${i}`, amount: 1 + (i % 10) }),
    );
    writeFileSync(path.join(workDir, 'reference.jsonl'), `${sample.join('\n')}\n`);
    const ref = await runAirlock(['reference', 'reference.jsonl', '--pipeline', 'tickets', '--config', configFile], {
      cwd: workDir,
      timeoutMs: 60_000,
    });
    expect(ref.code, ref.stderr).toBe(0);
    // Records sent once the server has picked the reference up (within 2 s) are summarised into the current window.
    await new Promise((r) => setTimeout(r, 2500));
    await ingest(
      'tickets',
      Array.from({ length: 40 }, (_, i) => ({ id: `w-${i}`, text: `hello number ${i}`, amount: 500 + i * 10, expected: 'billing' })),
    );
    let last: unknown;
    await waitFor(
      async () => {
        const res = await fetch(`${base}/v1/pipelines/tickets/drift`, { headers: { authorization: `Bearer ${token}` } });
        last = await res.json();
        return ((last as { rows?: number }).rows ?? 0) >= 40;
      },
      20_000,
      'the drift window to hold the new records',
    ).catch((err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(last).slice(0, 400)}`);
    });
    await page.goto(`${base}/pipelines/tickets/drift`);
    const fields = page.getByRole('table', { name: 'Fields ranked by drift' });
    await fields.waitFor();
    // amount moved from 1–10 to 500–890: ranked first, and drifted (KS on fewer than 1,000 reference values).
    expect(await fields.getByRole('row').nth(1).textContent()).toMatch(/^amountdrift/);
    await shot('drift');
    await fields.getByRole('link', { name: 'amount', exact: true }).click();
    await page.getByRole('heading', { name: 'Drift · tickets · amount' }).waitFor();
    await page
      .getByRole('img', { name: /amount: drift statistic per/ })
      .locator('svg')
      .waitFor();
    await page
      .getByRole('img', { name: /amount: the reference beside the current distribution/ })
      .locator('svg')
      .waitFor();
    await shot('drift-field');
    await page.goto(`${base}/pipelines/tickets/readiness`);
    await page.getByTestId('readiness-score').waitFor();
    await shot('readiness');
    expect(await page.locator('main').textContent()).not.toMatch(/no route GET/);
  });

  it('the queue works on a narrow screen, and no page raised a script error', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/queue`);
    await page.getByRole('button', { name: /Next case/ }).waitFor();
    const overflow = await page.evaluate(() => {
      const w = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
      return w.document.documentElement.scrollWidth - w.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(1);
    await shot('queue-narrow');
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(!existsSync(CHROMIUM) || !postgresUrl)('the web console on PostgreSQL', () => {
  let db: TestDatabase;
  let model: ModelServer;
  let helpdesk: Receiver;
  let serve: ServeProcess;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt();
    await consoleBuilt();
    db = await createTestDatabase('postgres');
    model = await startModelServer();
    helpdesk = await startReceiver();
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-console-pg-'));
    const port = await freePort();
    const config = path.join(dir, 'airlock.yaml');
    writeFileSync(
      config,
      stringify({
        database: db.url,
        server: { host: '127.0.0.1', port },
        worker: { poll_interval: '20ms', lease: '5s' },
        logging: { level: 'silent' },
        teams: { support: { members: ['rita'] } },
        pipelines: {
          tickets: {
            model: { type: 'http', url: model.url, timeout: '2s', retries: 1 },
            review: { case_types: { low_confidence: { owner: 'support', sla: '4h' } } },
            destinations: { helpdesk: { type: 'webhook', url: helpdesk.url } },
          },
        },
      }),
    );
    const r = await runAirlock(['users', 'add', 'ada', '--role', 'admin', '--config', config], {
      cwd: dir,
      env: { AIRLOCK_PASSWORD: PASSWORD.ada },
    });
    expect(r.code, r.stderr).toBe(0);
    serve = await startServe({ config, database: db.url, port });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.kill('SIGTERM');
    await Promise.all([model?.close(), helpdesk?.close()]);
    await db?.drop();
  });

  it('a reviewer claims and approves a case, and sees the record delivered', async () => {
    const base = serve.url as string;
    const token = await adminToken(base, { rita: 'reviewer' });
    const res = await fetch(`${base}/v1/pipelines/tickets/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ id: 'pg-1', text: 'hello', expected: 'billing', confidence: 0.3 }),
    });
    expect(res.status).toBe(202);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/queue`);
    await page.getByLabel('Name').fill('rita');
    await page.getByLabel('Password').fill(PASSWORD.rita);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('table', { name: /Open cases/ }).textContent(), { timeout: 15_000 }).toContain('pg-1');
    await page.getByRole('button', { name: /Next case/ }).click();
    await page.getByRole('button', { name: /^Approve/ }).click();
    await expect.poll(() => page.getByTestId('record-status').textContent(), { timeout: 15_000 }).toBe('delivered');
    await page.screenshot({ path: path.join(SHOTS, 'postgres-case-delivered.png'), fullPage: true });
    expect([...helpdesk.applied.values()].map((r) => r.recordId)).toEqual(['pg-1']);
  });
});
