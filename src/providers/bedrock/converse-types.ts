/**
 * The slice of the Bedrock Converse / ConverseStream wire format (restJson1) the gateway reads and
 * writes. Content blocks are unions: exactly one key per object. Blobs are base64 strings on the wire.
 */

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp'

export interface ToolUseBlock {
  toolUseId: string
  name: string
  input: unknown
}

export interface ToolResultBlock {
  toolUseId: string
  content: Array<{ text: string }>
  status?: 'success' | 'error'
}

/** Prompt-cache checkpoint: everything before it is cached. `ttl` only on models that take one. */
export interface CachePoint {
  cachePoint: { type: 'default'; ttl?: '5m' | '1h' }
}

/** An earlier turn's extended-thinking block, sent back unmodified (Anthropic checks the signature). */
export type ReasoningContentBlock =
  | { reasoningText: { text: string; signature?: string } }
  | { redactedContent: string }

export type ContentBlock =
  | { text: string }
  | { image: { format: ImageFormat; source: { bytes: string } } }
  | { toolUse: ToolUseBlock }
  | { toolResult: ToolResultBlock }
  | { reasoningContent: ReasoningContentBlock }
  | CachePoint

export type SystemBlock = { text: string } | CachePoint

export interface ConverseMessage {
  role: 'user' | 'assistant'
  content: ContentBlock[]
}

export interface InferenceConfig {
  maxTokens?: number
  temperature?: number
  topP?: number
  stopSequences?: string[]
}

export interface ToolSpec {
  toolSpec: { name: string; description?: string; inputSchema: { json: Record<string, unknown> } }
}

export type ToolChoice =
  | { auto: Record<string, never> }
  | { any: Record<string, never> }
  | { tool: { name: string } }

export interface ToolConfig {
  tools: Array<ToolSpec | CachePoint>
  toolChoice?: ToolChoice
}

export interface ConverseRequest {
  messages: ConverseMessage[]
  system?: SystemBlock[]
  inferenceConfig?: InferenceConfig
  toolConfig?: ToolConfig
  additionalModelRequestFields?: Record<string, unknown>
  /** Passed through as the caller wrote them (LiteLLM's `get_config_blocks` plus `requestMetadata`). */
  guardrailConfig?: Record<string, unknown>
  performanceConfig?: Record<string, unknown>
  requestMetadata?: Record<string, unknown>
}

export interface ConverseUsage {
  inputTokens?: number
  outputTokens?: number
  totalTokens?: number
  cacheReadInputTokens?: number
  cacheWriteInputTokens?: number
}

/** A response content block as received; unknown members (citations, images …) are ignored. */
export interface ResponseContentBlock {
  text?: string
  toolUse?: { toolUseId?: string; name?: string; input?: unknown }
  reasoningContent?: { reasoningText?: { text?: string; signature?: string }; redactedContent?: string }
}

export interface ConverseResponse {
  output?: { message?: { role?: string; content?: ResponseContentBlock[] } }
  stopReason?: string
  usage?: ConverseUsage
  /** Guardrail assessment, present when the request's guardrailConfig enables `trace`. */
  trace?: unknown
}

/** ConverseStream event payloads, keyed by `:event-type`. */
export interface ContentBlockStartEvent {
  contentBlockIndex?: number
  start?: { toolUse?: { toolUseId?: string; name?: string } }
}

export interface ContentBlockDeltaEvent {
  contentBlockIndex?: number
  delta?: {
    text?: string
    toolUse?: { input?: string }
    reasoningContent?: { text?: string; signature?: string; redactedContent?: string }
  }
}

export interface ContentBlockStopEvent {
  contentBlockIndex?: number
}

export interface MessageStopEvent {
  stopReason?: string
}

export interface MetadataEvent {
  usage?: ConverseUsage
}
