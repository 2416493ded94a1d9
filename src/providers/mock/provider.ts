import type { ChatRequest } from '../../openai/chat-request'
import type { ChatDelta, ChatOutput, ChatProvider, ProviderCall } from '../types'
import { mockError } from './mock-errors'

/**
 * LiteLLM's `mock_response`: a canned answer without any upstream call, from the request body or
 * the deployment's litellm_params. Usage is fixed at 10 prompt / 20 completion tokens, as newer
 * LiteLLM releases report, so spend and limits can be exercised end to end.
 */
const MOCK_USAGE = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 }
const DEFAULT_TEXT = 'This is a mock response.'

function mockText(request: ChatRequest, call: ProviderCall): string {
  const text = request.mock_response ?? call.deployment.params.mock_response ?? DEFAULT_TEXT
  const error = mockError(text, call.deployment.modelName)
  if (error) throw error
  return text
}

export const mockProvider: ChatProvider = {
  async complete(request, call): Promise<ChatOutput> {
    return {
      message: { role: 'assistant', content: mockText(request, call) },
      finishReason: 'stop',
      usage: { ...MOCK_USAGE },
    }
  },

  async stream(request, call): Promise<AsyncIterable<ChatDelta>> {
    const text = mockText(request, call)
    return (async function* () {
      // Word-sized pieces, the way a real model streams, so clients see more than one chunk.
      for (const piece of text.match(/\S+\s*|\s+/g) ?? [text]) yield { content: piece }
      yield { finishReason: 'stop' }
      yield { usage: { ...MOCK_USAGE } }
    })()
  },
}
