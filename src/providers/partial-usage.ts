import type { EmbeddingOutput } from './types'

type EmbeddingUsage = EmbeddingOutput['usage']

/**
 * Usage an upstream already billed before a call failed part-way: a Bedrock embedding request runs
 * one InvokeModel per input or batch, and the batches that succeeded before one failed were paid
 * for. Carried beside the error (not in it: GatewayError is rendered to clients) so the spend hook
 * can record them on the failure row.
 */
const billed = new WeakMap<object, EmbeddingUsage>()

export function withPartialUsage<E>(error: E, usage: EmbeddingUsage): E {
  if (typeof error === 'object' && error !== null && usage.total_tokens > 0) billed.set(error, usage)
  return error
}

export function partialUsageOf(error: unknown): EmbeddingUsage | undefined {
  return typeof error === 'object' && error !== null ? billed.get(error) : undefined
}
