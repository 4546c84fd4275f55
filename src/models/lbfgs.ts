/** L-BFGS with a diagonal preconditioner and a backtracking Armijo line search: the logistic regression's optimiser. */

/** Where L-BFGS stopped: the point, the function's value there, the iterations run, and whether ‖g‖∞ ≤ tolerance. */
export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

const LBFGS_MEMORY = 10;
const ARMIJO_C1 = 1e-4;
const MAX_BACKTRACKS = 40;

/**
 * Minimises a smooth function by L-BFGS (Nocedal & Wright 2006, Algorithm 7.4; two-loop recursion 7.5;
 * H₀ = (sᵀy / yᵀy)·I; first step of length 1/‖g‖₂) with a backtracking Armijo line search (halving). A pair
 * (s, y) with sᵀy ≤ 1e−12·‖s‖·‖y‖ is skipped, so the implied Hessian stays positive definite. Stops when
 * ‖g‖∞ ≤ tolerance (converged), after maxIterations, or when the line search can no longer decrease f
 * (converged when the decrease left is at rounding level).
 *
 * Each step of the two-loop recursion is one pass that both updates the direction and takes the next dot
 * product: with hundreds of thousands of weights an iteration is bound by memory traffic, not arithmetic.
 * (Keeping the pairs in single precision would save a fifth of the time but stalls convergence below ~1e−8.)
 */
export function minimiseLbfgs(
  f: (x: Float64Array, gradient: Float64Array) => number,
  x0: Float64Array,
  options: {
    maxIterations: number;
    tolerance: number;
    /** D, the diagonal of the initial inverse-Hessian approximation up to scale (H₀ = γD); default I. */
    preconditioner?: Float64Array;
    onIteration?: (iteration: number, value: number) => void;
  },
): LbfgsResult {
  const m = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(m);
  let value = f(x, g);
  let xNext = new Float64Array(m);
  let gNext = new Float64Array(m);
  const direction = new Float64Array(m);
  const preconditioner = options.preconditioner ?? new Float64Array(m).fill(1);
  const history: CurvaturePair[] = [];
  let iterations = 0;
  let converged = maxAbs(g) <= options.tolerance;
  while (!converged && iterations < options.maxIterations) {
    let slope = searchDirection(g, history, preconditioner, direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding): restart from steepest descent.
      history.length = 0;
      slope = searchDirection(g, history, preconditioner, direction);
    }
    let step = history.length === 0 ? 1 / Math.sqrt(-slope) : 1;
    let nextValue = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < MAX_BACKTRACKS; tries++) {
      for (let q = 0; q < m; q++) xNext[q] = x[q] + step * direction[q];
      nextValue = f(xNext, gNext);
      if (nextValue <= value + ARMIJO_C1 * step * slope) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    iterations++;
    if (!accepted) {
      // No decrease is possible along this direction at double precision: we are at the optimum's rounding level.
      converged = maxAbs(g) <= Math.max(options.tolerance, 1e-8);
      break;
    }
    const pair =
      history.length === LBFGS_MEMORY
        ? (history.shift() as (typeof history)[number])
        : { s: new Float64Array(m), y: new Float64Array(m), rho: 0, a: 0, yDy: 0 };
    let sy = 0;
    let ss = 0;
    let yy = 0;
    let yDy = 0;
    for (let q = 0; q < m; q++) {
      const sq = xNext[q] - x[q];
      const yq = gNext[q] - g[q];
      pair.s[q] = sq;
      pair.y[q] = yq;
      sy += sq * yq;
      ss += sq * sq;
      yy += yq * yq;
      yDy += yq * yq * preconditioner[q];
    }
    if (sy > 1e-12 * Math.sqrt(ss * yy)) {
      pair.rho = 1 / sy;
      pair.yDy = yDy;
      history.push(pair);
    }
    [x, xNext] = [xNext, x];
    [g, gNext] = [gNext, g];
    value = nextValue;
    options.onIteration?.(iterations, value);
    converged = maxAbs(g) <= options.tolerance;
  }
  return { x, value, iterations, converged };
}

/** One (s, y) pair of L-BFGS's memory, with ρ = 1 / sᵀy, yᵀDy, and the first loop's coefficient a. */
interface CurvaturePair {
  s: Float64Array;
  y: Float64Array;
  rho: number;
  yDy: number;
  a: number;
}

/**
 * direction = −H·g by the two-loop recursion over `history` (oldest first), H₀ = γD with γ = sᵀy / yᵀDy of the
 * newest pair (−D·g without history); returns the slope gᵀ·direction. Each pass applies one update and
 * accumulates the next dot product.
 */
function searchDirection(g: Float64Array, history: CurvaturePair[], D: Float64Array, d: Float64Array): number {
  const m = g.length;
  const h = history.length;
  // d = −g, with the first dot product s_{h−1}ᵀ d.
  let acc = 0;
  const first = h > 0 ? history[h - 1].s : undefined;
  for (let q = 0; q < m; q++) {
    d[q] = h > 0 ? -g[q] : -D[q] * g[q];
    if (first) acc += first[q] * d[q];
  }
  if (h > 0) {
    // First loop, newest to oldest: a_t = ρ_t s_tᵀ d; d ← d − a_t y_t.
    for (let t = h - 1; t >= 0; t--) {
      const { y, rho } = history[t];
      const a = rho * acc;
      history[t].a = a;
      acc = 0;
      if (t > 0) {
        const sPrevious = history[t - 1].s;
        for (let q = 0; q < m; q++) {
          const v = d[q] - a * y[q];
          d[q] = v;
          acc += sPrevious[q] * v;
        }
      } else {
        // Last update of the first loop, the scaling by γ, and the second loop's first dot product y_0ᵀ d.
        const newest = history[h - 1];
        const gamma = 1 / (newest.rho * newest.yDy);
        const y0 = history[0].y;
        for (let q = 0; q < m; q++) {
          const v = gamma * D[q] * (d[q] - a * y[q]);
          d[q] = v;
          acc += y0[q] * v;
        }
      }
    }
    // Second loop, oldest to newest: b_t = ρ_t y_tᵀ d; d ← d + (a_t − b_t) s_t.
    for (let t = 0; t < h; t++) {
      const { s, rho, a } = history[t];
      const coefficient = a - rho * acc;
      acc = 0;
      const yNext = t + 1 < h ? history[t + 1].y : undefined;
      if (yNext) {
        for (let q = 0; q < m; q++) {
          const v = d[q] + coefficient * s[q];
          d[q] = v;
          acc += yNext[q] * v;
        }
      } else {
        for (let q = 0; q < m; q++) d[q] += coefficient * s[q];
      }
    }
  }
  let slope = 0;
  for (let q = 0; q < m; q++) slope += g[q] * d[q];
  return slope;
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (let q = 0; q < x.length; q++) m = Math.max(m, Math.abs(x[q]));
  return m;
}
