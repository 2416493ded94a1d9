import { inputChars } from '../../openai/embeddings-request'
import { tokensForChars } from '../../spend/usage-estimate'
import type { Deployment, EmbeddingOutput, EmbeddingRequest } from '../types'
import { droppedByDeployment, refuseClientCredentials } from './chat-body'
import { badUpstreamAnswer, type ErrorContext } from './errors'
import { isGatewayOnlyField } from './gateway-fields'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** `litellm_params` sent as embedding defaults (the request wins). */
const EMBEDDING_DEFAULT_PARAMS = ['dimensions', 'user'] as const

/**
 * Request members of other providers' embedding APIs that OpenAI-compatible servers refuse as unknown
 * parameters: Cohere's `input_type` (which a client of a group mixing Bedrock Cohere and OpenAI
 * deployments sends to all of them). A server that does take it gets it through `extra_body`.
 */
const OTHER_PROVIDERS_FIELDS: ReadonlySet<string> = new Set(['input_type'])

/**
 * The `/embeddings` body for the upstream, built like the chat body: the deployment's defaults and
 * `extra_body`, then the request's members (its `extra_body` merged in, as the OpenAI SDK does, never
 * sent as a member of its own), gateway-only fields stripped, `additional_drop_params` honoured.
 * Vectors are always requested as floats: the HTTP layer owns the client's `encoding_format` (it
 * base64-encodes floats when asked), and a float answer is what every OpenAI-compatible server supports.
 */
export function toUpstreamEmbeddingBody(request: EmbeddingRequest, deployment: Deployment): Json {
  refuseClientCredentials(request)
  const body: Json = {}
  for (const name of EMBEDDING_DEFAULT_PARAMS) {
    const value = deployment.params[name]
    if (value !== undefined && value !== null) body[name] = value
  }
  const configuredExtra = deployment.params.extra_body
  if (isObject(configuredExtra)) Object.assign(body, configuredExtra)
  let requestExtra: Json = {}
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined || isGatewayOnlyField(name) || OTHER_PROVIDERS_FIELDS.has(name)) continue
    if (name === 'extra_body') {
      if (isObject(value)) requestExtra = value
    } else body[name] = value
  }
  Object.assign(body, requestExtra)
  // extra_body may not smuggle what the request itself may not carry.
  refuseClientCredentials(body)
  for (const name of Object.keys(body)) if (isGatewayOnlyField(name)) delete body[name]
  for (const name of droppedByDeployment(deployment)) delete body[name]
  body.model = deployment.providerModel
  body.encoding_format = 'float'
  return body
}

/** A base64 embedding (little-endian float32, OpenAI's format) for servers that ignore `float`. */
function decodeBase64Floats(text: string): number[] {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  const view = new DataView(bytes.buffer)
  const out: number[] = []
  for (let offset = 0; offset + 4 <= bytes.byteLength; offset += 4) out.push(view.getFloat32(offset, true))
  return out
}

function vectorOf(value: unknown, context: ErrorContext): number[] {
  if (Array.isArray(value) && value.every((n) => typeof n === 'number')) return value as number[]
  if (typeof value === 'string') {
    try {
      return decodeBase64Floats(value)
    } catch {
      // Not base64 either: reported below.
    }
  }
  throw badUpstreamAnswer('an embedding is neither a list of numbers nor base64.', context)
}

/** `{"data":[{"index","embedding"}…],"usage","model"}` → vectors in input order. */
export function toEmbeddingOutput(
  json: unknown,
  input: EmbeddingRequest['input'],
  context: ErrorContext,
): EmbeddingOutput {
  const inputs = input.length
  if (!isObject(json) || !Array.isArray(json.data)) {
    throw badUpstreamAnswer('the embeddings response has no data list.', context)
  }
  const vectors: number[][] = new Array(inputs)
  json.data.forEach((item, position) => {
    if (!isObject(item)) return
    const index = typeof item.index === 'number' ? item.index : position
    if (index >= 0 && index < inputs) vectors[index] = vectorOf(item.embedding, context)
  })
  for (let i = 0; i < inputs; i++) {
    if (vectors[i] === undefined) throw badUpstreamAnswer(`no embedding for input ${i}.`, context)
  }
  const usage = isObject(json.usage) ? json.usage : {}
  const count = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined
  const reported = count(usage.prompt_tokens)
  // Some servers send no usage; spend then bills an estimate from the input, marked as such.
  const prompt = reported ?? Math.max(1, tokensForChars(inputChars(input)))
  const output: EmbeddingOutput = {
    vectors,
    usage: { prompt_tokens: prompt, total_tokens: count(usage.total_tokens) ?? prompt },
  }
  if (reported === undefined) output.usageEstimated = true
  if (typeof json.model === 'string' && json.model !== '') output.model = json.model
  return output
}
