import { memoryCounters } from '../../src/store/memory-counters'
import { routerStateContract } from './router-state.contract'

/** One in-memory store shared by both "instances", on an injected clock (expiry without waiting). */
routerStateContract('memory', async () => {
  let now = 1_700_000_000_000
  const clock = () => now
  const counters = memoryCounters(clock)
  return {
    a: counters,
    b: counters,
    clock,
    wait: async (ms) => {
      now += ms
    },
    close: () => counters.close(),
  }
})
