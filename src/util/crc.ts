/**
 * CRC-32 (IEEE polynomial) for on-disk records: the WAL's chained record checksums and the
 * snapshot rows. It wraps `Bun.hash.crc32`, the fastest option measured (notes/bun-facts.md §5),
 * so the polynomial can change in one place. It must not allocate or keep state.
 *
 * Chaining: `crc32(b, crc32(a)) === crc32(concat(a, b))`, so a log can carry one running checksum
 * across every record it has written (`seed` = the previous record's checksum).
 */

/** The checksum of nothing; the seed that starts a chain. */
export const CRC32_EMPTY = 0;

/** CRC-32 of `data`, continuing the chain from `seed`. Returns an unsigned 32-bit integer. */
export function crc32(data: Uint8Array, seed: number = CRC32_EMPTY): number {
  return Bun.hash.crc32(data, seed) >>> 0;
}
