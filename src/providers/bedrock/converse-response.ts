import { GatewayError } from '../../errors'
import type {
  AssistantMessage,
  FinishReason,
  ThinkingBlock,
  ToolCall,
  Usage,
} from '../../openai/chat-response'
import type { ChatOutput } from '../types'
import { type ConverseOutputOptions, JSON_TOOL_NAME, jsonContent, jsonModeFor } from './converse-json-mode'
import type { ConverseResponse, ConverseUsage, ResponseContentBlock } from './converse-types'

/**
 * Converse response → OpenAI message, as LiteLLM's `AmazonConverseConfig._transform_response`:
 * text blocks joined, toolUse → tool_calls, reasoning blocks → `reasoning_content` (their text) and
 * `thinking_blocks` (text with signature, or the redacted data), a guardrail `trace` passed through.
 * In JSON mode (response_format), a lone call of the schema tool becomes the message content.
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

/** LiteLLM's `_transform_thinking_blocks`: Anthropic's spelling of Bedrock's reasoning blocks. */
export function thinkingBlock(
  reasoning: NonNullable<ResponseContentBlock['reasoningContent']>,
): ThinkingBlock | undefined {
  if (reasoning.reasoningText !== undefined) {
    const { text, signature } = reasoning.reasoningText
    return { type: 'thinking', thinking: text ?? '', ...(typeof signature === 'string' ? { signature } : {}) }
  }
  if (typeof reasoning.redactedContent === 'string')
    return { type: 'redacted_thinking', data: reasoning.redactedContent }
  return undefined
}

export function toChatOutput(
  response: ConverseResponse,
  model: string,
  options?: ConverseOutputOptions,
): ChatOutput {
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
  const thinkingBlocks: ThinkingBlock[] = []
  const toolCalls: ToolCall[] = []
  const inputs: unknown[] = []
  for (const block of blocks) {
    if (typeof block !== 'object' || block === null) continue
    if (typeof block.text === 'string') texts.push(block.text)
    if (block.reasoningContent) {
      const text = block.reasoningContent.reasoningText?.text
      if (typeof text === 'string') reasoning.push(text)
      const thinking = thinkingBlock(block.reasoningContent)
      if (thinking) thinkingBlocks.push(thinking)
    }
    if (block.toolUse) {
      inputs.push(block.toolUse.input)
      toolCalls.push({
        id: block.toolUse.toolUseId ?? '',
        type: 'function',
        function: { name: block.toolUse.name ?? '', arguments: JSON.stringify(block.toolUse.input ?? {}) },
      })
    }
  }
  let finishReason = mapStopReason(response.stopReason)
  const message: AssistantMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null }
  const jsonMode = jsonModeFor(options)
  if (jsonMode !== undefined && toolCalls.length === 1 && toolCalls[0]?.function.name === JSON_TOOL_NAME) {
    // The forced schema tool is how the model answers, not a call for the client to run.
    message.content = jsonContent(inputs[0], jsonMode)
    if (finishReason === 'tool_calls') finishReason = 'stop'
  } else if (toolCalls.length > 0) {
    message.tool_calls = toolCalls
  }
  // LiteLLM sets both whenever a reasoning block came back, even a redacted one without text.
  if (thinkingBlocks.length > 0) {
    message.reasoning_content = reasoning.join('')
    message.thinking_blocks = thinkingBlocks
  }
  return {
    message,
    finishReason,
    usage: mapUsage(response.usage),
    model,
    ...(response.trace !== undefined ? { trace: response.trace } : {}),
  }
}
