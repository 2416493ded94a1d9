import { createHash, createHmac, randomUUID, webcrypto } from 'node:crypto'

/**
 * A drop-in `crypto` for the Node and Lambda bundles, injected at build time in place of the
 * global (esbuild `inject`), so nothing global is patched.
 *
 * Why: SigV4 signing (aws4fetch) costs four WebCrypto calls per request (two SHA-256 digests, an
 * HMAC key import and an HMAC sign), and the master/virtual-key check one more digest. Node's
 * WebCrypto runs each call as an async job with transferable wrapping, ~50 µs apiece; node:crypto
 * does the same SHA-256/HMAC-SHA256 in ~2 µs. Results are byte-identical (a unit test checks);
 * every other algorithm and method falls through to Node's WebCrypto unchanged.
 */
type Algorithm = string | { name: string; hash?: string | { name: string } }

class HmacSha256Key {
  constructor(readonly secret: Buffer) {}
}

const nameOf = (alg: Algorithm | undefined): string =>
  (typeof alg === 'string' ? alg : (alg?.name ?? '')).toUpperCase()

const isSha256 = (alg: Algorithm | undefined) => nameOf(alg) === 'SHA-256'

function bytes(data: BufferSource): Buffer {
  return ArrayBuffer.isView(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.from(data as ArrayBuffer)
}

function arrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer
}

const fast = {
  digest(algorithm: Algorithm, data: BufferSource): Promise<ArrayBuffer> {
    if (!isSha256(algorithm)) return webcrypto.subtle.digest(algorithm, data)
    return Promise.resolve(arrayBuffer(createHash('sha256').update(bytes(data)).digest()))
  },
  importKey(...args: Parameters<SubtleCrypto['importKey']>): Promise<CryptoKey> {
    const [format, keyData, algorithm] = args
    const alg = algorithm as Algorithm & { hash?: Algorithm }
    if (format === 'raw' && nameOf(alg) === 'HMAC' && typeof alg === 'object' && isSha256(alg.hash)) {
      // Copied: the caller may reuse its buffer.
      return Promise.resolve(
        new HmacSha256Key(Buffer.from(bytes(keyData as BufferSource))) as unknown as CryptoKey,
      )
    }
    return (webcrypto.subtle.importKey as (...a: unknown[]) => Promise<CryptoKey>)(...args)
  },
  sign(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> {
    const k = key as unknown
    if (k instanceof HmacSha256Key) {
      return Promise.resolve(arrayBuffer(createHmac('sha256', k.secret).update(bytes(data)).digest()))
    }
    return webcrypto.subtle.sign(algorithm, key, data)
  },
}

const subtle = new Proxy(webcrypto.subtle, {
  get(target, prop) {
    if (prop in fast) return fast[prop as keyof typeof fast]
    const value = Reflect.get(target, prop)
    return typeof value === 'function' ? value.bind(target) : value
  },
})

const fastCrypto = {
  subtle,
  getRandomValues: <T extends ArrayBufferView | null>(array: T): T =>
    webcrypto.getRandomValues(array as never) as T,
  randomUUID: () => randomUUID(),
}

export { fastCrypto as crypto }
