import { z } from 'zod'
import type { EmbeddingRequest } from '../providers/types'
import { MAX_USER_CHARS } from './chat-request'
import { validate } from './validate'

/**
 * The OpenAI `/v1/embeddings` request, validated at the edge. `input` is a string, a list of
 * strings, a token array or a list of token arrays, as OpenAI documents it; members the gateway does
 * not read pass through (`.loose()`) for providers that take extras (Titan's `normalize`, Cohere's
 * `input_type` and `truncate`).
 */

/** OpenAI's limit on inputs per request; more is a 400 there too. */
export const MAX_EMBEDDING_INPUTS = 2048

const text = z.string().min(1, 'an input must not be an empty string')
const tokens = z.array(z.number().int().nonnegative()).min(1, 'a token array must not be empty')

const inputSchema = z.union([
  text,
  z
    .array(text)
    .min(1, 'input must not be an empty list')
    .max(MAX_EMBEDDING_INPUTS, `at most ${MAX_EMBEDDING_INPUTS} inputs per request`),
  tokens,
  z
    .array(tokens)
    .min(1, 'input must not be an empty list')
    .max(MAX_EMBEDDING_INPUTS, `at most ${MAX_EMBEDDING_INPUTS} inputs per request`),
])

export const embeddingRequestSchema = z
  .object({
    model: z.string().min(1),
    input: inputSchema,
    encoding_format: z.enum(['float', 'base64']).nullable().optional(),
    dimensions: z.number().int().positive().nullable().optional(),
    user: z
      .string()
      .max(MAX_USER_CHARS, `string too long: expected at most ${MAX_USER_CHARS} characters`)
      .optional(),
    input_type: z.string().min(1).optional(),
    /** LiteLLM extras, read by the gateway. */
    mock_response: z.unknown().optional(),
    timeout: z.number().positive().optional(),
    drop_params: z.boolean().optional(),
  })
  .loose()

export type EmbeddingRequestBody = z.infer<typeof embeddingRequestSchema>

/** One token array, or a list of them, as a list; one string, or a list of them, as a list. */
function inputList(input: EmbeddingRequestBody['input']): string[] | number[][] {
  if (typeof input === 'string') return [input]
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]]
  return input as string[] | number[][]
}

/**
 * Validates a parsed body into an EmbeddingRequest. `pathModel` is the `{model}` of LiteLLM's
 * Azure-style routes (`/openai/deployments/{model}/embeddings`, `/engines/{model}/embeddings`), which
 * wins over the body's `model` as in LiteLLM's proxy (and lets the body omit it).
 */
export function parseEmbeddingRequest(body: unknown, pathModel?: string): EmbeddingRequest {
  const withModel =
    pathModel !== undefined && typeof body === 'object' && body !== null && !Array.isArray(body)
      ? { ...body, model: pathModel }
      : body
  const parsed = validate(embeddingRequestSchema, withModel)
  const { encoding_format, dimensions, ...rest } = parsed
  const request: EmbeddingRequest = { ...rest, input: inputList(parsed.input) }
  if (encoding_format !== null && encoding_format !== undefined) request.encoding_format = encoding_format
  if (dimensions !== null && dimensions !== undefined) request.dimensions = dimensions
  return request
}

/** Characters of input, for token estimates; a token of a token array counts as 4 (one estimated token). */
export function inputChars(input: EmbeddingRequest['input']): number {
  let chars = 0
  for (const item of input) chars += typeof item === 'string' ? item.length : item.length * 4
  return chars
}
