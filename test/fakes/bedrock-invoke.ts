/**
 * Bedrock InvokeModel / InvokeModelWithResponseStream for Anthropic Claude (protocols.md 1.7), for
 * the fake Bedrock runtime: validation like Bedrock's, answers derived from the request the same way
 * as the Converse fake (`defaultReplyFor`), the real streaming event sequence as `chunk` events.
 */
import { randomBytes } from 'node:crypto'
import type { ResolvedReply } from './bedrock'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

/** Claude models (bare, cross-region profile or ARN) are served on the Invoke routes. */
export const isAnthropicModel = (modelId: string): boolean =>
  /(^|[./])anthropic\.claude/.test(modelId.slice(modelId.lastIndexOf('/') + 1))

const malformed = (detail: string) =>
  `Malformed input request: ${detail}, please reformat your input and try again.`

/** Bedrock/Anthropic-style validation of an InvokeModel Claude body; the ValidationException message or undefined. */
export function validateAnthropicBody(body: unknown): string | undefined {
  if (!isObject(body)) return malformed('#: expected type: JSONObject')
  if (body.anthropic_version === undefined) return malformed('#: required key [anthropic_version] not found')
  if (body.anthropic_version !== 'bedrock-2023-05-31') return 'Invalid API version'
  if (body.max_tokens === undefined) return malformed('#: required key [max_tokens] not found')
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) {
    return malformed('#/max_tokens: expected minimum: 1')
  }
  for (const key of ['model', 'stream']) {
    if (key in body) return malformed(`#: extraneous key [${key}] is not permitted`)
  }
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) {
    return malformed('#/system: expected type: String or JSONArray')
  }
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required'
  let usesTools = false
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i]
    if (!isObject(message)) return malformed(`#/messages/${i}: expected type: JSONObject`)
    if (message.role !== 'user' && message.role !== 'assistant') {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`
    }
    if (i === 0 && message.role !== 'user') return 'messages: first message must use the "user" role'
    const previous: unknown = messages[i - 1]
    if (i > 0 && isObject(previous) && previous.role === message.role) {
      return `messages: roles must alternate between "user" and "assistant", but found multiple "${message.role}" roles in a row`
    }
    const content = message.content
    if (typeof content === 'string') continue
    if (!Array.isArray(content) || content.length === 0) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`
    }
    for (const block of content) {
      if (!isObject(block) || typeof block.type !== 'string')
        return malformed(`#/messages/${i}/content: expected blocks`)
      if (block.type === 'text' && (typeof block.text !== 'string' || block.text.trim() === '')) {
        return `messages: text content blocks must be non-empty`
      }
      if (block.type === 'tool_use' || block.type === 'tool_result') usesTools = true
      if (block.type === 'image') {
        const source = isObject(block.source) ? block.source : {}
        if (source.type !== 'base64' || typeof source.data !== 'string')
          return malformed(`#/messages/${i}: bad image`)
      }
    }
  }
  if (usesTools && !Array.isArray(body.tools)) {
    return 'Requests which include `tool_use` or `tool_result` blocks must define tools.'
  }
  for (const [name, value] of [
    ['temperature', body.temperature],
    ['top_p', body.top_p],
  ] as const) {
    if (value !== undefined && (typeof value !== 'number' || value < 0 || value > 1)) {
      return malformed(`#/${name}: expected maximum: 1`)
    }
  }
  return undefined
}

/** Anthropic text of a block list or string. */
function texts(content: unknown): string[] {
  if (typeof content === 'string') return [content]
  return asArray(content)
    .filter(isObject)
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => String(b.text))
}

/**
 * The Anthropic body in the Converse shape `defaultReplyFor` reads, so both APIs answer alike:
 * system → system texts, text/tool_use/tool_result blocks → Converse blocks, tools → toolConfig,
 * max_tokens / stop_sequences → inferenceConfig.
 */
export function converseShapeOf(body: unknown): Record<string, unknown> {
  if (!isObject(body)) return {}
  const messages = asArray(body.messages)
    .filter(isObject)
    .map((m) => {
      const content =
        typeof m.content === 'string'
          ? [{ text: m.content }]
          : asArray(m.content)
              .filter(isObject)
              .flatMap((b): Record<string, unknown>[] => {
                if (b.type === 'text') return [{ text: b.text }]
                if (b.type === 'tool_use')
                  return [{ toolUse: { toolUseId: b.id, name: b.name, input: b.input } }]
                if (b.type === 'tool_result') {
                  return [
                    {
                      toolResult: {
                        toolUseId: b.tool_use_id,
                        content: texts(b.content).map((text) => ({ text })),
                      },
                    },
                  ]
                }
                return []
              })
      return { role: m.role, content }
    })
  const tools = asArray(body.tools)
    .filter(isObject)
    .map((t) => ({ toolSpec: { name: t.name, inputSchema: { json: t.input_schema } } }))
  return {
    system: texts(body.system).map((text) => ({ text })),
    messages,
    ...(tools.length > 0 ? { toolConfig: { tools } } : {}),
    inferenceConfig: { maxTokens: body.max_tokens, stopSequences: body.stop_sequences },
  }
}

function newToolUseId(): string {
  return `toolu_bdrk_${randomBytes(12).toString('hex')}`
}

const messageId = (): string => `msg_bdrk_${randomBytes(12).toString('hex')}`

/** The reply's usage in Anthropic's spelling (input tokens exclude cache reads and writes). */
export function anthropicUsage(reply: ResolvedReply): Record<string, number> {
  return {
    input_tokens: reply.usage.inputTokens,
    output_tokens: reply.usage.outputTokens,
    cache_creation_input_tokens: reply.usage.cacheWriteInputTokens ?? 0,
    cache_read_input_tokens: reply.usage.cacheReadInputTokens ?? 0,
  }
}

/** InvokeModel response body: an Anthropic message. */
export function anthropicResponseBody(reply: ResolvedReply, modelId: string): Record<string, unknown> {
  const content: Record<string, unknown>[] = []
  if (reply.text !== undefined && (reply.text.length > 0 || reply.toolUses.length === 0)) {
    content.push({ type: 'text', text: reply.text })
  }
  for (const t of reply.toolUses) {
    content.push({ type: 'tool_use', id: t.toolUseId, name: t.name, input: t.input })
  }
  return {
    id: messageId(),
    type: 'message',
    role: 'assistant',
    model: modelId,
    content,
    stop_reason: reply.stopReason,
    stop_sequence: null,
    usage: anthropicUsage(reply),
  }
}

/** The reply with Anthropic-style tool ids (`toolu_bdrk_…`), so both body and stream agree. */
export function withAnthropicIds(reply: ResolvedReply): ResolvedReply {
  return {
    ...reply,
    toolUses: reply.toolUses.map((t) => ({
      ...t,
      toolUseId: t.toolUseId.startsWith('tooluse_') ? newToolUseId() : t.toolUseId,
    })),
  }
}

/** Word-ish pieces that keep their leading whitespace. */
const pieces = (text: string): string[] => text.match(/\s*\S+|\s+$/g) ?? []

/**
 * The Anthropic streaming events of a reply, in the real order (protocols.md 1.7): message_start,
 * per block start / deltas / stop (tool input as input_json_delta fragments, the first one empty),
 * message_delta with the stop reason and output tokens, message_stop with Bedrock's metrics.
 */
export function anthropicStreamEvents(reply: ResolvedReply, latencyMs: number): Record<string, unknown>[] {
  const usage = anthropicUsage(reply)
  const events: Record<string, unknown>[] = [
    {
      type: 'message_start',
      message: {
        id: messageId(),
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        usage: { ...usage, output_tokens: 1 },
      },
    },
  ]
  let index = 0
  if (reply.text !== undefined && reply.text.length > 0) {
    events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
    for (const text of pieces(reply.text)) {
      events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } })
    }
    events.push({ type: 'content_block_stop', index })
    index++
  }
  for (const tool of reply.toolUses) {
    events.push({
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: tool.toolUseId, name: tool.name, input: {} },
    })
    const json = JSON.stringify(tool.input)
    const fragments = ['']
    for (let i = 0; i < json.length; i += 7) fragments.push(json.slice(i, i + 7))
    for (const partial_json of fragments) {
      events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } })
    }
    events.push({ type: 'content_block_stop', index })
    index++
  }
  events.push({
    type: 'message_delta',
    delta: { stop_reason: reply.stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  })
  events.push({
    type: 'message_stop',
    'amazon-bedrock-invocationMetrics': {
      inputTokenCount: usage.input_tokens,
      outputTokenCount: usage.output_tokens,
      invocationLatency: latencyMs,
      firstByteLatency: Math.max(1, Math.floor(latencyMs / 2)),
    },
  })
  return events
}

/** Response headers Bedrock sets on InvokeModel (token counts, latency). */
export function invokeHeaders(reply: ResolvedReply, latencyMs: number): Record<string, string> {
  return {
    'x-amzn-bedrock-input-token-count': String(reply.usage.inputTokens),
    'x-amzn-bedrock-output-token-count': String(reply.usage.outputTokens),
    'x-amzn-bedrock-invocation-latency': String(latencyMs),
  }
}
