// The disk under the temp dir: how long one durable write takes (the floor under every synchronous commit),
// and a way to flush what earlier parts of the bench left in the page cache before the next part starts.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Median milliseconds of a 4 kB append followed by fsync, over `n` tries, in `dir`. */
export function fsyncMillis(dir, n = 200) {
  const file = path.join(dir, 'fsync-probe.bin');
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const times = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      writeSync(fd, page);
      fsyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}

/** Asks the OS to write back dirty pages (sync(1)); does nothing where there is no `sync`. */
export function flushDisk() {
  try {
    execFileSync('sync', { stdio: 'ignore', timeout: 60_000 });
  } catch {
    // not available: the figures are then a little noisier, not wrong
  }
}
