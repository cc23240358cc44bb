/**
 * A small seeded pseudo-random number generator (xoshiro128**, seeded by splitmix32).
 *
 * Deterministic: the same seed yields the same sequence on every platform, so simulations and
 * randomized election timeouts replay exactly. Not for cryptography. Uses 32-bit integer math
 * only (Math.imul and unsigned shifts), never Math.random().
 */

import { assert } from "./assert.ts";

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` may be any safe integer; the high bits above 32 are folded in. */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `prng seed must be a safe integer: ${seed}`);
    let x = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
    const next = (): number => {
      // splitmix32: spreads one 32-bit seed over the four words of state.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    assert((this.s0 | this.s1 | this.s2 | this.s3) !== 0, "prng state must not be all zero");
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform integer in [0, n), for 1 <= n <= 2^32. Rejection sampling avoids modulo bias. */
  nextInt(n: number): number {
    assert(
      Number.isSafeInteger(n) && n >= 1 && n <= 0x1_0000_0000,
      `prng bound out of range: ${n}`,
    );
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const v = this.nextU32();
      if (v < limit) return v % n;
    }
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
