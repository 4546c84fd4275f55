/**
 * Seeded, arithmetic-only random numbers, bit-identical to test/reference/drift_reference.py's: the reference script
 * and the tests generate the same samples from a seed instead of committing them.
 */

/** mulberry32 (Tommy Ettinger): uniforms in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NormalSampleOptions {
  shift?: number;
  scale?: number;
  /** Round to one decimal (floor(v·10 + 0.5)/10), which makes ties. */
  ties?: boolean;
}

/** n approximately normal values: Irwin–Hall, the sum of 12 uniforms − 6 (mean 0, variance 1), times scale plus shift. */
export function normalSample(seed: number, n: number, options: NormalSampleOptions = {}): Float64Array {
  const r = mulberry32(seed);
  const shift = options.shift ?? 0;
  const scale = options.scale ?? 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < 12; k++) s += r();
    let v = (s - 6) * scale + shift;
    if (options.ties) v = Math.floor(v * 10 + 0.5) / 10;
    out[i] = v;
  }
  return out;
}
