import type { CachePoint, ContentBlock, SystemBlock, ToolSpec } from './converse-types'

/**
 * OpenAI-style prompt-caching markers → Converse `cachePoint` blocks, as LiteLLM's
 * `_get_cache_point_block`: a `cache_control` (`{"type": "ephemeral"}`) on a content part, a message,
 * a system message or a tool puts `{"cachePoint": {"type": "default"}}` right after the block(s) it
 * marks, so Bedrock caches the prompt up to there. A `ttl` of `5m` or `1h` is kept only for models
 * that take one (Claude 4.5 and later); elsewhere Bedrock would reject the member.
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The cache point a marked object asks for, or undefined when it carries no `cache_control`. */
export function cachePointFor(marked: unknown, ttlAllowed: boolean): CachePoint | undefined {
  if (!isRecord(marked)) return undefined
  const control = marked.cache_control
  if (!isRecord(control)) return undefined
  const ttl = control.ttl
  if (ttlAllowed && (ttl === '5m' || ttl === '1h')) return { cachePoint: { type: 'default', ttl } }
  return { cachePoint: { type: 'default' } }
}

type Block = ContentBlock | SystemBlock | ToolSpec

/**
 * Appends a cache point after `blocks`, unless there is nothing to cache yet (Bedrock rejects a
 * cache point that opens a message) or the last block already is one (a part and its message both
 * marked would otherwise send two in a row).
 */
export function appendCachePoint(blocks: Block[], point: CachePoint | undefined): void {
  const last = blocks[blocks.length - 1]
  if (point === undefined || last === undefined || 'cachePoint' in last) return
  blocks.push(point)
}
