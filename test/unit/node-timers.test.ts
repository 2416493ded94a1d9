import { afterEach, expect, it, vi } from 'vitest'
import { nodeTimers } from '../../adapters/node/timers'

afterEach(() => {
  vi.useRealTimers()
})

it('runs a task periodically, never overlapping itself, until stopped', async () => {
  vi.useFakeTimers()
  let started = 0
  let release: () => void = () => {}
  const stop = nodeTimers.every(100, () => {
    started++
    return new Promise<void>((resolve) => {
      release = resolve
    })
  })
  await vi.advanceTimersByTimeAsync(350)
  expect(started).toBe(1) // still running: later ticks were skipped
  release()
  await vi.advanceTimersByTimeAsync(100)
  expect(started).toBe(2)
  release()
  stop()
  await vi.advanceTimersByTimeAsync(1000)
  expect(started).toBe(2)
})

it('survives a failing task', async () => {
  vi.useFakeTimers()
  let runs = 0
  const stop = nodeTimers.every(50, async () => {
    runs++
    throw new Error('boom')
  })
  await vi.advanceTimersByTimeAsync(160)
  expect(runs).toBe(3)
  stop()
})
