import type { SpendRecord } from './spend-types'

/**
 * Upper bounds on the free text of a spend-log row. Some of it comes from clients (`user`, error
 * messages echoed by providers), some from config (model names, api_base); none of it may make a
 * row unwritable. `end_user` has a btree index ("LiteLLM_SpendLogs_end_user_idx"), whose entries
 * must stay below ~2.7 KB: 256 characters are at most 1 KB of UTF-8.
 */
export const MAX_END_USER_CHARS = 256
/** Model, model id, model group and provider names (Bedrock ARNs are ~150 characters). */
export const MAX_NAME_CHARS = 512
export const MAX_API_BASE_CHARS = 1024
/** Metadata larger than this (as JSON, UTF-8 bytes) is replaced by a marker (see boundMetadata). */
export const MAX_METADATA_BYTES = 16 * 1024
/** Metadata entries a replaced metadata keeps when they are short: what dashboards group by. */
const KEPT_METADATA = [
  'user_api_key',
  'user_api_key_alias',
  'user_api_key_user_id',
  'user_api_key_team_id',
  'litellm_call_id',
  'usage_estimated',
] as const

/** `text` cut to `max` UTF-16 units, never in the middle of a surrogate pair. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text
  const cut = text.charCodeAt(max - 1)
  return text.slice(0, cut >= 0xd800 && cut <= 0xdbff ? max - 1 : max)
}

/** UTF-8 length of a string without encoding it. */
export function utf8Bytes(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

/**
 * Metadata as it may be stored: unchanged up to MAX_METADATA_BYTES of JSON; beyond, a marker
 * `{metadata_truncated: true, metadata_bytes: <size>}` with the short LiteLLM identity entries kept.
 * Metadata that cannot be serialised at all (a cycle, a BigInt) becomes the marker too.
 */
export function boundMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  let bytes: number
  try {
    bytes = utf8Bytes(JSON.stringify(metadata) ?? '')
  } catch {
    bytes = -1
  }
  if (bytes >= 0 && bytes <= MAX_METADATA_BYTES) return metadata
  const marker: Record<string, unknown> = { metadata_truncated: true, metadata_bytes: bytes }
  for (const name of KEPT_METADATA) {
    const value = metadata[name]
    if (value === null || typeof value === 'boolean') marker[name] = value
    else if (typeof value === 'string') marker[name] = truncateText(value, MAX_NAME_CHARS)
  }
  return marker
}

/** The record with every free-text field within the bounds above (the same object when it is). */
export function boundSpendRecord(record: SpendRecord): SpendRecord {
  const endUser = record.endUser === null ? null : truncateText(record.endUser, MAX_END_USER_CHARS)
  const model = truncateText(record.model, MAX_NAME_CHARS)
  const modelId = truncateText(record.modelId, MAX_NAME_CHARS)
  const modelGroup = truncateText(record.modelGroup, MAX_NAME_CHARS)
  const provider = truncateText(record.provider, MAX_NAME_CHARS)
  const apiBase = truncateText(record.apiBase, MAX_API_BASE_CHARS)
  const metadata = boundMetadata(record.metadata)
  if (
    endUser === record.endUser &&
    model === record.model &&
    modelId === record.modelId &&
    modelGroup === record.modelGroup &&
    provider === record.provider &&
    apiBase === record.apiBase &&
    metadata === record.metadata
  )
    return record
  return { ...record, endUser, model, modelId, modelGroup, provider, apiBase, metadata }
}

/**
 * The last resort for a row Postgres refuses although its text is bounded: every free-text field
 * emptied (identity, amounts and timestamps kept), so its spend still reaches the key, user and team.
 */
export function withoutFreeText(record: SpendRecord): SpendRecord {
  return {
    ...record,
    endUser: null,
    model: '',
    modelId: '',
    modelGroup: '',
    provider: '',
    apiBase: '',
    metadata: { metadata_cleared: true },
  }
}
