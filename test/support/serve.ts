import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin', 'airlock');

/** Builds dist/ when it is missing (the CLI runs the compiled code). */
export function ensureBuilt(): void {
  if (existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) return;
  execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}

/** A port that was free a moment ago: listen on port 0, note the port, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ServeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT (roles api and all). */
  url?: string;
  /** The last 64 KB of its stdout and stderr, for failure messages. */
  output(): string;
  exited: Promise<number | null>;
  /** Sends the signal and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartServeOptions {
  config: string;
  database: string;
  role?: 'api' | 'worker' | 'all';
  /** Required for roles api and all. */
  port?: number;
  /** How long to wait for /healthz (roles api and all). */
  readyTimeoutMs?: number;
}

/** Spawns `airlock serve` as a child process and, when it serves HTTP, waits until /healthz answers. */
export async function startServe(opts: StartServeOptions): Promise<ServeProcess> {
  const role = opts.role ?? 'all';
  const args = [bin, 'serve', '--config', opts.config, '--role', role, '--database', opts.database];
  if (opts.port !== undefined) args.push('--port', String(opts.port));
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const proc: ServeProcess = {
    child,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (gone || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
  if (role !== 'worker') {
    if (opts.port === undefined) throw new Error('startServe: roles api and all need a port');
    proc.url = `http://127.0.0.1:${opts.port}`;
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
    for (;;) {
      if (gone) throw new Error(`airlock serve exited before it answered /healthz:\n${out}`);
      const ok = await fetch(`${proc.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) {
        await proc.kill();
        throw new Error(`airlock serve did not answer /healthz on port ${opts.port}\n--- serve output ---\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return proc;
}

/**
 * POSTs one batch as NDJSON until the server acknowledges it (202 or 207), retrying while it is down or
 * restarting. Returns the ids the server acknowledged. A 4xx other than 429 is a mistake of the test: it throws.
 */
export async function postUntilAcknowledged(
  baseUrl: string,
  pipeline: string,
  batch: Record<string, unknown>[],
  options: { deadlineMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const body = `${batch.map((r) => JSON.stringify(r)).join('\n')}\n`;
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  let last = '';
  while (Date.now() < deadline) {
    if (options.signal?.aborted) throw new Error('stopped before the batch was acknowledged');
    try {
      const res = await fetch(`${baseUrl}/v1/pipelines/${pipeline}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status === 202 || res.status === 207) return (JSON.parse(text) as { ids: string[] }).ids;
      if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new Error(`ingest refused with ${res.status}: ${text}`);
      last = `status ${res.status}: ${text.slice(0, 200)}`;
    } catch (err) {
      if ((err as Error).message.startsWith('ingest refused')) throw err;
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`batch was never acknowledged (last: ${last})`);
}
