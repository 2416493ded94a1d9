import { afterEach, describe, expect, it, vi } from 'vitest'
import { GatewayError } from '../../src/errors'
import { callSignal } from '../../src/http/call-signal'

afterEach(() => {
  vi.useRealTimers()
})

describe('callSignal', () => {
  it('times out after the first-byte bound, then the idle bound once progress is made', () => {
    vi.useFakeTimers()
    const call = callSignal(undefined, { firstByteSeconds: 2, idleSeconds: 5 }, 'g')
    vi.advanceTimersByTime(1900)
    expect(call.signal.aborted).toBe(false)
    call.progress()
    vi.advanceTimersByTime(4900)
    expect(call.signal.aborted).toBe(false)
    call.progress()
    vi.advanceTimersByTime(5001)
    expect(call.signal.aborted).toBe(true)
    const error = call.toError(new Error('aborted')) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.status).toBe(408)
    expect(error.message).toBe('litellm.Timeout: Request timed out after 5 seconds (model=g).')
  })

  it('clamps huge timeouts instead of firing at once (setTimeout overflows past 2^31-1 ms)', () => {
    vi.useFakeTimers()
    const call = callSignal(undefined, { firstByteSeconds: 3_000_000, idleSeconds: 3_000_000 }, 'g')
    vi.advanceTimersByTime(60_000)
    expect(call.signal.aborted).toBe(false)
    call.done()
  })

  it('follows the client signal and leaves other errors alone', () => {
    const client = new AbortController()
    const call = callSignal(client.signal, { firstByteSeconds: 60, idleSeconds: 60 }, 'g')
    client.abort()
    expect(call.signal.aborted).toBe(true)
    const other = new Error('boom')
    expect(call.toError(other)).toBe(other)
    call.done()
  })

  it('done() stops the timer', () => {
    vi.useFakeTimers()
    const call = callSignal(undefined, { firstByteSeconds: 1, idleSeconds: 1 }, 'g')
    call.done()
    vi.advanceTimersByTime(5000)
    expect(call.signal.aborted).toBe(false)
  })
})
