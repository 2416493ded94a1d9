import type { Usage } from '../openai/chat-response'

/** An entity that accumulates spend and may have a budget. */
export type SpendEntity =
  | { kind: 'key'; id: string }
  | { kind: 'user'; id: string }
  | { kind: 'team'; id: string }
  /** Per-model spend of a key, for `model_max_budget`. */
  | { kind: 'key-model'; id: string; model: string }

/** One finished call, as recorded in `LiteLLM_SpendLogs` (success and failure alike). */
export interface SpendRecord {
  requestId: string
  callType: 'acompletion' | 'aembedding'
  /** Key hash; the master key's hash for master-key calls, as LiteLLM does. */
  apiKey: string
  spend: number
  usage: Usage
  startTime: Date
  endTime: Date
  completionStartTime: Date | null
  model: string
  modelId: string
  modelGroup: string
  provider: string
  apiBase: string
  userId: string | null
  teamId: string | null
  endUser: string | null
  status: 'success' | 'failure'
  metadata: Record<string, unknown>
}

/**
 * Spend as the hot path sees it. Implemented over the shared counters so every instance agrees
 * between database flushes; see spend/spend-totals.ts.
 */
export interface SpendTotals {
  /** Current total spend of each entity (database value plus everything recorded since). */
  current(entities: readonly SpendEntity[]): Promise<number[]>
}
