import { badRequest, GatewayError } from '../../errors'
import type { ChatRequest, Tool, ToolChoice } from '../../openai/chat-request'
import type { Deployment } from '../types'
import { JSON_TOOL_NAME, jsonModeOf, jsonTool, knownResponseFormat } from './converse-json-mode'
import { toConversation } from './converse-messages'
import { modelTraits } from './converse-model-traits'
import { operatorField } from './converse-passthrough'
import { reasoningFor, THINKING_MAX_TOKENS_HEADROOM } from './converse-reasoning'
import { inferenceConfig } from './converse-request'
import type { ConverseMessage } from './converse-types'
import type {
  AnthropicContentBlock,
  AnthropicImageMediaType,
  AnthropicInvokeRequest,
  AnthropicMessage,
  AnthropicSystemBlock,
  AnthropicTool,
  AnthropicToolChoice,
  CacheControl,
} from './invoke-types'
import { bedrockBaseModel, foundationModel } from './model-id'
import { unsupportedParamsError } from './unsupported-params'

/**
 * OpenAI chat request → Anthropic Messages body for Bedrock InvokeModel, as LiteLLM's
 * `AmazonAnthropicClaudeConfig` (AnthropicConfig's mapping, `anthropic_version` added, `model` and
 * `stream` left out because the URL carries them).
 *
 * The conversation is shaped by the Converse mapping (`toConversation`): system messages lifted out,
 * consecutive same-role turns merged, tool results as user turns, the same placeholders and the same
 * 400s. Converse blocks correspond one to one to Anthropic blocks, so both routes send the same
 * conversation and only the spelling differs.
 */

/** Bedrock's version string for the Messages API; the only value it accepts. */
export const ANTHROPIC_BEDROCK_VERSION = 'bedrock-2023-05-31'

/**
 * Anthropic requires `max_tokens`; Converse leaves it to the model, Invoke cannot. LiteLLM sends its
 * `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS` (4096) when neither the request nor the deployment sets one.
 */
export const DEFAULT_INVOKE_MAX_TOKENS = 4096

const MEDIA_TYPES: Record<string, AnthropicImageMediaType> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** Converse `cachePoint` → Anthropic `cache_control` (Bedrock's `ttl` has the same values). */
function cacheControl(point: unknown): CacheControl {
  const ttl = isRecord(point) ? str(point.ttl) : undefined
  return ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl }
}

/** Converse `reasoningContent` (an earlier turn's thinking, signature and all) → Anthropic's block. */
function thinkingBlock(reasoning: unknown): AnthropicContentBlock | undefined {
  if (!isRecord(reasoning)) return undefined
  const redacted = str(reasoning.redactedContent)
  if (redacted !== undefined) return { type: 'redacted_thinking', data: redacted }
  const text = isRecord(reasoning.reasoningText) ? reasoning.reasoningText : undefined
  const thinking = str(text?.text)
  if (thinking === undefined) return undefined
  const signature = str(text?.signature)
  return signature === undefined ? { type: 'thinking', thinking } : { type: 'thinking', thinking, signature }
}

/** One Converse block in Anthropic's spelling. Kinds Anthropic has no form for are refused, not dropped. */
function anthropicBlock(block: ConverseMessage['content'][number], param: string): AnthropicContentBlock {
  if ('text' in block && typeof block.text === 'string') return { type: 'text', text: block.text }
  if ('image' in block) {
    const mediaType = MEDIA_TYPES[block.image.format]
    if (mediaType !== undefined) {
      return {
        type: 'image',
        source: { type: 'base64', media_type: mediaType, data: block.image.source.bytes },
      }
    }
  }
  if ('toolUse' in block) {
    return {
      type: 'tool_use',
      id: block.toolUse.toolUseId,
      name: block.toolUse.name,
      input: block.toolUse.input,
    }
  }
  if ('toolResult' in block) {
    const text = block.toolResult.content.map((part) => ('text' in part ? part.text : '')).join('')
    return {
      type: 'tool_result',
      tool_use_id: block.toolResult.toolUseId,
      content: text,
      ...(block.toolResult.status === 'error' ? { is_error: true } : {}),
    }
  }
  const thinking = 'reasoningContent' in block ? thinkingBlock(block.reasoningContent) : undefined
  if (thinking) return thinking
  throw badRequest(
    'This content is not supported on the Bedrock Invoke route; use bedrock/<model id> (Converse).',
    param,
  )
}

/**
 * Blocks in order, with a Converse cache point (should the conversation carry one) turned into
 * `cache_control` on the block before it, which is where Anthropic expects the breakpoint.
 */
function anthropicBlocks(
  blocks: readonly ConverseMessage['content'][number][],
  param: string,
): AnthropicContentBlock[] {
  const out: AnthropicContentBlock[] = []
  for (const block of blocks) {
    if ('cachePoint' in block) {
      const last = out[out.length - 1]
      if (last) last.cache_control = cacheControl(block.cachePoint)
      continue
    }
    out.push(anthropicBlock(block, param))
  }
  return out
}

export function anthropicMessages(turns: ConverseMessage[]): AnthropicMessage[] {
  return turns.map((turn, i) => ({
    role: turn.role,
    content: anthropicBlocks(turn.content, `messages[${i}]`),
  }))
}

/** The Converse system blocks (texts and cache points) as Anthropic system blocks. */
export function anthropicSystem(system: readonly object[]): AnthropicSystemBlock[] {
  const out: AnthropicSystemBlock[] = []
  for (const block of system) {
    if ('cachePoint' in block) {
      const last = out[out.length - 1]
      if (last) last.cache_control = cacheControl(block.cachePoint)
    } else if ('text' in block && typeof block.text === 'string') {
      out.push({ type: 'text', text: block.text })
    }
  }
  return out
}

export function anthropicTools(tools: Tool[] | null | undefined): AnthropicTool[] | undefined {
  if (!tools || tools.length === 0) return undefined
  return tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description ? { description: tool.function.description } : {}),
    input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
    // LiteLLM's Anthropic mapping reads a cache breakpoint from the OpenAI tool object itself.
    ...(isRecord(tool.cache_control) ? { cache_control: cacheControl(tool.cache_control) } : {}),
  }))
}

/** LiteLLM's AnthropicConfig mapping; Anthropic has `none` (unlike Converse). */
export function anthropicToolChoice(choice: ToolChoice | null | undefined): AnthropicToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined
  if (choice === 'auto') return { type: 'auto' }
  if (choice === 'required') return { type: 'any' }
  if (choice === 'none') return { type: 'none' }
  return { type: 'tool', name: choice.function.name }
}

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

/**
 * OpenAI parameters Anthropic on Bedrock cannot honour (not in `AmazonAnthropicClaudeConfig`'s
 * supported list): 400 UnsupportedParamsError unless `drop_params`, as for Converse. A parameter
 * counts only when it asks for something (`n: 1`, `logprobs: false` and a text response_format do not).
 * Claude takes tools, so JSON response formats are emulated rather than refused.
 */
function unsupportedParams(req: ChatRequest): string[] {
  const set = (name: string): boolean => req[name] !== undefined && req[name] !== null
  const found: string[] = []
  if (typeof req.n === 'number' && req.n > 1) found.push('n')
  // json_object / json_schema are emulated with a forced tool (as on Converse); other types are not.
  if (!knownResponseFormat(req)) found.push('response_format')
  for (const name of ['seed', 'presence_penalty', 'frequency_penalty', 'logit_bias']) {
    if (set(name)) found.push(name)
  }
  if (req.logprobs === true) found.push('logprobs')
  if (set('top_logprobs')) found.push('top_logprobs')
  return found
}

/**
 * The Invoke route speaks each model family's native body; this gateway has Anthropic's. The family
 * is read from `model` (a model id, profile id or foundation-model/profile ARN), which still names
 * the base model when `model_id` points at a provisioned or application-profile ARN.
 */
export function anthropicInvokeModel(deployment: Deployment): string {
  const model = bedrockBaseModel(deployment)
  if (foundationModel(model).startsWith('anthropic.')) return model
  throw new GatewayError({
    status: 400,
    message:
      `Bedrock Invoke (model=${deployment.params.model}) is supported for Anthropic Claude models only; ` +
      'use bedrock/<model id> (Converse) for other models. For an ARN without the model id, write ' +
      'bedrock/invoke/anthropic.<model id> and set the ARN as model_id.',
    origin: 'gateway',
    retryable: false,
  })
}

export interface InvokeRequestOptions {
  dropParams: boolean
}

/**
 * Claude rejects a forced tool choice while extended thinking is on; LiteLLM then asks for `auto`,
 * as the Converse mapping does.
 */
function toolChoiceWithThinking(
  choice: AnthropicToolChoice | undefined,
  thinking: boolean,
): AnthropicToolChoice | undefined {
  return thinking && (choice?.type === 'any' || choice?.type === 'tool') ? { type: 'auto' } : choice
}

export function toAnthropicInvokeRequest(
  req: ChatRequest,
  deployment: Deployment,
  options: InvokeRequestOptions,
): AnthropicInvokeRequest {
  // The same reasoning mapping as Converse: `reasoning_effort` becomes a thinking budget, `thinking`
  // is clamped to Bedrock's minimum, and a model that cannot think refuses both (400, or dropped).
  const reasoning = reasoningFor(req, deployment.params, modelTraits(deployment).reasoning)
  const unsupported = options.dropParams ? [] : unsupportedParams(req)
  if (reasoning.unsupported !== undefined && !options.dropParams) unsupported.push(reasoning.unsupported)
  if (unsupported.length > 0) throw unsupportedParamsError(unsupported, deployment)
  const { system, turns } = toConversation(req.messages)
  const inference = inferenceConfig(req, deployment.params)
  // Claude requires max_tokens above the thinking budget; LiteLLM adds its default on top, as on Converse.
  const maxTokens =
    inference?.maxTokens ??
    (reasoning.budget !== undefined
      ? reasoning.budget + THINKING_MAX_TOKENS_HEADROOM
      : DEFAULT_INVOKE_MAX_TOKENS)
  const body: AnthropicInvokeRequest = {
    anthropic_version: ANTHROPIC_BEDROCK_VERSION,
    max_tokens: maxTokens,
    messages: anthropicMessages(turns),
  }
  const systemBlocks = anthropicSystem(system)
  if (systemBlocks.length > 0) body.system = systemBlocks
  if (inference?.temperature !== undefined) body.temperature = inference.temperature
  if (inference?.topP !== undefined) body.top_p = inference.topP
  const topK = num(req.top_k) ?? num(deployment.params.top_k)
  if (topK !== undefined) body.top_k = topK
  if (inference?.stopSequences !== undefined) body.stop_sequences = inference.stopSequences
  // response_format json_object / json_schema: the Converse route's schema tool (LiteLLM's
  // `json_tool_call`), after the caller's tools and forced unless thinking is on.
  const jsonMode = jsonModeOf(req)
  const tools = anthropicTools([...(req.tools ?? []), ...(jsonMode ? [jsonTool(jsonMode)] : [])])
  if (tools) {
    body.tools = tools
    const asked = anthropicToolChoice(req.tool_choice)
    const forced: AnthropicToolChoice | undefined =
      jsonMode && !reasoning.thinkingEnabled ? { type: 'tool', name: JSON_TOOL_NAME } : asked
    const choice = toolChoiceWithThinking(forced, reasoning.thinkingEnabled)
    if (choice) body.tool_choice = choice
  }
  if (isRecord(reasoning.fields.thinking)) body.thinking = reasoning.fields.thinking
  // Beta flags (which Bedrock reads from the body, not from an `anthropic-beta` header) switch on
  // premium features, so only where the deployment sets them, as on Converse (OPERATOR_ONLY_FIELDS).
  const beta = operatorField(req, deployment.params, 'anthropic_beta')
  if (Array.isArray(beta) && beta.every((flag) => typeof flag === 'string')) body.anthropic_beta = beta
  return body
}
