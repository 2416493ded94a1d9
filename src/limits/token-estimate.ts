import type { ChatRequest } from '../openai/chat-request'
import { messageChars, tokensForChars } from '../spend/usage-estimate'

/** Tokens a call reserves against TPM limits before it runs: prompt chars / 4 plus the output cap. */
export const DEFAULT_OUTPUT_ESTIMATE = 256

export function estimateCallTokens(body: ChatRequest): number {
  return (
    tokensForChars(messageChars(body.messages)) +
    (body.max_tokens ?? body.max_completion_tokens ?? DEFAULT_OUTPUT_ESTIMATE)
  )
}

/** Prompt tokens of a call, estimated from its characters (context-window checks before routing). */
export function estimatePromptTokens(body: Pick<ChatRequest, 'messages'>): number {
  return tokensForChars(messageChars(body.messages))
}
