import type { SpendRecord } from '../../src/spend/spend-types'

/**
 * One successful call of key `k1` (user `u1`, team `t1`, model group `gpt`) that cost `spend`, with
 * 10 prompt + 20 completion tokens, started and ended now; `over` replaces any of that.
 */
export function spendRecord(spend: number, over: Partial<SpendRecord> = {}): SpendRecord {
  return {
    requestId: crypto.randomUUID(),
    callType: 'acompletion',
    apiKey: 'k1',
    spend,
    usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
    startTime: new Date(),
    endTime: new Date(),
    completionStartTime: null,
    model: 'm',
    modelId: 'd',
    modelGroup: 'gpt',
    provider: 'mock',
    apiBase: '',
    userId: 'u1',
    teamId: 't1',
    endUser: null,
    status: 'success',
    metadata: {},
    ...over,
  }
}
