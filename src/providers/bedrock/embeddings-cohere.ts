import { GatewayError } from '../../errors'
import type { EmbeddingRequest, LitellmParams } from '../types'
import { type EmbeddingPiece, isVector } from './embeddings-titan'

/**
 * Cohere Embed on InvokeModel (LiteLLM's `BedrockCohereEmbeddingConfig`): `{"texts", "input_type",
 * "truncate"?}` → `{"embeddings": [[…]], "id", "response_type": "embeddings_floats", "texts"}`.
 * Embed v4 also takes `output_dimension` and may answer `{"embeddings": {"float": [[…]]}}`.
 */

/** Cohere's limit on texts per call; longer lists are split into several calls. */
export const COHERE_MAX_TEXTS = 96

/** LiteLLM's default: vectors for storing in a search index (Cohere v3+ requires an input_type). */
export const DEFAULT_INPUT_TYPE = 'search_document'

export interface CohereEmbeddingRequest {
  texts: string[]
  input_type: string
  truncate?: string
  output_dimension?: number
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined

/** The options besides the texts, the request's over the deployment's `litellm_params` defaults. */
export function cohereOptions(
  request: EmbeddingRequest,
  params: LitellmParams,
  version: 3 | 4,
): Omit<CohereEmbeddingRequest, 'texts'> {
  const options: Omit<CohereEmbeddingRequest, 'texts'> = {
    input_type: text(request.input_type) ?? text(params.input_type) ?? DEFAULT_INPUT_TYPE,
  }
  // NONE, START or END; Bedrock validates the value.
  const truncate = text(request.truncate) ?? text(params.truncate)
  if (truncate !== undefined) options.truncate = truncate
  const dimensions = positiveInt(request.dimensions) ?? positiveInt(params.dimensions)
  if (version === 4 && dimensions !== undefined) options.output_dimension = dimensions
  return options
}

/** The texts in calls of at most COHERE_MAX_TEXTS, in order. */
export function cohereBatches(texts: readonly string[]): string[][] {
  const batches: string[][] = []
  for (let i = 0; i < texts.length; i += COHERE_MAX_TEXTS) batches.push(texts.slice(i, i + COHERE_MAX_TEXTS))
  return batches
}

/** A Cohere answer; Bedrock returns no token count in the body (the caller reads the header). */
export function coherePiece(response: unknown, expected: number): EmbeddingPiece {
  const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {}
  const raw = body.embeddings
  const list = Array.isArray(raw)
    ? raw
    : typeof raw === 'object' && raw !== null
      ? (raw as Record<string, unknown>).float
      : undefined
  if (!Array.isArray(list) || list.length !== expected || !list.every(isVector)) {
    throw new GatewayError({
      status: 502,
      message: `litellm.BadGatewayError: BedrockException - the Cohere embedding response does not hold ${expected} float embeddings.`,
      origin: 'upstream',
    })
  }
  return { vectors: list, tokens: undefined }
}
