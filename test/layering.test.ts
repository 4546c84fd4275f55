// Time budget: 5 s. The folders of src/ layer as docs/design.md says: no import goes up or sideways, no cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');

/** The ```layers block of docs/design.md: bottom first; names on one line are peers. */
function layers(): Map<string, number> {
  const doc = readFileSync(path.join(root, 'docs', 'design.md'), 'utf8');
  const block = /```layers\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/design.md has no ```layers block');
  const rank = new Map<string, number>();
  block[1]
    .split('\n')
    .filter((l) => l.trim() !== '')
    .forEach((line, i) => {
      for (const name of line.trim().split(/\s+/)) rank.set(name, i);
    });
  return rank;
}

/** A source file's unit: its folder under src/, or the file itself when it sits in src/. */
const unitOf = (file: string): string => {
  const rel = path.relative(src, file).split(path.sep);
  return rel.length > 1 ? rel[0] : rel[0];
};

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Every import between units: `from` unit, `to` unit, and the file and specifier that make it. */
function unitImports(): { from: string; to: string; where: string }[] {
  const out: { from: string; to: string; where: string }[] = [];
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const from = unitOf(file);
      const to = unitOf(target.replace(/\.js$/, '.ts'));
      if (from !== to) out.push({ from, to, where: `${path.relative(root, file)} imports ${m[1]}` });
    }
  }
  return out;
}

describe('the folders of src/ layer as docs/design.md says', () => {
  const rank = layers();
  const edges = unitImports();

  it('names every folder and top-level file of src/ in its layers', () => {
    const units = new Set(sources(src).map(unitOf));
    const unnamed = [...units].filter((u) => !rank.has(u));
    expect(unnamed, 'add these to the ```layers block of docs/design.md').toEqual([]);
  });

  it('imports only downward: never up, never sideways between peers', () => {
    const wrong = edges.filter((e) => (rank.get(e.to) ?? -1) >= (rank.get(e.from) ?? -1)).map((e) => `${e.from} -> ${e.to}: ${e.where}`);
    expect(wrong).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const next = new Map<string, Set<string>>();
    for (const e of edges) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (u: string, trail: string[]): void => {
      if (state.get(u) === 'done') return;
      if (state.get(u) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(u)), u].join(' -> '));
        return;
      }
      state.set(u, 'open');
      for (const v of next.get(u) ?? []) visit(v, [...trail, u]);
      state.set(u, 'done');
    };
    for (const u of next.keys()) visit(u, []);
    expect(cycles).toEqual([]);
  });

  it('keeps the pure folders pure: no database, HTTP or file system', () => {
    const pure = ['contract', 'calibration', 'drift', 'audit'];
    const impure =
      /from\s+['"](?:node:)?(?:fs|fs\/promises|http|https|net|child_process)['"]|from\s+['"](?:kysely|pg|better-sqlite3|fastify)['"]|\bfetch\(/;
    const found = sources(src)
      .filter((f) => pure.includes(unitOf(f)))
      .filter((f) => impure.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(root, f));
    expect(found).toEqual([]);
  });
});
