// The little dense linear algebra recovery needs, in Float64: a singular value decomposition
// (one-sided Jacobi) for low-rank factorization and a Cholesky solve for least-squares refits.
// Matrices are row-major Float64Arrays with their sizes passed alongside.

import { modelError } from '../ir/errors.ts';

export interface Svd {
  /** [rows, k], orthonormal columns (a column is zero where its singular value is). */
  u: Float64Array;
  /** [k], descending. */
  s: Float64Array;
  /** [cols, k], orthonormal columns. */
  v: Float64Array;
  k: number;
}

export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/**
 * A = U diag(s) V^T by one-sided Jacobi (Hestenes): plane rotations make the columns of A
 * mutually orthogonal; their norms are then the singular values. Accurate to working precision,
 * also for small singular values, and simple; the cost is sweeps * k^2 * max(rows, cols).
 */
export function svd(a: Float64Array, rows: number, cols: number): Svd {
  if (rows < cols) {
    const { u, s, v, k } = svd(transpose(a, rows, cols), cols, rows);
    return { u: v, s, v: u, k };
  }
  const n = cols;
  // Columns of the working matrix and of V, each contiguous.
  const w = Array.from({ length: n }, (_, j) => Float64Array.from({ length: rows }, (_, r) => a[r * cols + j]));
  const v = Array.from({ length: n }, (_, j) => {
    const col = new Float64Array(n);
    col[j] = 1;
    return col;
  });
  const dot = (x: Float64Array, y: Float64Array) => {
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += x[i] * y[i];
    return sum;
  };
  const rotate = (x: Float64Array, y: Float64Array, c: number, s: number) => {
    for (let i = 0; i < x.length; i++) {
      const xi = x[i];
      const yi = y[i];
      x[i] = c * xi - s * yi;
      y[i] = s * xi + c * yi;
    }
  };
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = dot(w[p], w[p]);
        const beta = dot(w[q], w[q]);
        const gamma = dot(w[p], w[q]);
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // The rotation that zeroes the (p, q) entry of W^T W.
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(w[p], w[q], c, s);
        rotate(v[p], v[q], c, s);
      }
    }
    if (!rotated) break;
  }
  const norms = w.map((col) => Math.sqrt(dot(col, col)));
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const u = new Float64Array(rows * n);
  const vOut = new Float64Array(n * n);
  const s = new Float64Array(n);
  order.forEach((j, k) => {
    s[k] = norms[j];
    for (let r = 0; r < rows; r++) u[r * n + k] = norms[j] > 0 ? w[j][r] / norms[j] : 0;
    for (let r = 0; r < n; r++) vOut[r * n + k] = v[j][r];
  });
  return { u, s, v: vOut, k: n };
}

/** The lower triangular L with A = L L^T of a symmetric positive definite A [n, n]; fails on one that is not (add a ridge). */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(sum > 0)) throw modelError(`the matrix is not positive definite (pivot ${i} is ${sum})`);
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j];
      }
    }
  }
  return l;
}

/** Solves L^T x = b in place for the Cholesky factor L [n, n]; b is column c of an [n, m] matrix. */
export function solveTransposed(l: Float64Array, n: number, b: Float64Array, m: number, c: number): void {
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i * m + c];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * b[k * m + c];
    b[i * m + c] = sum / l[i * n + i];
  }
}

/** Solves A X = B for symmetric positive definite A [n, n] and B [n, m] by Cholesky; returns X [n, m]. */
export function solveSpd(a: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const l = cholesky(a, n);
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    // L y = b, then L^T x = y.
    for (let i = 0; i < n; i++) {
      let sum = x[i * m + c];
      for (let k = 0; k < i; k++) sum -= l[i * n + k] * x[k * m + c];
      x[i * m + c] = sum / l[i * n + i];
    }
    solveTransposed(l, n, x, m, c);
  }
  return x;
}
