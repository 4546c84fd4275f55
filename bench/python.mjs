// Shared by the benchmarks that measure a Python peer in the same run: the python3 they call, and best-of-3 timing.
import { spawn } from 'node:child_process';

/** Debian's python3 (where python3-scipy / python3-sklearn live); BENCH_PYTHON overrides it. */
export const PYTHON = process.env.BENCH_PYTHON ?? (process.platform === 'linux' ? '/usr/bin/python3' : 'python3');

/** Runs `python3 -c script args…` and parses the JSON it prints; rejects with the last line of stderr. */
export function runPython(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`python3 exited ${code}: ${err.trim().split('\n').pop()}`)),
    );
  });
}

/** The best of 3 runs of f, in seconds, with f's last result: [seconds, result]. */
export function best(f) {
  let t = Number.POSITIVE_INFINITY;
  let r;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    r = f();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return [t, r];
}
