/**
 * The runbook for people (pure: a Runbook in, text out): Markdown, and one self-contained HTML page. Both are made
 * from the same blocks, so they have the same sections.
 */

import { REVIEW_ACTIONS } from '../config/sections/review.js';
import { escapeHtml, htmlList, htmlPage, htmlTable } from '../report/html.js';
import { humanDuration, type Runbook, type RunbookCaseType, type RunbookPipeline, type RunbookTeam } from './runbook.js';
import { round1 } from './runbook-check.js';

type Block =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[]; ordered?: boolean }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'code'; text: string };

const ROLES_SHOWN = ['viewer', 'reviewer', 'lead', 'admin'] as const;

function slaText(ct: RunbookCaseType, owner?: RunbookTeam): string {
  if (ct.resolutionMs === undefined && ct.firstActionMs === undefined) return 'none';
  const parts: string[] = [];
  if (ct.firstActionMs !== undefined) parts.push(`first action within ${humanDuration(ct.firstActionMs)}`);
  if (ct.resolutionMs !== undefined) parts.push(`resolved within ${humanDuration(ct.resolutionMs)}`);
  const hours =
    ct.slaHours === 'business'
      ? `business hours${owner ? ` of team ${owner.name} (${owner.hours}, ${owner.timezone}; holidays excluded)` : ''}, paused while waiting for information`
      : 'calendar time, paused while waiting for information';
  return `${parts.join(', ')}; ${hours}`;
}

function caseTypeBlocks(p: RunbookPipeline, ct: RunbookCaseType, teams: Map<string, RunbookTeam>): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: `\`${ct.name}\`${ct.builtIn ? '' : ' (custom)'}` }];
  const facts: string[] = [];
  if (ct.opensWhen) facts.push(`Opens when ${ct.opensWhen}.`);
  if (!ct.configured) facts.push(`**Not configured**: add \`pipelines.${p.name}.review.case_types.${ct.name}\`.`);
  facts.push(
    `Owner: ${ct.owner ? `team ${ct.owner}` : '**none**'}; backup: ${ct.backup ? `team ${ct.backup}` : 'none'}; priority ${ct.priority}.`,
  );
  facts.push(`SLA: ${slaText(ct, ct.owner ? teams.get(ct.owner) : undefined)}.`);
  facts.push(
    ct.reviews.required === 1
      ? 'Reviews: one reviewer decides.'
      : `Reviews: ${ct.reviews.required} reviewers, ${ct.reviews.agreement === 'unanimous' ? 'all must agree' : 'the majority decides'}; a lead adjudicates when they disagree.`,
  );
  blocks.push({ kind: 'list', items: facts });
  blocks.push({ kind: 'paragraph', text: 'Authority (what each role may do; limits from the record’s fields):' });
  blocks.push({
    kind: 'table',
    head: ['role', ...REVIEW_ACTIONS],
    rows: ct.authority
      .filter((r) => (ROLES_SHOWN as readonly string[]).includes(r.role))
      .map((r) => [r.role, ...REVIEW_ACTIONS.map((a) => r.actions[a])]),
  });
  if (ct.escalation) {
    const e = ct.escalation;
    blocks.push({ kind: 'paragraph', text: 'Escalation (delays from the case opening):' });
    blocks.push({
      kind: 'table',
      head: ['level', 'after', 'notify'],
      rows: e.levels.map((l) => [String(l.level), humanDuration(l.afterMs), l.described.join(', ')]),
    });
    const repeat =
      e.repeat > 0 && e.periodMs > 0
        ? `The chain repeats ${e.repeat} more time${e.repeat === 1 ? '' : 's'}, every ${humanDuration(e.periodMs)}.`
        : 'The chain runs once.';
    const breach =
      e.onBreach === 'escalate'
        ? `On an SLA breach: the owner team and its on-call are told, and the case moves to ${ct.backup ? `team ${ct.backup}` : 'the backup team (none set)'}.`
        : 'On an SLA breach: the owner team and its on-call are told.';
    blocks.push({ kind: 'paragraph', text: `${repeat} ${breach}` });
  } else {
    blocks.push({ kind: 'paragraph', text: '**No escalation path**: nobody is told when these cases wait.' });
  }
  return blocks;
}

function runbookBlocks(rb: Runbook): Block[] {
  const blocks: Block[] = [];
  const file = rb.config.file;
  blocks.push({ kind: 'heading', level: 1, text: `Airlock runbook${file ? ` — ${file}` : ''}` });
  blocks.push({
    kind: 'paragraph',
    text: `Generated ${rb.generatedAt}${rb.config.hash ? ` from config sha256 \`${rb.config.hash.slice(0, 12)}\`` : ''} by \`airlock runbook\`. It is made from the same config that Airlock enforces: regenerate it after every change to the config, and do not edit it by hand.`,
  });

  blocks.push({ kind: 'heading', level: 2, text: 'Check' });
  if (rb.check.ok)
    blocks.push({
      kind: 'paragraph',
      text: 'No problems found: every case type has an owner, an SLA and an escalation path whose targets exist.',
    });
  else {
    blocks.push({
      kind: 'paragraph',
      text: `**${rb.check.findings.length} problem${rb.check.findings.length === 1 ? '' : 's'}** (\`airlock runbook --check\` fails):`,
    });
    blocks.push({ kind: 'list', items: rb.check.findings.map((f) => `${findingWhere(f)}: ${f.problem}. Fix: ${f.fix}.`) });
  }
  if (rb.check.warnings.length > 0) {
    blocks.push({ kind: 'paragraph', text: 'Warnings:' });
    blocks.push({ kind: 'list', items: rb.check.warnings.map((w) => `${findingWhere(w)}: ${w.message}.`) });
  }

  const teams = new Map(rb.teams.map((t) => [t.name, t]));
  for (const p of rb.pipelines) {
    blocks.push({ kind: 'heading', level: 2, text: `Pipeline \`${p.name}\`` });
    const load =
      p.expectedReviewsPerHour !== undefined
        ? `Expected review volume at peak: ${p.expectedReviewsPerHour} cases/h ((1 − ${round1((p.coverage ?? 0) * 100)}% auto-accepted) × ${p.expectedPeak}).`
        : `Expected review volume at peak: unknown (${p.expectedPeak ? 'no auto-accept coverage yet' : 'launch.expected_peak not set'}).`;
    blocks.push({ kind: 'paragraph', text: load });
    blocks.push({
      kind: 'table',
      head: ['case type', 'owner', 'backup', 'priority', 'first action', 'resolution', 'hours', 'reviews'],
      rows: p.caseTypes.map((ct) => [
        `\`${ct.name}\``,
        ct.owner ?? '**none**',
        ct.backup ?? '—',
        ct.priority,
        ct.firstActionMs === undefined ? '—' : humanDuration(ct.firstActionMs),
        ct.resolutionMs === undefined ? '**none**' : humanDuration(ct.resolutionMs),
        ct.slaHours,
        `${ct.reviews.required}${ct.reviews.required > 1 ? ` (${ct.reviews.agreement})` : ''}`,
      ]),
    });
    for (const ct of p.caseTypes) blocks.push(...caseTypeBlocks(p, ct, teams));
  }

  blocks.push({ kind: 'heading', level: 2, text: 'Teams and on call' });
  if (rb.teams.length === 0) blocks.push({ kind: 'paragraph', text: '**No teams are configured** (`teams:`): no case has an owner.' });
  for (const t of rb.teams) {
    blocks.push({ kind: 'heading', level: 3, text: t.name });
    blocks.push({
      kind: 'list',
      items: [
        `Members: ${t.members.length ? t.members.join(', ') : '**none**'}.`,
        `Working hours: ${t.hours}, ${t.timezone}.`,
        `Holidays ahead: ${t.upcomingHolidays.length ? t.upcomingHolidays.join(', ') : 'none listed'}.`,
        `Capacity: ${t.members.length} × ${t.capacityPerReviewerHour} cases per reviewer-hour = ${t.capacityPerHour} cases/h in working hours.`,
      ],
    });
    if (t.hasRota) {
      blocks.push({ kind: 'paragraph', text: `On call (the next ${t.onCall.length} shifts):` });
      blocks.push({
        kind: 'table',
        head: ['who', 'from', 'until'],
        rows: t.onCall.map((s) => [s.user, s.from ?? 'now (before the rota starts)', s.to]),
      });
    } else {
      blocks.push({ kind: 'paragraph', text: 'No on-call rota: outside working hours nobody in this team is paged.' });
    }
  }

  blocks.push({ kind: 'heading', level: 2, text: 'Alerts and what to do' });
  for (const a of rb.alerts) {
    blocks.push({ kind: 'heading', level: 3, text: `${a.alert} (${a.severity})` });
    blocks.push({ kind: 'paragraph', text: `${a.means} Who: ${a.owner}.` });
    blocks.push({ kind: 'list', items: a.steps, ordered: true });
    if (a.commands.length) blocks.push({ kind: 'code', text: a.commands.join('\n') });
  }
  return blocks;
}

function findingWhere(f: { pipeline: string | null; case_type: string | null; team?: string }): string {
  if (f.pipeline && f.case_type) return `\`${f.pipeline}\` / \`${f.case_type}\``;
  if (f.pipeline) return `\`${f.pipeline}\``;
  if (f.team) return `team \`${f.team}\``;
  return 'config';
}

/** The runbook as Markdown. */
export function renderRunbookMarkdown(rb: Runbook): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out: string[] = [];
  for (const b of runbookBlocks(rb)) {
    switch (b.kind) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${b.text}`);
        break;
      case 'paragraph':
        out.push(b.text);
        break;
      case 'list':
        out.push(b.items.map((item, i) => `${b.ordered ? `${i + 1}.` : '-'} ${item}`).join('\n'));
        break;
      case 'table':
        out.push(
          [
            `| ${b.head.map(cell).join(' | ')} |`,
            `|${b.head.map(() => '---').join('|')}|`,
            ...b.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
          ].join('\n'),
        );
        break;
      case 'code':
        out.push(`\`\`\`sh\n${b.text}\n\`\`\``);
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

/** Inline `code` and **bold**, after escaping (the shared escapeHtml of the report shell). */
function inlineHtml(s: string): string {
  return escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

/** The runbook as one self-contained HTML page. */
export function renderRunbookHtml(rb: Runbook): string {
  const body: string[] = [];
  for (const b of runbookBlocks(rb)) {
    switch (b.kind) {
      case 'heading':
        body.push(`<h${b.level}>${inlineHtml(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${inlineHtml(b.text)}</p>`);
        break;
      case 'list':
        body.push(htmlList(b.items.map(inlineHtml), { ordered: b.ordered }));
        break;
      case 'table':
        body.push(
          htmlTable(
            b.head,
            b.rows.map((r) => r.map(inlineHtml)),
          ),
        );
        break;
      case 'code':
        body.push(`<pre><code>${escapeHtml(b.text)}</code></pre>`);
        break;
    }
  }
  return htmlPage({ title: 'Airlock runbook', body: body.join('\n') });
}
