import { GatewayError } from '../../errors'
import type { EmbeddingRequest, LitellmParams } from '../types'

/**
 * Amazon Titan Text Embeddings on InvokeModel, one input per call (LiteLLM's `AmazonTitanG1Config`
 * and `AmazonTitanV2Config`). v1: `{"inputText"}` → `{"embedding", "inputTextTokenCount"}`.
 * v2 adds `dimensions` (256, 512 or 1024; Bedrock validates) and `normalize` (default true).
 *
 * Unlike LiteLLM, `encoding_format: "base64"` does not ask Titan for `binary` embeddings: OpenAI's
 * base64 is the float vector's bytes, which the gateway encodes itself (the OpenAI SDKs ask for
 * base64 by default and decode it as float32, so binary vectors would come out as garbage).
 */

export interface TitanEmbeddingRequest {
  inputText: string
  dimensions?: number
  normalize?: boolean
}

const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined

/** The v2 options, the request's over the deployment's `litellm_params` defaults. */
export function titanOptions(
  request: EmbeddingRequest,
  params: LitellmParams,
): Omit<TitanEmbeddingRequest, 'inputText'> {
  const options: Omit<TitanEmbeddingRequest, 'inputText'> = {}
  const dimensions = positiveInt(request.dimensions) ?? positiveInt(params.dimensions)
  if (dimensions !== undefined) options.dimensions = dimensions
  const normalize = typeof request.normalize === 'boolean' ? request.normalize : params.normalize
  if (typeof normalize === 'boolean') options.normalize = normalize
  return options
}

export interface EmbeddingPiece {
  vectors: number[][]
  /** Input tokens the upstream counted; undefined when it said nothing. */
  tokens: number | undefined
}

const upstreamFault = (detail: string): GatewayError =>
  new GatewayError({
    status: 502,
    message: `litellm.BadGatewayError: BedrockException - ${detail}`,
    origin: 'upstream',
  })

export const isVector = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((n) => typeof n === 'number' && Number.isFinite(n))

/** A Titan answer: `embeddingsByType.float` (v2) or `embedding`, and `inputTextTokenCount`. */
export function titanPiece(response: unknown): EmbeddingPiece {
  const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {}
  const byType = body.embeddingsByType
  const float =
    typeof byType === 'object' && byType !== null ? (byType as Record<string, unknown>).float : undefined
  const vector = isVector(float) ? float : body.embedding
  if (!isVector(vector)) throw upstreamFault('the Titan embedding response has no embedding.')
  const count = body.inputTextTokenCount
  return {
    vectors: [vector],
    tokens: typeof count === 'number' && Number.isFinite(count) && count >= 0 ? count : undefined,
  }
}
