import type { ChatMessage } from '../openai/chat-request'
import type { Usage } from '../openai/chat-response'
import type { ChatDelta } from '../providers/types'

/**
 * Token counts for a stream that ended without the provider's usage: cancelled by the client,
 * failed mid-stream, or from a provider that never sends it (Bedrock reports usage only in the
 * final `metadata` event). The upstream has processed the prompt and generated what was streamed,
 * so billing $0 would be wrong; like LiteLLM (which counts the messages and the streamed text when
 * a stream has no usage) we estimate.
 *
 * This is an ESTIMATE, not a tokenizer: one token per 4 characters (OpenAI's rule of thumb for
 * English), rounded up. Prompt: the text of the request's messages (string content, text parts,
 * assistant tool calls' names and arguments), at least 1 token. Completion: the text, reasoning
 * text and tool-call names/arguments actually streamed to the client. Images, tool definitions and
 * the chat template's own tokens are not counted, so prompts are rather under- than over-estimated.
 * Rows billed from an estimate carry `metadata.usage_estimated: true`.
 */
export const CHARS_PER_TOKEN = 4

export const tokensForChars = (chars: number): number => Math.ceil(Math.max(0, chars) / CHARS_PER_TOKEN)

/** Characters of generated output in one delta. */
export function deltaChars(delta: ChatDelta): number {
  let chars = (delta.content?.length ?? 0) + (delta.reasoningContent?.length ?? 0)
  for (const call of delta.toolCalls ?? []) {
    chars += (call.function.name?.length ?? 0) + (call.function.arguments?.length ?? 0)
  }
  return chars
}

/** Characters of text in the request's messages. */
export function messageChars(messages: readonly ChatMessage[]): number {
  let chars = 0
  for (const message of messages) {
    const content = message.content
    if (typeof content === 'string') chars += content.length
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === 'text' && typeof part.text === 'string') chars += part.text.length
      }
    }
    if (message.role === 'assistant') {
      for (const call of message.tool_calls ?? []) {
        chars += call.function.name.length + call.function.arguments.length
      }
    }
  }
  return chars
}

/** The estimated usage of a stream (see above). */
export function estimateStreamUsage(messages: readonly ChatMessage[], streamedChars: number): Usage {
  const prompt = Math.max(1, tokensForChars(messageChars(messages)))
  const completion = tokensForChars(streamedChars)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}
