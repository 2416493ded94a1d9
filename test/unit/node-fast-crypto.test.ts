import { randomBytes, webcrypto } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { crypto as fast } from '../../adapters/node/fast-crypto'

const hex = (b: ArrayBuffer) => Buffer.from(b).toString('hex')

describe('fast crypto for the Node bundle', () => {
  it('SHA-256 digests equal WebCrypto for strings, views and offsets', async () => {
    for (let size = 0; size < 300; size += 37) {
      const pooled = Buffer.concat([randomBytes(5), randomBytes(size)])
      const view = pooled.subarray(5)
      expect(hex(await fast.subtle.digest('SHA-256', view))).toBe(
        hex(await webcrypto.subtle.digest('SHA-256', view)),
      )
      expect(hex(await fast.subtle.digest({ name: 'sha-256' }, view))).toBe(
        hex(await webcrypto.subtle.digest('SHA-256', view)),
      )
    }
  })

  it('HMAC-SHA256 import+sign equals WebCrypto, as aws4fetch calls it', async () => {
    const alg = { name: 'HMAC', hash: { name: 'SHA-256' } }
    const keyBytes = new TextEncoder().encode('AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
    const data = new TextEncoder().encode('20150830')
    const mine = await fast.subtle.sign(
      'HMAC',
      await fast.subtle.importKey('raw', keyBytes, alg, false, ['sign']),
      data,
    )
    const theirs = await webcrypto.subtle.sign(
      'HMAC',
      await webcrypto.subtle.importKey('raw', keyBytes, alg, false, ['sign']),
      data,
    )
    expect(hex(mine)).toBe(hex(theirs))
  })

  it('copies the key bytes, so a caller reusing its buffer cannot change an imported key', async () => {
    const alg = { name: 'HMAC', hash: 'SHA-256' }
    const keyBytes = new Uint8Array([1, 2, 3, 4])
    const key = await fast.subtle.importKey('raw', keyBytes, alg, false, ['sign'])
    const before = hex(await fast.subtle.sign('HMAC', key, new Uint8Array([9])))
    keyBytes.fill(0)
    expect(hex(await fast.subtle.sign('HMAC', key, new Uint8Array([9])))).toBe(before)
  })

  it('delegates every other algorithm and method to WebCrypto', async () => {
    const data = new Uint8Array([1, 2, 3])
    expect(hex(await fast.subtle.digest('SHA-1', data))).toBe(
      hex(await webcrypto.subtle.digest('SHA-1', data)),
    )
    const aes = await fast.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt'])
    expect(aes.algorithm.name).toBe('AES-GCM')
    expect(fast.randomUUID()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(fast.getRandomValues(new Uint8Array(8)).some((b) => b !== 0)).toBe(true)
  })
})
