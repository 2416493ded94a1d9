import type { EmbeddingOutput } from '../providers/types'

/** OpenAI's `/v1/embeddings` answer, as the official SDKs parse it. */
export interface EmbeddingResponse {
  object: 'list'
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>
  model: string
  /** OpenAI's two counts, plus LiteLLM's `completion_tokens: 0`. */
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

/** `String.fromCharCode(...bytes)` in slices: spreading a large array overflows the argument limit. */
const SLICE = 0x8000

/** Standard base64 of bytes with the web-standard `btoa` (no Buffer in src/). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += SLICE) {
    binary += String.fromCharCode(...bytes.subarray(i, i + SLICE))
  }
  return btoa(binary)
}

/**
 * OpenAI's `encoding_format: "base64"`: the vector as little-endian float32 bytes, base64-encoded.
 * The OpenAI SDKs ask for this by default and decode it into a Float32Array, so the byte order is
 * fixed here (DataView) rather than left to the platform.
 */
export function float32Base64(vector: readonly number[]): string {
  const view = new DataView(new ArrayBuffer(vector.length * 4))
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i] ?? 0, true)
  return bytesToBase64(new Uint8Array(view.buffer))
}

export function toEmbeddingResponse(
  output: EmbeddingOutput,
  model: string,
  encoding: 'float' | 'base64' = 'float',
): EmbeddingResponse {
  return {
    object: 'list',
    data: output.vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? float32Base64(vector) : vector,
    })),
    model,
    usage: {
      prompt_tokens: output.usage.prompt_tokens,
      completion_tokens: 0,
      total_tokens: output.usage.total_tokens,
    },
  }
}
