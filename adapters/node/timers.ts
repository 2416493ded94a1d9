import type { Timers } from '../../src/timers'

/**
 * Background work on Node: one interval per task, unref'd so it never keeps the process alive,
 * and never overlapping itself (a slow flush skips ticks instead of piling up).
 */
export const nodeTimers: Timers = {
  every(ms, task) {
    let running = false
    const timer = setInterval(() => {
      if (running) return
      running = true
      task()
        .catch(() => {}) // tasks log their own failures; a rejected tick must not crash the process
        .finally(() => {
          running = false
        })
    }, ms)
    timer.unref()
    return () => clearInterval(timer)
  },
}
