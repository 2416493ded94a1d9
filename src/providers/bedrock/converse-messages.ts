import { badRequest } from '../../errors'
import type { ChatMessage, ContentPart } from '../../openai/chat-request'
import { appendCachePoint, cachePointFor } from './converse-cache-points'
import type { ContentBlock, ConverseMessage, ImageFormat, SystemBlock } from './converse-types'

/**
 * OpenAI chat messages → a Converse conversation (`system` + alternating `messages`), following
 * LiteLLM's `_bedrock_converse_messages_pt`: content parts to blocks, tool calls and results,
 * earlier turns' thinking blocks, and cache points where `cache_control` marks them.
 */

type Role = ConverseMessage['role']

/** LiteLLM's DEFAULT_USER_CONTINUE_MESSAGE: Bedrock rejects a turn with no content blocks. */
const USER_PLACEHOLDER = 'Please continue.'
/** Bedrock rejects blank text, also inside a tool result. */
const EMPTY_TOOL_RESULT = '(empty)'

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
}

const isBlank = (text: string): boolean => text.trim() === ''

/** `data:image/png;base64,<data>` → Converse image block. Remote URLs would need a fetch with SSRF guards. */
export function imageBlock(url: string, param: string): ContentBlock {
  const match = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s.exec(url)
  if (!match) {
    throw badRequest(
      'Bedrock image inputs must be data URLs (data:image/png;base64,...); fetching image URLs is not supported yet.',
      param,
    )
  }
  const mime = (match[1] ?? '').toLowerCase()
  const format = IMAGE_FORMATS[mime]
  if (!format) throw badRequest(`Bedrock supports png, jpeg, gif and webp images, not ${mime}.`, param)
  if (!(match[2] ?? '').toLowerCase().split(';').includes('base64')) {
    throw badRequest('Image data URLs must be base64-encoded (data:<mime>;base64,<data>).', param)
  }
  return { image: { format, source: { bytes: match[3] ?? '' } } }
}

/**
 * What the Converse route adds to the shared conversation mapping (the Invoke route reuses it
 * without): cache points for `cache_control` markers and earlier turns' thinking blocks.
 * Undefined = plain conversation.
 */
interface ConverseFeatures {
  /** Cache points may carry a `ttl` (Claude 4.5 and later). */
  cacheTtl: boolean
}

const cachePoint = (marked: unknown, features: ConverseFeatures | undefined) =>
  features === undefined ? undefined : cachePointFor(marked, features.cacheTtl)

function userBlocks(message: ChatMessage, param: string, features?: ConverseFeatures): ContentBlock[] {
  const content = message.content
  const blocks: ContentBlock[] = []
  if (typeof content === 'string') {
    if (!isBlank(content)) blocks.push({ text: content })
  } else if (Array.isArray(content)) {
    content.forEach((part, j) => {
      const mapped = partBlocks(part, `${param}[${j}]`)
      blocks.push(...mapped)
      // A marked part that maps to nothing (blank text) has nothing to cache.
      if (mapped.length > 0) appendCachePoint(blocks, cachePoint(part, features))
    })
  }
  appendCachePoint(blocks, cachePoint(message, features))
  return blocks
}

function partBlocks(part: ContentPart, param: string): ContentBlock[] {
  if (part.type === 'text' && 'text' in part && typeof part.text === 'string') {
    return isBlank(part.text) ? [] : [{ text: part.text }]
  }
  if (part.type === 'image_url' && 'image_url' in part) {
    // `image_url` is a string or `{url, detail}`; the OpenAI SDK sends the object form.
    const image: unknown = part.image_url
    const url = typeof image === 'string' ? image : (image as { url?: unknown } | null)?.url
    return [imageBlock(typeof url === 'string' ? url : '', `${param}.image_url`)]
  }
  throw badRequest(`Content part type "${part.type}" is not supported for Bedrock models.`, param)
}

const textOf = (part: ContentPart): string =>
  part.type === 'text' && 'text' in part && typeof part.text === 'string' ? part.text : ''

/** Text of a content value, for places that take plain text only (system prompts, tool results). */
function plainText(content: ChatMessage['content']): string {
  if (content === null || content === undefined) return ''
  if (typeof content === 'string') return content
  return content.map(textOf).join('')
}

const markedPart = (content: ChatMessage['content'] | undefined): ContentPart | undefined =>
  Array.isArray(content) ? content.find((part) => cachePointFor(part, false) !== undefined) : undefined

/**
 * System blocks. On Converse each text part is its own block, as LiteLLM sends them, so a marked
 * part can be followed by its cache point; the plain mapping joins the parts.
 */
function systemBlocks(message: ChatMessage, features?: ConverseFeatures): SystemBlock[] {
  const content = message.content
  const blocks: SystemBlock[] = []
  if (features !== undefined && Array.isArray(content)) {
    for (const part of content) {
      const text = textOf(part)
      if (isBlank(text)) continue
      blocks.push({ text })
      appendCachePoint(blocks, cachePoint(part, features))
    }
  } else {
    const text = plainText(content)
    if (!isBlank(text)) blocks.push({ text })
  }
  appendCachePoint(blocks, cachePoint(message, features))
  return blocks
}

function toolInput(args: string, param: string): unknown {
  // OpenAI sends "" for a call without arguments; Bedrock wants a JSON document.
  if (isBlank(args)) return {}
  try {
    return JSON.parse(args)
  } catch {
    throw badRequest('Tool call arguments must be valid JSON to send them to Bedrock.', param)
  }
}

/**
 * LiteLLM's `thinking_blocks` of an earlier answer → `reasoningContent` blocks, which must open the
 * assistant turn: a thinking model continuing a tool call rejects the turn without them.
 */
function reasoningBlocks(message: Extract<ChatMessage, { role: 'assistant' }>): ContentBlock[] {
  return (message.thinking_blocks ?? []).map((block) =>
    block.type === 'redacted_thinking'
      ? { reasoningContent: { redactedContent: block.data } }
      : {
          reasoningContent: {
            reasoningText: {
              text: block.thinking,
              ...(typeof block.signature === 'string' ? { signature: block.signature } : {}),
            },
          },
        },
  )
}

function assistantBlocks(
  message: Extract<ChatMessage, { role: 'assistant' }>,
  i: number,
  features?: ConverseFeatures,
): ContentBlock[] {
  const blocks: ContentBlock[] = features === undefined ? [] : reasoningBlocks(message)
  // Assistant content is text (or a refusal, which Bedrock has no block for).
  const text = plainText(message.content ?? null)
  if (!isBlank(text)) {
    blocks.push({ text })
    appendCachePoint(blocks, cachePoint(markedPart(message.content), features))
  }
  for (const call of message.tool_calls ?? []) {
    blocks.push({
      toolUse: {
        toolUseId: call.id,
        name: call.function.name,
        input: toolInput(call.function.arguments, `messages[${i}].tool_calls`),
      },
    })
  }
  // Legacy `function_call` has no id; the function name links it to the `function` role result.
  const legacy = message.function_call
  if (typeof legacy === 'object' && legacy !== null && 'name' in legacy && typeof legacy.name === 'string') {
    const args = 'arguments' in legacy && typeof legacy.arguments === 'string' ? legacy.arguments : ''
    blocks.push({
      toolUse: {
        toolUseId: legacy.name,
        name: legacy.name,
        input: toolInput(args, `messages[${i}].function_call`),
      },
    })
  }
  // Thinking blocks alone are no answer to send back.
  if (!blocks.some((block) => !('reasoningContent' in block))) return []
  appendCachePoint(blocks, cachePoint(message, features))
  return blocks
}

function toolResultBlocks(
  toolUseId: string,
  message: ChatMessage,
  features?: ConverseFeatures,
): ContentBlock[] {
  const text = plainText(message.content)
  const blocks: ContentBlock[] = [
    { toolResult: { toolUseId, content: [{ text: isBlank(text) ? EMPTY_TOOL_RESULT : text }] } },
  ]
  appendCachePoint(blocks, cachePoint(markedPart(message.content) ?? message, features))
  return blocks
}

export interface Conversation<System> {
  system: System[]
  turns: ConverseMessage[]
}

/** Bedrock requires strict user/assistant alternation: consecutive same-role messages become one turn. */
function append(turns: ConverseMessage[], role: Role, blocks: ContentBlock[]): void {
  if (blocks.length === 0) return
  const last = turns[turns.length - 1]
  if (last?.role === role) last.content.push(...blocks)
  else turns.push({ role, content: blocks })
}

function collect(messages: ChatMessage[], features?: ConverseFeatures): Conversation<SystemBlock> {
  const system: SystemBlock[] = []
  const turns: ConverseMessage[] = []
  messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...systemBlocks(message, features))
        break
      case 'user': {
        const blocks = userBlocks(message, `messages[${i}].content`, features)
        append(turns, 'user', blocks.length > 0 ? blocks : [{ text: USER_PLACEHOLDER }])
        break
      }
      case 'assistant':
        // An empty assistant message is dropped; its neighbours merge into one user turn.
        append(turns, 'assistant', assistantBlocks(message, i, features))
        break
      case 'tool':
        append(turns, 'user', toolResultBlocks(message.tool_call_id, message, features))
        break
      case 'function':
        append(turns, 'user', toolResultBlocks(message.name, message, features))
        break
    }
  })
  if (turns.length === 0) throw badRequest('bedrock requires at least one non-system message', 'messages')
  if (turns[0]?.role !== 'user') {
    throw badRequest(
      'bedrock requires the conversation to start with a user message (after any system messages), but it starts with an assistant message.',
      'messages',
    )
  }
  return { system, turns }
}

const isText = (block: SystemBlock): block is { text: string } => 'text' in block

/** The conversation without Converse-only blocks (the shape the Invoke route translates). */
export function toConversation(messages: ChatMessage[]): Conversation<{ text: string }> {
  const { system, turns } = collect(messages)
  return { system: system.filter(isText), turns }
}

/** The conversation as Converse takes it, with cache points and earlier turns' thinking blocks. */
export function toConverseConversation(messages: ChatMessage[], cacheTtl = false): Conversation<SystemBlock> {
  return collect(messages, { cacheTtl })
}
