import { spawn } from 'node:child_process';
import path from 'node:path';
import type { SimulatorStats } from '../../src/delivery/simulator.js';
import { ensureBuilt, freePort, repoRoot } from './serve.js';

export interface SimulatorProcess {
  url: string;
  stats(): Promise<SimulatorStats>;
  keys(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Runs `airlock simulate-vendor ARGS` in its own process (as a remote vendor would be) and waits until it answers. */
export async function startSimulatorProcess(args: string[]): Promise<SimulatorProcess> {
  ensureBuilt();
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'airlock'), 'simulate-vendor', '--port', String(port), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`simulate-vendor exited:\n${out}`);
    const ok = await fetch(`${url}/_stats`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`simulate-vendor did not answer on ${url}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stats: async () => (await fetch(`${url}/_stats`)).json() as Promise<SimulatorStats>,
    keys: async () => (await fetch(`${url}/_keys`)).json() as Promise<Record<string, number>>,
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
