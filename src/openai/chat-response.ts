/** OpenAI chat-completions response shapes, as the official SDKs parse them. */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call'

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens: number }
  /** Bedrock prompt-caching counters, exposed the way LiteLLM does. */
  cache_read_input_tokens?: number
  cache_creation_input_tokens?: number
}

export interface ToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

export interface ToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function: { name?: string; arguments: string }
}

/** An extended-thinking block as LiteLLM returns it (Anthropic's spelling); clients send it back. */
export type ThinkingBlock =
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'redacted_thinking'; data: string }

export interface AssistantMessage {
  role: 'assistant'
  content: string | null
  tool_calls?: ToolCall[]
  reasoning_content?: string
  thinking_blocks?: ThinkingBlock[]
}

export interface ChatCompletion {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  system_fingerprint: null
  choices: Array<{ index: number; message: AssistantMessage; finish_reason: FinishReason; logprobs: null }>
  usage: Usage
  /** Bedrock's guardrail trace, top-level as LiteLLM sets it, when the guardrail config asks for one. */
  trace?: unknown
}

export interface ChatCompletionChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  system_fingerprint: null
  choices: Array<{
    index: number
    delta: {
      role?: 'assistant'
      content?: string
      tool_calls?: ToolCallDelta[]
      reasoning_content?: string
      thinking_blocks?: ThinkingBlock[]
    }
    finish_reason: FinishReason | null
    logprobs: null
  }>
  usage?: Usage | null
}
