/**
 * What every `Counters` implementation must do the same way (src/store/counters.ts): Redis semantics
 * for values, expiry, TTL, atomic increments and scripts. The Lua of each script and its JavaScript
 * twin are checked against the same expectations, so the in-memory store behaves like Redis.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Counters } from '../../src/store/counters'
import { scriptTests } from './counters-scripts.contract'

export interface CountersFixture {
  counters: Counters
  /** Lets `ms` pass: a real sleep for servers, moving an injected clock for memory. */
  wait(ms: number): Promise<void>
  /** SCRIPT FLUSH on the server, where there is one (to exercise the EVAL fallback). */
  flushScripts?(): Promise<void>
  close?(): Promise<void>
}

export function countersContract(
  name: string,
  kind: Counters['kind'],
  make: () => Promise<CountersFixture>,
): void {
  describe(`Counters contract: ${name}`, () => {
    let fixture: CountersFixture
    let c: Counters
    const used: string[] = []
    const prefix = `contract:${name}:${randomBytes(4).toString('hex')}:`
    /** A key unique to this run (the Redis is shared), deleted afterwards. */
    const key = (label: string): string => {
      used.push(prefix + label)
      return prefix + label
    }

    beforeAll(async () => {
      fixture = await make()
      c = fixture.counters
    })

    afterAll(async () => {
      await c?.del(used)
      await c?.close()
      await fixture?.close?.()
    })

    it('is the expected implementation', () => {
      expect(c.kind).toBe(kind)
    })

    it('gets null for a missing key and every value exactly as set', async () => {
      expect(await c.get(key('missing'))).toBeNull()
      const values = ['42', '1e3', '{"x":1}', 'OK', '', 'héllo ✓', ' spaced ', 'null', 'true']
      for (const [i, value] of values.entries()) await c.set(key(`v${i}`), value)
      for (const [i, value] of values.entries()) expect(await c.get(key(`v${i}`))).toBe(value)
    })

    it('mgets in order with null for missing keys, and handles empty lists', async () => {
      await c.set(key('m1'), 'one')
      await c.set(key('m3'), '3')
      expect(await c.mget([key('m1'), key('m2'), key('m3')])).toEqual(['one', null, '3'])
      expect(await c.mget([])).toEqual([])
    })

    it('deletes several keys at once, missing ones included', async () => {
      await c.set(key('d1'), 'x')
      await c.set(key('d2'), 'y')
      await c.del([key('d1'), key('d2'), key('d3')])
      await c.del([])
      expect(await c.mget([key('d1'), key('d2')])).toEqual([null, null])
    })

    it('reports TTL like Redis: -2 missing, -1 without expiry, else seconds left', async () => {
      expect(await c.ttl(key('t-missing'))).toBe(-2)
      await c.set(key('t-forever'), 'x')
      expect(await c.ttl(key('t-forever'))).toBe(-1)
      await c.set(key('t-100'), 'x', 100)
      expect(await c.ttl(key('t-100'))).toBeGreaterThanOrEqual(99)
      expect(await c.ttl(key('t-100'))).toBeLessThanOrEqual(100)
      // SET without a TTL clears an existing expiry, as in Redis.
      await c.set(key('t-100'), 'y')
      expect(await c.ttl(key('t-100'))).toBe(-1)
    })

    it('expires a key set with a TTL', async () => {
      await c.set(key('expiring'), 'soon', 1)
      expect(await c.ttl(key('expiring'))).toBe(1)
      await fixture.wait(1200)
      expect(await c.get(key('expiring'))).toBeNull()
      expect(await c.ttl(key('expiring'))).toBe(-2)
    })

    it('rejects a TTL that is not a positive number of seconds', async () => {
      await expect(c.set(key('bad-ttl'), 'x', 0)).rejects.toThrow(RangeError)
      await expect(c.incr(key('bad-ttl'), 1, -1)).rejects.toThrow(RangeError)
      expect(await c.get(key('bad-ttl'))).toBeNull()
    })

    it('increments by 1 by default and by any integer, creating the key without expiry', async () => {
      expect(await c.incr(key('i'))).toBe(1)
      expect(await c.incr(key('i'), 5)).toBe(6)
      expect(await c.incr(key('i'), -10)).toBe(-4)
      expect(await c.get(key('i'))).toBe('-4')
      expect(await c.ttl(key('i'))).toBe(-1)
    })

    it('sets the TTL when incr creates the key and keeps it on later increments', async () => {
      expect(await c.incr(key('window'), 1, 1)).toBe(1)
      await fixture.wait(600)
      expect(await c.incr(key('window'), 1, 1)).toBe(2) // must not push the expiry back
      expect(await c.incr(key('window'), 1)).toBe(3) // nor clear it
      expect(await c.ttl(key('window'))).not.toBe(-1)
      await fixture.wait(600)
      expect(await c.get(key('window'))).toBeNull()
      expect(await c.incr(key('window'), 1, 1)).toBe(1) // a new window
    })

    it('leaves a key that exists without expiry without one when incr is given a TTL', async () => {
      await c.set(key('kept'), '5')
      expect(await c.incr(key('kept'), 1, 10)).toBe(6)
      expect(await c.ttl(key('kept'))).toBe(-1)
    })

    it('counts 200 parallel increments exactly, with and without a TTL', async () => {
      const plain = await Promise.all(Array.from({ length: 200 }, () => c.incr(key('par'))))
      const timed = await Promise.all(Array.from({ length: 200 }, () => c.incr(key('par-ttl'), 1, 60)))
      const oneTo200 = Array.from({ length: 200 }, (_, i) => i + 1)
      expect(plain.sort((a, b) => a - b)).toEqual(oneTo200)
      expect(timed.sort((a, b) => a - b)).toEqual(oneTo200)
      expect(await c.mget([key('par'), key('par-ttl')])).toEqual(['200', '200'])
      expect(await c.ttl(key('par-ttl'))).toBeGreaterThanOrEqual(59)
    })

    it('adds floats with Redis INCRBYFLOAT precision', async () => {
      const steps: number[] = []
      for (let i = 0; i < 10; i++) steps.push(await c.incrFloat(key('f'), 0.1))
      expect(steps).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
      expect(await c.get(key('f'))).toBe('1')
      await c.set(key('f-int'), '5')
      expect(await c.incrFloat(key('f-int'), 0.25)).toBe(5.25)
      expect(await c.incrFloat(key('f-int'), -5.25)).toBe(0)
      expect(await c.get(key('f-int'))).toBe('0')
      for (let i = 0; i < 3; i++) await c.incrFloat(key('f-tiny'), 1e-7)
      expect(await c.get(key('f-tiny'))).toBe('0.0000003')
      expect(await c.incrFloat(key('f-big'), 1234567.891, 60)).toBe(1234567.891)
      expect(await c.ttl(key('f-big'))).toBeGreaterThanOrEqual(59)
      await Promise.all(Array.from({ length: 100 }, () => c.incrFloat(key('f-par'), 0.01)))
      expect(await c.get(key('f-par'))).toBe('1')
    })

    it('rejects increments of values that are not numbers, with Redis error texts', async () => {
      await c.set(key('text'), 'abc')
      await expect(c.incr(key('text'))).rejects.toThrow(/value is not an integer or out of range/)
      await expect(c.incr(key('text'), 1, 10)).rejects.toThrow(/value is not an integer or out of range/)
      await expect(c.incrFloat(key('text'), 1)).rejects.toThrow(/value is not a valid float/)
      await c.set(key('float'), '1.5')
      await expect(c.incr(key('float'))).rejects.toThrow(/value is not an integer or out of range/)
      expect(await c.mget([key('text'), key('float')])).toEqual(['abc', '1.5'])
    })

    scriptTests({ counters: () => c, fixture: () => fixture, key, kind })
  })
}
