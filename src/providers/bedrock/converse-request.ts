import { badRequest } from '../../errors'
import type { Logger } from '../../observability/logger'
import type { ChatMessage, ChatRequest, ContentPart, Tool, ToolChoice } from '../../openai/chat-request'
import type { Deployment, LitellmParams } from '../types'
import { appendCachePoint, cachePointFor } from './converse-cache-points'
import {
  JSON_TOOL_NAME,
  type JsonMode,
  jsonModeOf,
  jsonTool,
  knownResponseFormat,
} from './converse-json-mode'
import { type ModelTraits, modelTraits } from './converse-model-traits'
import { converseBlocks, providerSpecificFields } from './converse-passthrough'
import { type Reasoning, reasoningFor, THINKING_MAX_TOKENS_HEADROOM } from './converse-reasoning'
import type {
  ContentBlock,
  ConverseMessage,
  ConverseRequest,
  ImageFormat,
  InferenceConfig,
  SystemBlock,
  ToolConfig,
} from './converse-types'
import { unsupportedParamsError } from './unsupported-params'

/**
 * OpenAI chat request → Bedrock Converse body, following LiteLLM's `AmazonConverseConfig` and
 * `_bedrock_converse_messages_pt` without `modify_params` (we reject what we would have to invent).
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

interface Conversation<System> {
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

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

function stopSequences(stop: unknown): string[] | undefined {
  const list = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : []
  const kept = list.filter((s): s is string => typeof s === 'string' && s !== '')
  return kept.length > 0 ? kept : undefined
}

/** Request values win over the deployment's `litellm_params` defaults. */
export function inferenceConfig(req: ChatRequest, params: LitellmParams): InferenceConfig | undefined {
  const config: InferenceConfig = {}
  const maxTokens =
    num(req.max_completion_tokens) ??
    num(req.max_tokens) ??
    num(params.max_completion_tokens) ??
    num(params.max_tokens)
  if (maxTokens !== undefined) config.maxTokens = maxTokens
  const temperature = num(req.temperature) ?? num(params.temperature)
  if (temperature !== undefined) config.temperature = temperature
  const topP = num(req.top_p) ?? num(params.top_p)
  if (topP !== undefined) config.topP = topP
  const stop = stopSequences(req.stop ?? params.stop)
  if (stop !== undefined) config.stopSequences = stop
  return Object.keys(config).length > 0 ? config : undefined
}

function toolChoice(choice: ToolChoice): ToolConfig['toolChoice'] {
  if (choice === 'auto') return { auto: {} }
  if (choice === 'required') return { any: {} }
  if (typeof choice === 'object') return { tool: { name: choice.function.name } }
  return undefined
}

const usesTools = (turns: ConverseMessage[]): boolean =>
  turns.some((turn) => turn.content.some((block) => 'toolUse' in block || 'toolResult' in block))

/** What the request mapping adds to the caller's tools. */
export interface ToolExtras {
  /** response_format's schema tool (JSON mode). */
  jsonMode?: JsonMode
  /** The JSON tool may be forced (the model takes a forced tool choice and thinking is off). */
  forceJsonTool?: boolean
  /** Extended thinking is on: Claude then rejects a forced tool choice, which becomes `auto` (LiteLLM does the same). */
  thinking?: boolean
  /** Cache points after tools marked with `cache_control` (Converse only). */
  cachePoints?: boolean
}

function toolSpecs(tools: Tool[], cachePoints: boolean): ToolConfig['tools'] {
  const specs: ToolConfig['tools'] = []
  for (const tool of tools) {
    specs.push({
      toolSpec: {
        name: tool.function.name,
        // Bedrock rejects an empty description (min length 1).
        ...(tool.function.description ? { description: tool.function.description } : {}),
        inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
      },
    })
    if (cachePoints) appendCachePoint(specs, cachePointFor(tool, false))
  }
  return specs
}

/**
 * Bedrock has no `none` tool choice, so `none` omits the caller's tools – unless the history holds
 * tool blocks, which Bedrock rejects without a toolConfig; then the tools go without a choice (what
 * LiteLLM sends once `drop_params` drops `tool_choice`). JSON mode adds its tool after the caller's
 * and forces it when it may.
 */
export function toolConfig(
  tools: Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  turns: ConverseMessage[],
  extras: ToolExtras = {},
): ToolConfig | undefined {
  const keepsCallerTools = choice !== 'none' || usesTools(turns)
  const all = [...(keepsCallerTools ? (tools ?? []) : [])]
  if (extras.jsonMode) all.push(jsonTool(extras.jsonMode))
  if (all.length === 0) return undefined
  let mapped = choice ? toolChoice(choice) : undefined
  if (extras.jsonMode && extras.forceJsonTool && !extras.thinking) mapped = { tool: { name: JSON_TOOL_NAME } }
  if (extras.thinking && mapped !== undefined && !('auto' in mapped)) mapped = { auto: {} }
  const specs = toolSpecs(all, extras.cachePoints === true)
  return mapped ? { tools: specs, toolChoice: mapped } : { tools: specs }
}

/**
 * OpenAI parameters Converse cannot honour. LiteLLM's `AmazonConverseConfig.get_supported_openai_params`
 * omits them, so `get_optional_params` raises UnsupportedParamsError (400) unless `drop_params`. A
 * parameter only counts when set (LiteLLM compares against `None` defaults); `n: 1`, `logprobs: false`
 * and `response_format: {type: 'text'}` ask for nothing Converse does not already do. JSON
 * response formats are emulated with a tool, so they count only for a model without tool use (other
 * types, such as vLLM's, always count); reasoning parameters count for a model that cannot reason.
 */
function unsupportedParams(req: ChatRequest, traits: ModelTraits, reasoning: Reasoning): string[] {
  const set = (name: string): boolean => req[name] !== undefined && req[name] !== null
  const found: string[] = []
  if (typeof req.n === 'number' && req.n > 1) found.push('n')
  if (!knownResponseFormat(req) || (!traits.tools && jsonModeOf(req) !== undefined))
    found.push('response_format')
  if (reasoning.unsupported !== undefined) found.push(reasoning.unsupported)
  for (const name of ['seed', 'presence_penalty', 'frequency_penalty', 'logit_bias']) {
    if (set(name)) found.push(name)
  }
  if (req.logprobs === true) found.push('logprobs')
  if (set('top_logprobs')) found.push('top_logprobs')
  return found
}

/**
 * `top_k` goes where the model family reads it (LiteLLM's `_handle_top_k_value`): Nova takes it as
 * `inferenceConfig.topK` inside the model-specific fields, Anthropic and the others as `top_k`.
 */
function topKField(topK: number, model: string | undefined): Record<string, unknown> {
  return model?.startsWith('amazon.nova') ? { inferenceConfig: { topK } } : { top_k: topK }
}

/**
 * `additionalModelRequestFields`: unknown request members (LiteLLM forwards them as model-specific
 * parameters), then `top_k` and the reasoning fields, which win.
 */
function additionalFields(
  req: ChatRequest,
  params: LitellmParams,
  traits: ModelTraits,
  reasoning: Reasoning,
): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = { ...providerSpecificFields(req, params) }
  const topK = num(req.top_k) ?? num(params.top_k)
  if (topK !== undefined) Object.assign(fields, topKField(topK, traits.model))
  Object.assign(fields, reasoning.fields)
  return Object.keys(fields).length > 0 ? fields : undefined
}

export interface ConverseRequestOptions {
  /** LiteLLM's `drop_params`: ignore unsupported OpenAI parameters instead of answering 400. */
  dropParams: boolean
  /** Where request members the deployment overrides (its guardrail) are noted. */
  logger?: Pick<Logger, 'debug'>
}

export function toConverseRequest(
  req: ChatRequest,
  deployment: Deployment,
  options: ConverseRequestOptions,
): ConverseRequest {
  const traits = modelTraits(deployment)
  const asked = reasoningFor(req, deployment.params, traits.reasoning)
  const unsupported = options.dropParams ? [] : unsupportedParams(req, traits, asked)
  if (unsupported.length > 0) throw unsupportedParamsError(unsupported, deployment)
  // With drop_params an unsupported reasoning parameter is simply not sent (its fields are empty).
  const reasoning = asked
  const jsonMode = traits.tools ? jsonModeOf(req) : undefined
  const { system, turns } = toConverseConversation(req.messages, traits.cacheTtl)
  const body: ConverseRequest = { messages: turns }
  if (system.length > 0) body.system = system
  let inference = inferenceConfig(req, deployment.params)
  if (reasoning.budget !== undefined && inference?.maxTokens === undefined) {
    // Claude requires max_tokens above the thinking budget; LiteLLM adds its default on top.
    inference = { ...inference, maxTokens: reasoning.budget + THINKING_MAX_TOKENS_HEADROOM }
  }
  if (inference) body.inferenceConfig = inference
  const tools = toolConfig(req.tools, req.tool_choice, turns, {
    jsonMode,
    forceJsonTool: traits.forcedToolChoice,
    thinking: reasoning.thinkingEnabled,
    cachePoints: true,
  })
  if (tools) body.toolConfig = tools
  const additional = additionalFields(req, deployment.params, traits, reasoning)
  if (additional) body.additionalModelRequestFields = additional
  Object.assign(body, converseBlocks(req, deployment.params, options.logger))
  return body
}
