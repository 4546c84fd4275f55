#!/usr/bin/env node
// The CI gate on production dependencies: `npm audit --omit=dev --json` must report no high or critical advisory,
// except those in audit-allowlist.json, each with a reason and a review date (an entry past its date fails the gate).
//
//   node scripts/audit-check.mjs [--report FILE] [--allowlist FILE] [--today YYYY-MM-DD]
//
// --report reads a saved `npm audit --json` output instead of running npm (for tests and offline review).
// Exit codes: 0 pass (or the audit endpoint could not be reached: a warning says so, the gate is not applied);
// 1 a high/critical advisory not allowed, or an expired allow-list entry; 2 usage or allow-list error.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BLOCKING = new Set(['high', 'critical']);

function usage(message) {
  process.stderr.write(`audit-check: ${message}\n`);
  process.exit(2);
}

function args(argv) {
  const out = { allowlist: path.join(root, 'audit-allowlist.json'), today: new Date().toISOString().slice(0, 10) };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!['--report', '--allowlist', '--today'].includes(flag)) usage(`unknown option ${flag}`);
    if (value === undefined) usage(`${flag} needs a value`);
    out[flag.slice(2)] = value;
    i++;
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(out.today)) usage(`--today must be YYYY-MM-DD, got "${out.today}"`);
  return out;
}

/** The allow-list, checked: every entry names an advisory (id or url) and a package, with a reason and a review date. */
export function readAllowlist(text, file) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${err.message}`);
  }
  const entries = Array.isArray(data) ? data : data?.advisories;
  if (!Array.isArray(entries)) throw new Error(`${file}: expected { "advisories": [ … ] }`);
  return entries.map((e, i) => {
    const at = `${file}: advisories[${i}]`;
    if (!e || typeof e !== 'object') throw new Error(`${at} must be an object`);
    if (typeof e.id !== 'string' && typeof e.url !== 'string') throw new Error(`${at} needs "id" (e.g. GHSA-xxxx-xxxx-xxxx) or "url"`);
    if (typeof e.package !== 'string' || e.package === '') throw new Error(`${at} needs "package"`);
    if (typeof e.reason !== 'string' || e.reason.trim().length < 10)
      throw new Error(`${at} needs a "reason" (a sentence: why it is acceptable)`);
    if (typeof e.review_by !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(e.review_by))
      throw new Error(`${at} needs "review_by" as YYYY-MM-DD`);
    return e;
  });
}

/** The advisories of an `npm audit --json` report (format 2): one per advisory and package. */
export function advisories(report) {
  const out = [];
  for (const v of Object.values(report.vulnerabilities ?? {})) {
    for (const via of v.via ?? []) {
      if (typeof via !== 'object') continue; // a string names the dependency through which it arrives
      const url = via.url ?? '';
      const id = url.match(/GHSA-[\w-]+$/)?.[0] ?? String(via.source ?? '');
      out.push({ id, url, package: via.name ?? v.name, severity: via.severity ?? v.severity, title: via.title ?? '' });
    }
  }
  return out;
}

/** Decides the gate: which advisories block, which are allowed, which allow-list entries expired or are unused. */
export function evaluate(report, allowlist, today) {
  const found = advisories(report);
  const matches = (e, a) => e.package === a.package && ((e.id && e.id === a.id) || (e.url && e.url === a.url));
  const blocking = [];
  const allowed = [];
  for (const a of found.filter((x) => BLOCKING.has(x.severity))) {
    const entry = allowlist.find((e) => matches(e, a));
    if (entry && entry.review_by >= today) allowed.push({ ...a, entry });
    else blocking.push({ ...a, expired: entry ? entry.review_by : undefined });
  }
  const expired = allowlist.filter((e) => e.review_by < today);
  const unused = allowlist.filter((e) => !found.some((a) => matches(e, a)));
  const counts = report.metadata?.vulnerabilities ?? {};
  return { found, blocking, allowed, expired, unused, counts, pass: blocking.length === 0 && expired.length === 0 };
}

function runNpmAudit() {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['audit', '--omit=dev', '--json'],
      { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) =>
        // npm audit exits non-zero when it finds anything: the JSON on stdout is the answer either way.
        resolve({ stdout, stderr, code: err?.code ?? 0 }),
    );
  });
}

async function main() {
  const opts = args(process.argv.slice(2));
  let allowlist;
  try {
    allowlist = readAllowlist(readFileSync(opts.allowlist, 'utf8'), path.relative(process.cwd(), opts.allowlist) || opts.allowlist);
  } catch (err) {
    usage(err.message);
  }
  const raw = opts.report ? { stdout: readFileSync(opts.report, 'utf8'), stderr: '' } : await runNpmAudit();
  let report;
  try {
    report = JSON.parse(raw.stdout);
  } catch {
    report = undefined;
  }
  if (!report || report.vulnerabilities === undefined) {
    // No report: the registry's audit endpoint could not be reached or refused the request (offline, a mirror
    // without the audit API). Say so plainly; the gate is not applied on this run.
    const why = report?.message ?? report?.error?.summary ?? (raw.stderr.trim().split('\n').pop() || 'no JSON answer');
    process.stderr.write(
      `audit-check: WARNING: the npm audit endpoint could not be reached (${why}); production dependencies were NOT audited on this run\n`,
    );
    process.exit(0);
  }
  const r = evaluate(report, allowlist, opts.today);
  const c = r.counts;
  process.stdout.write(
    `npm audit (production dependencies): ${c.critical ?? 0} critical, ${c.high ?? 0} high, ${c.moderate ?? 0} moderate, ${c.low ?? 0} low; ` +
      `${r.allowed.length} high/critical allowed by audit-allowlist.json, ${r.blocking.length} blocking\n`,
  );
  for (const a of r.allowed)
    process.stdout.write(`  allowed  ${a.severity} ${a.package} ${a.id}: ${a.entry.reason} (review by ${a.entry.review_by})\n`);
  for (const a of r.blocking) {
    const note = a.expired ? ` (its allow-list entry expired on ${a.expired})` : '';
    process.stdout.write(`  BLOCKING ${a.severity} ${a.package} ${a.id} ${a.title} ${a.url}${note}\n`);
  }
  for (const e of r.expired)
    process.stdout.write(`  EXPIRED  allow-list entry ${e.id ?? e.url} (${e.package}): review_by ${e.review_by} has passed; review it\n`);
  for (const e of r.unused)
    process.stdout.write(`  unused   allow-list entry ${e.id ?? e.url} (${e.package}): no longer reported; remove it\n`);
  process.exit(r.pass ? 0 : 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
