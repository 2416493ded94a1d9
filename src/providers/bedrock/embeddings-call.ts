import { badRequest } from '../../errors'
import { tokensForChars } from '../../spend/usage-estimate'
import { withPartialUsage } from '../partial-usage'
import type { EmbeddingOutput, EmbeddingRequest, ProviderCall } from '../types'
import { cohereBatches, cohereOptions, coherePiece } from './embeddings-cohere'
import { type EmbeddingFamily, embeddingFamily } from './embeddings-family'
import { type EmbeddingPiece, titanOptions, titanPiece } from './embeddings-titan'
import { bedrockModelId } from './model-id'
import { postToBedrock, readBedrockJson } from './runtime-post'

/**
 * `/v1/embeddings` on Bedrock: InvokeModel per Titan input or per Cohere batch of 96, at most
 * MAX_PARALLEL_CALLS at a time (LiteLLM sends Titan inputs one after another; in parallel a list
 * costs about one call's latency, capped so one request cannot take a whole account's quota).
 * The first failure cancels the calls still running and is the answer.
 */
export const MAX_PARALLEL_CALLS = 8

/** Bedrock's count of input tokens on every InvokeModel answer (the body may carry none). */
const INPUT_TOKENS_HEADER = 'x-amzn-bedrock-input-token-count'

interface Unit {
  body: string
  texts: string[]
  parse: (json: unknown) => EmbeddingPiece
}

/** Bedrock's embedding models take text: token arrays are refused before any call. */
function texts(request: EmbeddingRequest): string[] {
  const list: string[] = []
  for (const item of request.input) {
    if (typeof item !== 'string') {
      throw badRequest('Bedrock embedding models take text input; token arrays are not supported.', 'input')
    }
    list.push(item)
  }
  return list
}

/**
 * OpenAI parameters a family cannot honour: 400 UnsupportedParamsError unless `drop_params`, as
 * LiteLLM's `get_optional_params_embeddings` does: Titan v1 and Cohere v3 have a fixed size.
 */
function checkParams(request: EmbeddingRequest, family: EmbeddingFamily, model: string, dropParams: boolean) {
  const takesDimensions = family.kind === 'titan' ? family.version === 2 : family.version === 4
  if (dropParams || request.dimensions === undefined || takesDimensions) return
  throw badRequest(
    `litellm.UnsupportedParamsError: bedrock does not support parameters: ['dimensions'], for model=${model}. ` +
      'To drop these, set litellm.drop_params=True (drop_params: true in litellm_settings, the deployment or the request).',
    'dimensions',
  )
}

function units(request: EmbeddingRequest, call: ProviderCall, family: EmbeddingFamily): Unit[] {
  const inputs = texts(request)
  const { params } = call.deployment
  if (family.kind === 'titan') {
    const options = family.version === 2 ? titanOptions(request, params) : {}
    return inputs.map((inputText) => ({
      body: JSON.stringify({ inputText, ...options }),
      texts: [inputText],
      parse: titanPiece,
    }))
  }
  const options = cohereOptions(request, params, family.version)
  return cohereBatches(inputs).map((batch) => ({
    body: JSON.stringify({ texts: batch, ...options }),
    texts: batch,
    parse: (json: unknown) => coherePiece(json, batch.length),
  }))
}

/** Runs `work` over `items` with at most `limit` running; the first failure aborts the rest and is thrown. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController()
  const onAbort = () => controller.abort(signal.reason)
  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  const results: R[] = new Array(items.length)
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await work(items[index] as T, controller.signal)
      } catch (error) {
        if (failure === undefined) {
          failure = { error }
          controller.abort()
        }
        return
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  if (failure !== undefined) throw failure.error
  return results
}

function headerTokens(response: Response): number | undefined {
  const value = response.headers.get(INPUT_TOKENS_HEADER)
  const count = value === null ? Number.NaN : Number(value)
  return Number.isInteger(count) && count >= 0 ? count : undefined
}

interface CountedPiece extends EmbeddingPiece {
  texts: string[]
}

/** Tokens of the pieces: Bedrock's counts, else ~4 characters a token (spend/usage-estimate.ts), flagged. */
function usageOf(pieces: readonly CountedPiece[]): { usage: EmbeddingOutput['usage']; estimated: boolean } {
  let promptTokens = 0
  let estimated = false
  for (const piece of pieces) {
    if (piece.tokens !== undefined) promptTokens += piece.tokens
    else {
      estimated = true
      promptTokens += Math.max(1, tokensForChars(piece.texts.reduce((n, t) => n + t.length, 0)))
    }
  }
  return { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens }, estimated }
}

export async function bedrockEmbed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingOutput> {
  // Route and family first, then the request: all before any credentials or I/O.
  const family = embeddingFamily(call.deployment)
  const modelId = bedrockModelId(call.deployment)
  checkParams(request, family, modelId, call.dropParams)
  const work = units(request, call, family)
  const succeeded: CountedPiece[] = []
  let pieces: CountedPiece[]
  try {
    pieces = await mapLimited(work, MAX_PARALLEL_CALLS, call.signal, async (unit, signal) => {
      const response = await postToBedrock({ ...call, signal }, modelId, 'invoke', unit.body)
      const piece = unit.parse(await readBedrockJson<unknown>(response, 'InvokeModel'))
      const counted = { ...piece, tokens: piece.tokens ?? headerTokens(response), texts: unit.texts }
      succeeded.push(counted)
      return counted
    })
  } catch (error) {
    // The calls that succeeded before one failed were billed: the spend hook records them.
    throw withPartialUsage(error, usageOf(succeeded).usage)
  }
  const { usage, estimated } = usageOf(pieces)
  return {
    vectors: pieces.flatMap((piece) => piece.vectors),
    usage,
    ...(estimated ? { usageEstimated: true } : {}),
    model: modelId,
  }
}
