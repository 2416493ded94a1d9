/**
 * Bedrock InvokeModel for the embedding models (Titan Text Embeddings v1 and v2, Cohere Embed v3 and
 * v4), for the fake Bedrock runtime: Bedrock-style validation, deterministic vectors derived from the
 * input text (`fakeEmbedding`), token counts in the body (Titan) and in Bedrock's
 * `X-Amzn-Bedrock-Input-Token-Count` header (every model).
 */
import { createHash } from 'node:crypto'

export type EmbeddingKind = 'titan-v1' | 'titan-v2' | 'cohere-v3' | 'cohere-v4'

/** The embedding family of a model id (bare, cross-region profile or ARN); undefined for other models. */
export function embeddingKind(modelId: string): EmbeddingKind | undefined {
  const id = modelId.slice(modelId.lastIndexOf('/') + 1).replace(/^(us|eu|apac|global)\./, '')
  if (id === 'amazon.titan-embed-text-v1' || id.startsWith('amazon.titan-embed-g1-text')) return 'titan-v1'
  if (id.startsWith('amazon.titan-embed-text-v2')) return 'titan-v2'
  if (id.startsWith('cohere.embed-')) return id.includes('-v3') ? 'cohere-v3' : 'cohere-v4'
  return undefined
}

export const TITAN_V1_DIMENSIONS = 1536
export const TITAN_V2_DIMENSIONS = [256, 512, 1024]
export const COHERE_DIMENSIONS = 1024

/**
 * A deterministic vector for `text`: SHA-256 in counter mode, two bytes per component mapped to
 * [-1, 1), optionally scaled to unit length. Every component is a float32 value, so what a gateway
 * sends back as base64 float32 decodes to exactly these numbers.
 */
export function fakeEmbedding(text: string, dimensions: number, normalize = false): number[] {
  const values: number[] = []
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest()
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) {
      values.push((digest.readUInt16BE(i) - 32768) / 32768)
    }
  }
  const norm = normalize ? Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) : 1
  return values.map((v) => Math.fround(v / norm))
}

export function countTokens(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length
}

const malformed = (detail: string) =>
  `Malformed input request: ${detail}, please reformat your input and try again.`

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export interface EmbeddingAnswer {
  body: Record<string, unknown>
  inputTokens: number
}

/** The answer to one embedding InvokeModel call, or a ValidationException message. */
export function embeddingAnswer(kind: EmbeddingKind, body: unknown): EmbeddingAnswer | { error: string } {
  if (!isObject(body)) return { error: malformed('#: expected type: JSONObject') }
  if (kind === 'titan-v1' || kind === 'titan-v2') {
    const extraneous = Object.keys(body).find(
      (key) =>
        ![
          'inputText',
          ...(kind === 'titan-v2' ? ['dimensions', 'normalize', 'embeddingTypes'] : []),
        ].includes(key),
    )
    if (extraneous !== undefined)
      return { error: malformed(`#: extraneous key [${extraneous}] is not permitted`) }
    const text = body.inputText
    if (typeof text !== 'string') return { error: malformed('#: required key [inputText] not found') }
    if (text.length === 0) return { error: malformed('#/inputText: expected minLength: 1, actual: 0') }
    const tokens = countTokens(text)
    if (kind === 'titan-v1') {
      return {
        body: { embedding: fakeEmbedding(text, TITAN_V1_DIMENSIONS), inputTextTokenCount: tokens },
        inputTokens: tokens,
      }
    }
    const dimensions = body.dimensions ?? 1024
    if (typeof dimensions !== 'number' || !TITAN_V2_DIMENSIONS.includes(dimensions)) {
      return { error: malformed(`#/dimensions: ${String(dimensions)} is not a valid enum value`) }
    }
    const vector = fakeEmbedding(text, dimensions, body.normalize !== false)
    return {
      body: { embedding: vector, embeddingsByType: { float: vector }, inputTextTokenCount: tokens },
      inputTokens: tokens,
    }
  }
  const texts = body.texts
  if (!Array.isArray(texts) || texts.length === 0)
    return { error: malformed('#: required key [texts] not found') }
  if (texts.length > 96)
    return { error: malformed(`#/texts: expected maxItems: 96, actual: ${texts.length}`) }
  if (!texts.every((t) => typeof t === 'string'))
    return { error: malformed('#/texts: expected type: String') }
  if (typeof body.input_type !== 'string')
    return { error: malformed('#: required key [input_type] not found') }
  const allowed = [
    'texts',
    'input_type',
    'truncate',
    'embedding_types',
    ...(kind === 'cohere-v4' ? ['output_dimension', 'max_tokens'] : []),
  ]
  const extraneous = Object.keys(body).find((key) => !allowed.includes(key))
  if (extraneous !== undefined)
    return { error: malformed(`#: extraneous key [${extraneous}] is not permitted`) }
  const dimensions = typeof body.output_dimension === 'number' ? body.output_dimension : COHERE_DIMENSIONS
  const embeddings = (texts as string[]).map((t) => fakeEmbedding(`${body.input_type}:${t}`, dimensions))
  const inputTokens = (texts as string[]).reduce((n, t) => n + countTokens(t), 0)
  return {
    body: {
      id: createHash('sha256').update(texts.join('\n')).digest('hex').slice(0, 36),
      texts,
      response_type: kind === 'cohere-v4' ? 'embeddings_by_type' : 'embeddings_floats',
      embeddings: kind === 'cohere-v4' ? { float: embeddings } : embeddings,
    },
    inputTokens,
  }
}
