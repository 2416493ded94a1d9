/**
 * IEEE CRC-32 (reflected polynomial 0xEDB88320), the checksum AWS event-stream frames carry.
 * Same value as zlib's `crc32`. Table-driven; `crc32Update` lets a caller checksum a message in
 * pieces without concatenating them first.
 */

const TABLE = makeTable()

function makeTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

/** Start value for an incremental CRC; pass it to `crc32Update`, then `crc32Final`. */
export const CRC32_INIT = 0xffffffff

/** Folds `bytes[start, end)` into a running (not yet finalised) CRC state. */
export function crc32Update(state: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = state
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return c
}

/** Turns a running state into the CRC value (unsigned 32-bit). */
export const crc32Final = (state: number): number => (state ^ 0xffffffff) >>> 0

/** CRC-32 of `bytes[start, end)` in one call. */
export const crc32 = (bytes: Uint8Array, start = 0, end = bytes.length): number =>
  crc32Final(crc32Update(CRC32_INIT, bytes, start, end))
