import { GatewayError } from '../../errors'
import type { FinishReason, ThinkingBlock, ToolCall, Usage } from '../../openai/chat-response'
import type { ChatOutput } from '../types'
import { type ConverseOutputOptions, JSON_TOOL_NAME, jsonContent, jsonModeFor } from './converse-json-mode'
import { mapUsage } from './converse-response'
import type { AnthropicResponse, AnthropicUsage, InvocationMetrics } from './invoke-types'

/**
 * Anthropic message (InvokeModel answer) → OpenAI message, as LiteLLM's Anthropic adapter: text
 * blocks joined, `tool_use` → tool_calls, `thinking` → `reasoning_content` plus `thinking_blocks`.
 */

/** LiteLLM's `map_finish_reason` for Anthropic's stop reasons; unknown ones read as a normal stop. */
const FINISH_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}

export const mapAnthropicStopReason = (reason: string | null | undefined): FinishReason =>
  (typeof reason === 'string' ? FINISH_REASONS[reason] : undefined) ?? 'stop'

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

/**
 * Anthropic's `input_tokens` excludes cache reads and writes, like Converse's `inputTokens`: the
 * same OpenAI usage (cached tokens inside `prompt_tokens`, repeated in `cached_tokens`) follows.
 */
export function mapAnthropicUsage(usage: AnthropicUsage | undefined): Usage {
  return mapUsage({
    inputTokens: count(usage?.input_tokens),
    outputTokens: count(usage?.output_tokens),
    cacheReadInputTokens: count(usage?.cache_read_input_tokens),
    cacheWriteInputTokens: count(usage?.cache_creation_input_tokens),
  })
}

/** Bedrock's `amazon-bedrock-invocationMetrics`, for a stream whose Anthropic events lacked usage. */
export function usageFromMetrics(metrics: InvocationMetrics): AnthropicUsage {
  return {
    input_tokens: count(metrics.inputTokenCount),
    output_tokens: count(metrics.outputTokenCount),
    cache_read_input_tokens: count(metrics.cacheReadInputTokenCount),
    cache_creation_input_tokens: count(metrics.cacheWriteInputTokenCount),
  }
}

/**
 * `options` says whether the request asked for JSON mode (response_format): the schema tool's call is
 * then the answer's content, as on Converse. Without options a lone `json_tool_call` reads as JSON mode.
 */
export function anthropicToChatOutput(
  response: AnthropicResponse,
  model: string,
  options?: ConverseOutputOptions,
): ChatOutput {
  const blocks = response.content
  if (!Array.isArray(blocks)) {
    throw new GatewayError({
      status: 502,
      message: 'litellm.BadGatewayError: BedrockException - the InvokeModel response has no content.',
      origin: 'upstream',
    })
  }
  const texts: string[] = []
  const reasoning: string[] = []
  const thinkingBlocks: ThinkingBlock[] = []
  const toolCalls: ToolCall[] = []
  const inputs: unknown[] = []
  for (const block of blocks) {
    if (typeof block !== 'object' || block === null) continue
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text)
    else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      reasoning.push(block.thinking)
      // Kept with the signature: Claude wants the block back verbatim in the next turn when tools are used.
      thinkingBlocks.push(
        typeof block.signature === 'string'
          ? { type: 'thinking', thinking: block.thinking, signature: block.signature }
          : { type: 'thinking', thinking: block.thinking },
      )
    } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') {
      thinkingBlocks.push({ type: 'redacted_thinking', data: block.data })
    } else if (block.type === 'tool_use') {
      inputs.push(block.input)
      toolCalls.push({
        id: block.id ?? '',
        type: 'function',
        function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) },
      })
    }
  }
  let content = texts.length > 0 ? texts.join('') : null
  let finishReason = mapAnthropicStopReason(response.stop_reason)
  const jsonMode = jsonModeFor(options)
  const answeredAsJson =
    jsonMode !== undefined && toolCalls.length === 1 && toolCalls[0]?.function.name === JSON_TOOL_NAME
  if (answeredAsJson) {
    // The forced schema tool is how the model answers, not a call for the client to run.
    content = jsonContent(inputs[0], jsonMode)
    if (finishReason === 'tool_calls') finishReason = 'stop'
  }
  return {
    message: {
      role: 'assistant',
      content,
      ...(toolCalls.length > 0 && !answeredAsJson ? { tool_calls: toolCalls } : {}),
      ...(reasoning.length > 0 ? { reasoning_content: reasoning.join('') } : {}),
      ...(thinkingBlocks.length > 0 ? { thinking_blocks: thinkingBlocks } : {}),
    },
    finishReason,
    usage: mapAnthropicUsage(response.usage),
    model,
  }
}
