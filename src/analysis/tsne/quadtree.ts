/**
 * A 2-D quadtree over the embedding for the Barnes-Hut approximation of t-SNE's repulsive forces
 * (van der Maaten 2014): every cell keeps its point count and centre of mass, so a far cell acts as
 * one heavy point. Rebuilt each iteration; flat typed arrays, no objects per node.
 */
export class QuadTree {
  private cap: number;
  count: Int32Array;
  comX: Float64Array;
  comY: Float64Array;
  /** Squared width of the cell (cells are squares). */
  width2: Float64Array;
  /** Index of the first of four children, or -1 for a leaf. */
  child: Int32Array;
  /** For a leaf: its (first) point. */
  point: Int32Array;
  size = 0;

  constructor(n: number) {
    this.cap = Math.max(16, 4 * n);
    this.count = new Int32Array(this.cap);
    this.comX = new Float64Array(this.cap);
    this.comY = new Float64Array(this.cap);
    this.width2 = new Float64Array(this.cap);
    this.child = new Int32Array(this.cap);
    this.point = new Int32Array(this.cap);
  }

  private grow(need: number): void {
    if (need <= this.cap) return;
    let cap = this.cap;
    while (cap < need) cap *= 2;
    const g = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.count = g(this.count);
    this.comX = g(this.comX);
    this.comY = g(this.comY);
    this.width2 = g(this.width2);
    this.child = g(this.child);
    this.point = g(this.point);
    this.cap = cap;
  }

  /** Builds the tree over points `y` (x0, y0, x1, y1, ...), `order` a scratch array of n indices. */
  build(y: Float64Array, n: number, order: Int32Array): void {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      const a = y[2 * i];
      const b = y[2 * i + 1];
      if (a < minX) minX = a;
      if (a > maxX) maxX = a;
      if (b < minY) minY = b;
      if (b > maxY) maxY = b;
    }
    const w = Math.max(maxX - minX, maxY - minY) * (1 + 1e-6) + 1e-12;
    this.size = 1;
    this.node(0, y, order, 0, n, minX, minY, w);
  }

  /** Cell `id` over `order[lo..hi)` in the square at (x0, y0) of width w. */
  private node(id: number, y: Float64Array, order: Int32Array, lo: number, hi: number, x0: number, y0: number, w: number): void {
    const cnt = hi - lo;
    let sx = 0;
    let sy = 0;
    for (let e = lo; e < hi; e++) {
      sx += y[2 * order[e]];
      sy += y[2 * order[e] + 1];
    }
    this.count[id] = cnt;
    this.comX[id] = sx / cnt;
    this.comY[id] = sy / cnt;
    this.width2[id] = w * w;
    this.point[id] = order[lo];
    // one point, or all points at one place (duplicates; or a cell too small to split)
    let same = true;
    const px = y[2 * order[lo]];
    const py = y[2 * order[lo] + 1];
    for (let e = lo + 1; e < hi && same; e++) same = y[2 * order[e]] === px && y[2 * order[e] + 1] === py;
    if (cnt === 1 || same || w < 1e-12) {
      this.child[id] = -1;
      return;
    }
    const first = this.size;
    this.grow(first + 4);
    this.size += 4;
    this.child[id] = first;
    const h = w / 2;
    const mx = x0 + h;
    const my = y0 + h;
    // partition order[lo..hi) into quadrants: (x<mx,y<my), (x>=mx,y<my), (x<mx,y>=my), (x>=mx,y>=my)
    const splitY = partition(order, lo, hi, (i) => y[2 * i + 1] < my);
    const splitX0 = partition(order, lo, splitY, (i) => y[2 * i] < mx);
    const splitX1 = partition(order, splitY, hi, (i) => y[2 * i] < mx);
    const ranges = [
      [lo, splitX0, x0, y0],
      [splitX0, splitY, mx, y0],
      [splitY, splitX1, x0, my],
      [splitX1, hi, mx, my],
    ];
    for (let q = 0; q < 4; q++) {
      const [a, b, qx, qy] = ranges[q];
      if (b > a) this.node(first + q, y, order, a, b, qx, qy, h);
      else this.count[first + q] = 0;
    }
  }
}

/** Moves the indices satisfying `left` to the front of order[lo..hi); returns the split. */
function partition(order: Int32Array, lo: number, hi: number, left: (i: number) => boolean): number {
  let i = lo;
  let j = hi - 1;
  while (i <= j) {
    if (left(order[i])) i++;
    else {
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
      j--;
    }
  }
  return i;
}
