import { GatewayError } from '../../errors'
import type { FinishReason, ToolCall, Usage } from '../../openai/chat-response'
import type { ChatOutput } from '../types'
import type { ConverseResponse, ConverseUsage } from './converse-types'

/**
 * Converse response → OpenAI message, as LiteLLM's `AmazonConverseConfig._transform_response`:
 * text blocks joined, toolUse → tool_calls, reasoning text → `reasoning_content`.
 */

/** LiteLLM's `map_finish_reason`; Bedrock's enum grows, so unknown reasons read as a normal stop. */
const FINISH_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
}

export const mapStopReason = (stopReason: string | undefined): FinishReason =>
  (stopReason !== undefined ? FINISH_REASONS[stopReason] : undefined) ?? 'stop'

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

/**
 * Bedrock's `inputTokens` excludes prompt-cache reads and writes; OpenAI's `prompt_tokens` counts
 * every prompt token, with cached ones repeated in `prompt_tokens_details.cached_tokens`.
 */
export function mapUsage(usage: ConverseUsage | undefined): Usage {
  const cacheRead = count(usage?.cacheReadInputTokens)
  const cacheWrite = count(usage?.cacheWriteInputTokens)
  const promptTokens = count(usage?.inputTokens) + cacheRead + cacheWrite
  const completionTokens = count(usage?.outputTokens)
  const mapped: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens:
      typeof usage?.totalTokens === 'number' ? usage.totalTokens : promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cacheRead },
  }
  if (cacheRead > 0) mapped.cache_read_input_tokens = cacheRead
  if (cacheWrite > 0) mapped.cache_creation_input_tokens = cacheWrite
  return mapped
}

export function toChatOutput(response: ConverseResponse, model: string): ChatOutput {
  const blocks = response.output?.message?.content
  if (!Array.isArray(blocks)) {
    throw new GatewayError({
      status: 502,
      message:
        'litellm.BadGatewayError: BedrockException - the Converse response has no output.message.content.',
      origin: 'upstream',
    })
  }
  const texts: string[] = []
  const reasoning: string[] = []
  const toolCalls: ToolCall[] = []
  for (const block of blocks) {
    if (typeof block !== 'object' || block === null) continue
    if (typeof block.text === 'string') texts.push(block.text)
    const reasoningText = block.reasoningContent?.reasoningText?.text
    if (typeof reasoningText === 'string') reasoning.push(reasoningText)
    if (block.toolUse) {
      toolCalls.push({
        id: block.toolUse.toolUseId ?? '',
        type: 'function',
        function: { name: block.toolUse.name ?? '', arguments: JSON.stringify(block.toolUse.input ?? {}) },
      })
    }
  }
  return {
    message: {
      role: 'assistant',
      content: texts.length > 0 ? texts.join('') : null,
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      ...(reasoning.length > 0 ? { reasoning_content: reasoning.join('') } : {}),
    },
    finishReason: mapStopReason(response.stopReason),
    usage: mapUsage(response.usage),
    model,
  }
}
