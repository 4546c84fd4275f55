// Time budget: 20 s. The docs stay true: the reference pages are what `npm run docs` makes from the sources, every
// relative link in the Markdown resolves (to a file, and to a heading when it names one), and no file of the
// repository points to a file outside it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from './support/serve.js';

interface DocsScript {
  REFERENCE_DIR: string;
  referencePages(): Promise<Map<string, string>>;
  slug(heading: string): string;
}

const docsScript = async (): Promise<DocsScript> =>
  (await import(pathToFileURL(path.join(repoRoot, 'scripts', 'docs.mjs')).href)) as DocsScript;

/** Folders that are not the repository's own text: installed packages, builds, outputs, local databases, test data. */
const SKIPPED = new Set(['node_modules', 'dist', '.git', 'coverage', 'test-results', '.airlock', '.demo', 'screenshots', 'fixtures']);
const TEXT = /\.(md|ts|tsx|mjs|cjs|js|json|ya?ml|css|html|sh)$/;

/** Every text file of the repository, as a path relative to its root. */
function repositoryFiles(dir = repoRoot, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIPPED.has(name)) continue;
    const p = path.join(dir, name);
    const stat = statSync(p);
    if (stat.isDirectory()) repositoryFiles(p, out);
    else if (TEXT.test(name) || ['bin', '.ci'].includes(path.basename(dir))) out.push(path.relative(repoRoot, p));
  }
  return out;
}

/** Markdown without its fenced code blocks (links in examples are not links). */
const withoutFences = (text: string): string => text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');

/** Every link and image target of a Markdown text, with its line. Inline code is left out. */
function linksOf(text: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  withoutFences(text)
    .split('\n')
    .forEach((line, i) => {
      const prose = line.replace(/`[^`]*`/g, '');
      for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], line: i + 1 });
      const ref = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(prose);
      if (ref) out.push({ target: ref[1], line: i + 1 });
    });
  return out;
}

/** The anchors of a Markdown file's headings, as GitHub makes them (a repeated heading gets -1, -2, …). */
function anchorsOf(text: string, slug: (heading: string) => string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  return anchors;
}

/** Whether a path names a file or folder, as an import does: `./x.js` may be `x.ts`, `../api` may be `api.tsx`. */
const names = (p: string): boolean =>
  ['', '.ts', '.tsx', '.js', '.mjs', '.json', '/index.ts', '/index.tsx'].some((ext) => existsSync(p + ext)) ||
  (p.endsWith('.js') && existsSync(`${p.slice(0, -3)}.ts`));

const inside = (p: string): boolean => {
  const rel = path.relative(repoRoot, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

describe('docs/reference', () => {
  it('is what `npm run docs` makes from the sources: config, HTTP API, CLI and metrics', { timeout: 60_000 }, async () => {
    ensureBuilt();
    const { referencePages } = await docsScript();
    const pages = await referencePages();
    expect([...pages.keys()].sort()).toEqual([
      'docs/reference/cli.md',
      'docs/reference/config.md',
      'docs/reference/http-api.md',
      'docs/reference/metrics.md',
    ]);
    const stale: string[] = [];
    for (const [file, text] of pages) {
      const onDisk = existsSync(path.join(repoRoot, file)) ? readFileSync(path.join(repoRoot, file), 'utf8') : undefined;
      if (onDisk !== text) stale.push(`${file} is ${onDisk === undefined ? 'missing' : 'stale'}`);
    }
    expect(stale, 'the reference no longer matches the sources: run `npm run docs` and commit docs/reference/').toEqual([]);
  });

  it('holds no page that the script does not make (a page of a removed source would mislead)', async () => {
    const { REFERENCE_DIR } = await docsScript();
    const made = ['cli.md', 'config.md', 'http-api.md', 'metrics.md'];
    const extra = readdirSync(path.join(repoRoot, REFERENCE_DIR)).filter((f) => !made.includes(f));
    expect(extra, `remove these from ${REFERENCE_DIR}/ or make them in scripts/docs.mjs`).toEqual([]);
  });

  it('names every setting, operation, command and metric it documents in the words of the sources', async () => {
    // A sample across the four sources, so that a renderer that drops a kind of entry fails here.
    const page = (name: string) => readFileSync(path.join(repoRoot, 'docs', 'reference', name), 'utf8');
    expect(page('config.md')).toMatch(/\| `limits\.max_records` \| integer, ≥ 1 \| `10000` \|/);
    expect(page('config.md')).toMatch(/### `pipelines\.<pipeline>\.model` when `type: openai`/);
    expect(page('http-api.md')).toMatch(/### `POST \/v1\/pipelines\/\{pipeline\}\/records`/);
    expect(page('cli.md')).toMatch(/## `airlock contract accept`[\s\S]*?`--note <text>`/);
    expect(page('metrics.md')).toMatch(/\| `airlock_dead_letters` \| gauge \| `pipeline`, `destination` \|/);
  });
});

describe('links in the Markdown of the repository', () => {
  it('resolve: every relative link names a file of the repository, and a heading of it when it has an anchor', async () => {
    const { slug } = await docsScript();
    const broken: string[] = [];
    for (const file of repositoryFiles().filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      for (const { target, line } of linksOf(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const where = `${file}:${line}: ${target}`;
        const [rawPath, anchor] = target.split('#');
        const filePart = decodeURIComponent(rawPath);
        if (filePart.startsWith('/')) {
          broken.push(`${where} is an absolute path (links are relative to the file)`);
          continue;
        }
        const resolved = filePart === '' ? path.join(repoRoot, file) : path.resolve(path.dirname(path.join(repoRoot, file)), filePart);
        if (!inside(resolved)) broken.push(`${where} points outside the repository`);
        else if (!existsSync(resolved)) broken.push(`${where}: no such file`);
        else if (anchor && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8'), slug).has(anchor))
          broken.push(`${where}: no heading with that anchor in ${path.relative(repoRoot, resolved)}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the guides', () => {
  it('name only options that their command has (as the CLI reference, made from the program, lists them)', () => {
    const cli = readFileSync(path.join(repoRoot, 'docs', 'reference', 'cli.md'), 'utf8');
    const sections = new Map<string, string>();
    for (const part of cli.split(/^## /m).slice(1)) {
      const name = /^`([^`]+)`/.exec(part)?.[1];
      if (name) sections.set(name, part);
    }
    const docs = repositoryFiles().filter((f) => f.endsWith('.md') && !f.startsWith(path.join('docs', 'reference')));
    const unknown: string[] = [];
    for (const file of docs) {
      for (const m of readFileSync(path.join(repoRoot, file), 'utf8').matchAll(/airlock ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?([^`|#\n]*)/g)) {
        const sub = `airlock ${m[1]} ${m[2] ?? ''}`.trim();
        const command = sections.has(sub) ? sub : `airlock ${m[1]}`;
        const section = sections.get(command);
        if (!section) continue; // prose: "Airlock is …"
        for (const flag of m[3].matchAll(/(?<![\w-])(--[a-z][a-z-]*)/g)) {
          if (['--help', '--version', '--config'].includes(flag[1])) continue;
          if (!new RegExp(`\`(?:-\\w, )?${flag[1]}[ \`]`).test(section)) unknown.push(`${file}: ${command} ${flag[1]}`);
        }
      }
    }
    expect(unknown, 'these options are not in docs/reference/cli.md').toEqual([]);
  });
});

describe('no file of the repository points outside it', () => {
  // This file names what it looks for; every other file is searched.
  const files = repositoryFiles().filter((f) => f !== path.join('test', 'docs.test.ts'));

  it('has no relative path that climbs out of the repository (e.g. ../shared), nor one in the docs that names nothing', () => {
    const found: string[] = [];
    for (const file of files) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      const dir = path.dirname(path.join(repoRoot, file));
      for (const m of text.matchAll(/(?<![\w./])((?:\.\.\/)+[\w@.-][\w@./-]*)/g)) {
        const target = path.resolve(dir, m[1]);
        if (!inside(target)) found.push(`${file}: ${m[1]} climbs out of the repository`);
        // A reader of the docs follows the path from the document's folder; code may name a path of the build.
        else if (file.endsWith('.md') && !names(target)) found.push(`${file}: ${m[1]} names nothing in the repository`);
      }
    }
    expect(found).toEqual([]);
  });

  it('names no top-level document the repository does not have (e.g. a DESIGN.md of another project)', () => {
    const found: string[] = [];
    for (const file of files) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      const dir = path.dirname(path.join(repoRoot, file));
      // A capitalised Markdown file named on its own: README.md, DESIGN.md, RESULTS.md. One a command writes
      // (`> RUNBOOK.md`, `--md REVIEW.md`, `--out X.md`) is the user's file, not the repository's.
      for (const m of text.matchAll(/(?<![\w./-])((?:[A-Z][A-Z0-9_-]*)\.md)\b/g)) {
        const before = text.slice(Math.max(0, (m.index ?? 0) - 8), m.index);
        if (/(>|--md|--out)\s*$/.test(before)) continue;
        if (![path.join(repoRoot, m[1]), path.join(dir, m[1])].some(existsSync)) found.push(`${file}: ${m[1]}`);
      }
    }
    expect(found, 'each of these names a document that is not in the repository').toEqual([]);
  });

  it('holds no absolute path of the checkout it was written in', () => {
    const found = files.filter((file) => readFileSync(path.join(repoRoot, file), 'utf8').includes(`${repoRoot}/`));
    expect(found).toEqual([]);
  });
});
