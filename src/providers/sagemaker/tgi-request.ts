import { badRequest } from '../../errors'
import type { ChatRequest } from '../../openai/chat-request'
import type { Deployment, LitellmParams } from '../types'
import { buildPrompt } from './prompt'

/**
 * OpenAI chat request → TGI / JumpStart text-generation body (protocols.md 3.5), as LiteLLM's
 * `SagemakerConfig`: `{"inputs": <prompt>, "parameters": {...}, "stream": <bool>}`.
 *
 * Parameter map: `max_completion_tokens`/`max_tokens` → `max_new_tokens`; `temperature` (0 → 0.01,
 * because TGI refuses 0, unless `aws_sagemaker_allow_zero_temp`); `top_p` (1 is dropped: TGI wants
 * it strictly below 1 and 1 means "no nucleus filtering" anyway); `stop` → list; `n` → `best_of`
 * with `do_sample` (LiteLLM's mapping); `seed`. TGI's own knobs (`top_k`, `repetition_penalty` …)
 * pass through from the request or `litellm_params`. `return_full_text` defaults to false so the
 * answer does not echo the prompt, `details` to true so the finish reason and exact token counts come
 * back. Request values win over the deployment's defaults.
 */

export interface TgiParameters {
  max_new_tokens?: number
  temperature?: number
  top_p?: number
  stop?: string[]
  best_of?: number
  do_sample?: boolean
  seed?: number
  return_full_text?: boolean
  [key: string]: unknown
}

export interface TgiRequest {
  inputs: string
  parameters: TgiParameters
  stream: boolean
}

/** TGI `parameters` members that are not OpenAI parameters: forwarded as given. */
const TGI_PASSTHROUGH = [
  'top_k',
  'repetition_penalty',
  'do_sample',
  'typical_p',
  'truncate',
  'watermark',
  'details',
  'decoder_input_details',
  'return_full_text',
  'top_n_tokens',
] as const

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

function stopList(stop: unknown): string[] | undefined {
  const list = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : []
  const kept = list.filter((s): s is string => typeof s === 'string' && s !== '')
  return kept.length > 0 ? kept : undefined
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null

/**
 * OpenAI parameters a text-generation container cannot honour. LiteLLM's
 * `SagemakerConfig.get_supported_openai_params` lists only stream, temperature, max_tokens,
 * max_completion_tokens, top_p, stop and n, so the rest raise UnsupportedParamsError (400) unless
 * `drop_params`. `seed` is mapped (TGI has it). Values that ask for nothing (`tool_choice: none`,
 * `logprobs: false`, `response_format: text`, an empty tool list) do not count.
 */
export function unsupportedTgiParams(req: ChatRequest): string[] {
  const found: string[] = []
  if (Array.isArray(req.tools) && req.tools.length > 0) found.push('tools')
  if (isSet(req.tool_choice) && req.tool_choice !== 'none' && req.tool_choice !== 'auto')
    found.push('tool_choice')
  for (const name of ['functions', 'function_call', 'presence_penalty', 'frequency_penalty', 'logit_bias']) {
    if (isSet(req[name])) found.push(name)
  }
  const format = req.response_format
  const textFormat =
    typeof format === 'object' && format !== null && 'type' in format && format.type === 'text'
  if (isSet(format) && !textFormat) found.push('response_format')
  if (req.logprobs === true) found.push('logprobs')
  if (isSet(req.top_logprobs)) found.push('top_logprobs')
  return found
}

function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True'
}

export function tgiParameters(req: ChatRequest, params: LitellmParams): TgiParameters {
  const passthrough: Record<string, unknown> = {}
  for (const key of TGI_PASSTHROUGH) {
    const value = req[key] ?? params[key]
    if (isSet(value)) passthrough[key] = value
  }
  const out: TgiParameters = passthrough
  const maxTokens =
    num(req.max_completion_tokens) ??
    num(req.max_tokens) ??
    num(params.max_completion_tokens) ??
    num(params.max_tokens) ??
    num(params.max_new_tokens)
  // TGI refuses 0 ("must be strictly positive"); LiteLLM sends 1 instead.
  if (maxTokens !== undefined) out.max_new_tokens = Math.max(1, Math.floor(maxTokens))
  const temperature = num(req.temperature) ?? num(params.temperature)
  if (temperature !== undefined) {
    const allowZero = truthy(req.aws_sagemaker_allow_zero_temp ?? params.aws_sagemaker_allow_zero_temp)
    out.temperature = temperature === 0 && !allowZero ? 0.01 : temperature
  }
  const topP = num(req.top_p) ?? num(params.top_p)
  if (topP !== undefined && topP < 1) out.top_p = topP
  const stop = stopList(req.stop ?? params.stop)
  if (stop !== undefined) out.stop = stop
  const n = num(req.n) ?? num(params.n)
  if (n !== undefined && n > 1) {
    out.best_of = n
    out.do_sample = true
  }
  const seed = num(req.seed) ?? num(params.seed)
  if (seed !== undefined) out.seed = seed
  if (out.return_full_text === undefined) out.return_full_text = false
  // Without details TGI sends no finish reason (a cut-off answer would read as `stop`) and no token
  // counts (spend would be estimated). `details: false` in the request or litellm_params turns it off.
  if (out.details === undefined) out.details = true
  return out
}

export interface TgiRequestOptions {
  /** LiteLLM's `drop_params`: ignore unsupported OpenAI parameters instead of answering 400. */
  dropParams: boolean
  stream: boolean
}

export function toTgiRequest(
  req: ChatRequest,
  deployment: Deployment,
  options: TgiRequestOptions,
): TgiRequest {
  const unsupported = options.dropParams ? [] : unsupportedTgiParams(req)
  if (unsupported.length > 0) {
    // LiteLLM's wording, with the list in Python repr so clients matching on it keep working.
    const list = `[${unsupported.map((name) => `'${name}'`).join(', ')}]`
    throw badRequest(
      `litellm.UnsupportedParamsError: sagemaker does not support parameters: ${list}, for model=${deployment.providerModel}. ` +
        'To drop these, set litellm.drop_params=True (drop_params: true in litellm_settings, the deployment or the request). ' +
        'For tools, use a sagemaker_chat/ deployment on a Messages-API container.',
      unsupported[0] ?? null,
    )
  }
  return {
    inputs: buildPrompt(req.messages, deployment),
    parameters: tgiParameters(req, deployment.params),
    stream: options.stream,
  }
}
