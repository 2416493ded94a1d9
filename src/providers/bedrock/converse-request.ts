import { badRequest } from '../../errors'
import type { ChatMessage, ChatRequest, ContentPart, Tool, ToolChoice } from '../../openai/chat-request'
import type { Deployment, LitellmParams } from '../types'
import type {
  ContentBlock,
  ConverseMessage,
  ConverseRequest,
  ImageFormat,
  InferenceConfig,
  ToolConfig,
} from './converse-types'
import { bedrockBaseModel } from './model-id'

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

function userBlocks(content: ChatMessage['content'], param: string): ContentBlock[] {
  if (content === null || content === undefined) return []
  if (typeof content === 'string') return isBlank(content) ? [] : [{ text: content }]
  return content.flatMap((part, j) => partBlocks(part, `${param}[${j}]`))
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

/** Text of a content value, for places that take plain text only (system prompts, tool results). */
function plainText(content: ChatMessage['content']): string {
  if (content === null || content === undefined) return ''
  if (typeof content === 'string') return content
  return content
    .map((part) => (part.type === 'text' && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('')
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

function assistantBlocks(message: Extract<ChatMessage, { role: 'assistant' }>, i: number): ContentBlock[] {
  // Assistant content is text (or a refusal, which Bedrock has no block for).
  const text = plainText(message.content ?? null)
  const blocks: ContentBlock[] = isBlank(text) ? [] : [{ text }]
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
  return blocks
}

function toolResultBlock(toolUseId: string, content: ChatMessage['content']): ContentBlock {
  const text = plainText(content)
  return { toolResult: { toolUseId, content: [{ text: isBlank(text) ? EMPTY_TOOL_RESULT : text }] } }
}

interface Conversation {
  system: Array<{ text: string }>
  turns: ConverseMessage[]
}

/** Bedrock requires strict user/assistant alternation: consecutive same-role messages become one turn. */
function append(turns: ConverseMessage[], role: Role, blocks: ContentBlock[]): void {
  if (blocks.length === 0) return
  const last = turns[turns.length - 1]
  if (last?.role === role) last.content.push(...blocks)
  else turns.push({ role, content: blocks })
}

export function toConversation(messages: ChatMessage[]): Conversation {
  const system: Array<{ text: string }> = []
  const turns: ConverseMessage[] = []
  messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = plainText(message.content)
        if (!isBlank(text)) system.push({ text })
        break
      }
      case 'user': {
        const blocks = userBlocks(message.content, `messages[${i}].content`)
        append(turns, 'user', blocks.length > 0 ? blocks : [{ text: USER_PLACEHOLDER }])
        break
      }
      case 'assistant':
        // An empty assistant message is dropped; its neighbours merge into one user turn.
        append(turns, 'assistant', assistantBlocks(message, i))
        break
      case 'tool':
        append(turns, 'user', [toolResultBlock(message.tool_call_id, message.content)])
        break
      case 'function':
        append(turns, 'user', [toolResultBlock(message.name, message.content)])
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

/**
 * Bedrock has no `none` tool choice, so `none` omits toolConfig – unless the history holds tool
 * blocks, which Bedrock rejects without a toolConfig; then the tools go without a choice (what
 * LiteLLM sends once `drop_params` drops `tool_choice`).
 */
export function toolConfig(
  tools: Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  turns: ConverseMessage[],
): ToolConfig | undefined {
  if (!tools || tools.length === 0) return undefined
  if (choice === 'none' && !usesTools(turns)) return undefined
  const specs = tools.map((tool) => ({
    toolSpec: {
      name: tool.function.name,
      // Bedrock rejects an empty description (min length 1).
      ...(tool.function.description ? { description: tool.function.description } : {}),
      inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
    },
  }))
  const mapped = choice ? toolChoice(choice) : undefined
  return mapped ? { tools: specs, toolChoice: mapped } : { tools: specs }
}

/**
 * OpenAI parameters Converse cannot honour. LiteLLM's `AmazonConverseConfig.get_supported_openai_params`
 * omits them, so `get_optional_params` raises UnsupportedParamsError (400) unless `drop_params`. A
 * parameter only counts when set (LiteLLM compares against `None` defaults); `n: 1`, `logprobs: false`
 * and `response_format: {type: 'text'}` ask for nothing Converse does not already do.
 */
function unsupportedParams(req: ChatRequest): string[] {
  const set = (name: string): boolean => req[name] !== undefined && req[name] !== null
  const responseFormat = req.response_format
  const textFormat =
    typeof responseFormat === 'object' &&
    responseFormat !== null &&
    'type' in responseFormat &&
    responseFormat.type === 'text'
  const found: string[] = []
  if (typeof req.n === 'number' && req.n > 1) found.push('n')
  // json_object/json_schema need LiteLLM's forced-tool emulation, which is not implemented yet.
  if (set('response_format') && !textFormat) found.push('response_format')
  for (const name of ['seed', 'presence_penalty', 'frequency_penalty', 'logit_bias']) {
    if (set(name)) found.push(name)
  }
  if (req.logprobs === true) found.push('logprobs')
  if (set('top_logprobs')) found.push('top_logprobs')
  return found
}

export interface ConverseRequestOptions {
  /** LiteLLM's `drop_params`: ignore unsupported OpenAI parameters instead of answering 400. */
  dropParams: boolean
}

export function toConverseRequest(
  req: ChatRequest,
  deployment: Deployment,
  options: ConverseRequestOptions,
): ConverseRequest {
  const unsupported = options.dropParams ? [] : unsupportedParams(req)
  if (unsupported.length > 0) {
    // LiteLLM's wording, with the list in Python repr so clients matching on it keep working.
    const list = `[${unsupported.map((name) => `'${name}'`).join(', ')}]`
    throw badRequest(
      `litellm.UnsupportedParamsError: bedrock does not support parameters: ${list}, for model=${bedrockBaseModel(deployment)}. ` +
        'To drop these, set litellm.drop_params=True (drop_params: true in litellm_settings, the deployment or the request).',
      unsupported[0] ?? null,
    )
  }
  const { system, turns } = toConversation(req.messages)
  const body: ConverseRequest = { messages: turns }
  if (system.length > 0) body.system = system
  const inference = inferenceConfig(req, deployment.params)
  if (inference) body.inferenceConfig = inference
  const tools = toolConfig(req.tools, req.tool_choice, turns)
  if (tools) body.toolConfig = tools
  // Converse has no topK; Anthropic and others read it from the model-specific fields.
  const topK = num(req.top_k) ?? num(deployment.params.top_k)
  if (topK !== undefined) body.additionalModelRequestFields = { top_k: topK }
  return body
}
