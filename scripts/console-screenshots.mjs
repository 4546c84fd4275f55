#!/usr/bin/env node
// Screenshots of the console for the README, taken from a running `airlock demo` (or any server):
//   node scripts/console-screenshots.mjs [--url http://127.0.0.1:8080] [--user lead] [--password demo-lead-password]
//     [--pipeline inbox] [--out docs]
// Needs Chromium (Debian package `chromium`, or CHROMIUM=path).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    user: { type: 'string', default: 'lead' },
    password: { type: 'string', default: 'demo-lead-password' },
    pipeline: { type: 'string', default: 'inbox' },
    out: { type: 'string', default: 'docs' },
  },
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${values.url}/queue`);
  await page.getByLabel('Name').fill(values.user);
  await page.getByLabel('Password').fill(values.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
  mkdirSync(values.out, { recursive: true });
  const shots = [
    ['queue', '/queue'],
    ['halt', `/halts/${values.pipeline}`],
    ['drift', `/pipelines/${values.pipeline}/drift`],
  ];
  for (const [name, route] of shots) {
    await page.goto(`${values.url}${route}`);
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(1500); // charts animate in
    const file = path.join(values.out, `console-${name}.png`);
    await page.screenshot({ path: file });
    console.log(`wrote ${file}`);
  }
} finally {
  await browser.close();
}
