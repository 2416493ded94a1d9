import { badRequest } from '../../errors'
import type { ChatMessage } from '../../openai/chat-request'

/**
 * Chat messages → the plain turns a text prompt is built from. Text-generation containers take one
 * string, so only text survives: system/developer messages become `system`, tool and legacy
 * function results are shown to the model as user turns, consecutive turns of one role merge (chat
 * templates assume alternation). Images cannot be put into a text prompt: 400, as LiteLLM's
 * prompt factory fails on them too.
 */

export type TurnRole = 'system' | 'user' | 'assistant'

export interface PromptTurn {
  role: TurnRole
  content: string
}

function textOf(content: ChatMessage['content'] | undefined, param: string): string {
  if (content === null || content === undefined) return ''
  if (typeof content === 'string') return content
  return content
    .map((part, j) => {
      if (part.type === 'text' && 'text' in part && typeof part.text === 'string') return part.text
      throw badRequest(
        `Content part type "${part.type}" is not supported for SageMaker text-generation endpoints (the prompt is plain text). Use a sagemaker_chat/ deployment for multimodal containers.`,
        `${param}[${j}]`,
      )
    })
    .join('')
}

function roleAndText(message: ChatMessage, i: number): PromptTurn {
  const param = `messages[${i}].content`
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(message.content, param) }
    case 'user':
      return { role: 'user', content: textOf(message.content, param) }
    case 'assistant':
      return { role: 'assistant', content: textOf(message.content, param) }
    case 'tool':
    case 'function':
      return { role: 'user', content: textOf(message.content, param) }
  }
}

/** Merges same-role neighbours (blank lines between), dropping messages without text. */
export function promptTurns(messages: readonly ChatMessage[]): PromptTurn[] {
  const turns: PromptTurn[] = []
  messages.forEach((message, i) => {
    const turn = roleAndText(message, i)
    if (turn.content.trim() === '') return
    const last = turns[turns.length - 1]
    if (last?.role === turn.role) last.content = `${last.content}\n\n${turn.content}`
    else turns.push(turn)
  })
  if (!turns.some((turn) => turn.role !== 'system')) {
    throw badRequest(
      'SageMaker text-generation endpoints need at least one user message with text.',
      'messages',
    )
  }
  return turns
}
