/**
 * `percentile_cont` as Postgres defines it (and as the view `ai_eval_run_summary_v1` uses it):
 * sort the n values ascending, take the position p·(n−1), and interpolate linearly between the
 * values at the floor and ceiling of that position. Undefined for no values.
 *
 * `sorted` must already be in ascending order.
 *
 * @example
 * percentileCont(Float64Array.of(10, 20, 30, 40), 0.95); // 38.5
 */
export function percentileCont(sorted: ArrayLike<number>, fraction: number): number | undefined {
  const count = sorted.length;
  if (count === 0) return undefined;
  if (fraction < 0 || fraction > 1) throw new RangeError(`percentile ${fraction} is not in [0, 1]`);
  const position = fraction * (count - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower]!;
  if (lower === upper) return low;
  // The same expression as Postgres' float8 lerp, so both sides round alike.
  return low + (sorted[upper]! - low) * (position - lower);
}

/**
 * A growing list of numbers in a Float64Array (8 bytes a value, no per-value object): the only
 * part of an eval run whose memory grows with the number of records.
 */
export class NumberCollector {
  #values = new Float64Array(1024);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = value;
  }

  /** The values collected so far, as a copy (to send to another thread). */
  values(): Float64Array {
    return this.#values.slice(0, this.#length);
  }

  /** Appends every value of `values`. */
  pushAll(values: Float64Array): void {
    const needed = this.#length + values.length;
    if (needed > this.#values.length) {
      let capacity = this.#values.length;
      while (capacity < needed) capacity *= 2;
      const grown = new Float64Array(capacity);
      grown.set(this.#values.subarray(0, this.#length));
      this.#values = grown;
    }
    this.#values.set(values, this.#length);
    this.#length = needed;
  }

  /** The values in ascending order (a view over the collector's own storage, sorted in place). */
  sorted(): Float64Array {
    return this.#values.subarray(0, this.#length).sort();
  }
}
