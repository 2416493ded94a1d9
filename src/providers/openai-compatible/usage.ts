import type { Usage } from '../../openai/chat-response'

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined

/**
 * An upstream `usage` object in the gateway's shape, or undefined when there is none to trust.
 * `prompt_tokens` already includes cached tokens in OpenAI's accounting; `cached_tokens` is kept so
 * spend prices them at the cache-read rate. A missing total is the sum, as OpenAI defines it.
 */
export function toUsage(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const usage = value as Record<string, unknown>
  const prompt = count(usage.prompt_tokens)
  const completion = count(usage.completion_tokens)
  if (prompt === undefined && completion === undefined) return undefined
  const out: Usage = {
    prompt_tokens: prompt ?? 0,
    completion_tokens: completion ?? 0,
    total_tokens: count(usage.total_tokens) ?? (prompt ?? 0) + (completion ?? 0),
  }
  const details = usage.prompt_tokens_details
  const cached =
    typeof details === 'object' && details !== null
      ? count((details as Record<string, unknown>).cached_tokens)
      : undefined
  if (cached !== undefined) out.prompt_tokens_details = { cached_tokens: cached }
  return out
}
