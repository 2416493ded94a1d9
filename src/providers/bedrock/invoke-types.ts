/**
 * The slice of Anthropic's Messages API that Bedrock InvokeModel / InvokeModelWithResponseStream carry
 * for Claude (protocols.md 1.7): the body without `model` and `stream`, plus `anthropic_version`.
 */

export type AnthropicImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp'

/** Anthropic's prompt-cache breakpoint: everything up to and including the marked block is cached. */
export interface CacheControl {
  type: 'ephemeral'
  ttl?: string
}

type Cacheable<T> = T & { cache_control?: CacheControl }

export type AnthropicContentBlock = Cacheable<
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: AnthropicImageMediaType; data: string } }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean }
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'redacted_thinking'; data: string }
>

export type AnthropicSystemBlock = Cacheable<{ type: 'text'; text: string }>

export interface AnthropicMessage {
  role: 'user' | 'assistant'
  content: AnthropicContentBlock[]
}

export interface AnthropicTool {
  name: string
  description?: string
  input_schema: Record<string, unknown>
  cache_control?: CacheControl
}

export type AnthropicToolChoice =
  | { type: 'auto' }
  | { type: 'any' }
  | { type: 'none' }
  | { type: 'tool'; name: string }

export interface AnthropicInvokeRequest {
  anthropic_version: 'bedrock-2023-05-31'
  max_tokens: number
  messages: AnthropicMessage[]
  system?: AnthropicSystemBlock[]
  temperature?: number
  top_p?: number
  top_k?: number
  stop_sequences?: string[]
  tools?: AnthropicTool[]
  tool_choice?: AnthropicToolChoice
  thinking?: Record<string, unknown>
  anthropic_beta?: string[]
}

export interface AnthropicUsage {
  input_tokens?: number
  output_tokens?: number
  cache_read_input_tokens?: number
  cache_creation_input_tokens?: number
}

/** A response content block as received; unknown kinds (server tools, citations …) are ignored. */
export interface AnthropicResponseBlock {
  type?: string
  text?: string
  id?: string
  name?: string
  input?: unknown
  thinking?: string
  signature?: string
  /** `redacted_thinking` blocks: encrypted reasoning, returned as is. */
  data?: string
}

export interface AnthropicResponse {
  id?: string
  type?: string
  model?: string
  content?: AnthropicResponseBlock[]
  stop_reason?: string | null
  usage?: AnthropicUsage
}

/** Bedrock's own counts on the last streamed event (`message_stop`). */
export interface InvocationMetrics {
  inputTokenCount?: number
  outputTokenCount?: number
  cacheReadInputTokenCount?: number
  cacheWriteInputTokenCount?: number
}

/** One decoded streaming event (the JSON inside a `chunk` frame's base64 `bytes`). */
export interface AnthropicStreamEvent {
  type?: string
  index?: number
  message?: { usage?: AnthropicUsage }
  content_block?: AnthropicResponseBlock
  delta?: {
    type?: string
    text?: string
    partial_json?: string
    thinking?: string
    signature?: string
    stop_reason?: string | null
  }
  usage?: AnthropicUsage
  error?: { type?: string; message?: string }
  'amazon-bedrock-invocationMetrics'?: InvocationMetrics
}
