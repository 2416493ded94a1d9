import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { MAX_EMBEDDING_INPUTS, parseEmbeddingRequest } from '../../src/openai/embeddings-request'
import { float32Base64, toEmbeddingResponse } from '../../src/openai/embeddings-response'

const thrown = (fn: () => unknown): GatewayError => {
  try {
    fn()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('parseEmbeddingRequest', () => {
  it('normalises every input form to a list', () => {
    expect(parseEmbeddingRequest({ model: 'm', input: 'hello' }).input).toEqual(['hello'])
    expect(parseEmbeddingRequest({ model: 'm', input: ['a', 'b'] }).input).toEqual(['a', 'b'])
    expect(parseEmbeddingRequest({ model: 'm', input: [1, 2, 3] }).input).toEqual([[1, 2, 3]])
    expect(parseEmbeddingRequest({ model: 'm', input: [[1], [2, 3]] }).input).toEqual([[1], [2, 3]])
  })

  it('keeps encoding_format, dimensions, input_type, user and provider extras; drops nulls', () => {
    const request = parseEmbeddingRequest({
      model: 'm',
      input: 'x',
      encoding_format: 'base64',
      dimensions: 256,
      input_type: 'search_query',
      user: 'u1',
      normalize: false,
    })
    expect(request).toEqual({
      model: 'm',
      input: ['x'],
      encoding_format: 'base64',
      dimensions: 256,
      input_type: 'search_query',
      user: 'u1',
      normalize: false,
    })
    const nulls = parseEmbeddingRequest({ model: 'm', input: 'x', encoding_format: null, dimensions: null })
    expect(nulls).not.toHaveProperty('encoding_format')
    expect(nulls).not.toHaveProperty('dimensions')
  })

  it("takes the model from the Azure-style path, over the body's (as LiteLLM's proxy does)", () => {
    expect(parseEmbeddingRequest({ input: 'x' }, 'from-path').model).toBe('from-path')
    expect(parseEmbeddingRequest({ model: 'body', input: 'x' }, 'from-path').model).toBe('from-path')
  })

  it.each([
    [{ model: 'm', input: [] }, 'input'],
    [{ model: 'm', input: '' }, 'input'],
    [{ model: 'm', input: ['ok', ''] }, 'input'],
    [{ model: 'm', input: 42 }, 'input'],
    [{ model: 'm', input: [{ text: 'x' }] }, 'input'],
    [{ model: 'm', input: ['a', 1] }, 'input'],
    [{ model: 'm', input: [[]] }, 'input'],
    [{ model: 'm' }, 'input'],
    [{ input: 'x' }, 'model'],
    [{ model: 'm', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    [{ model: 'm', input: 'x', dimensions: 0 }, 'dimensions'],
    [{ model: 'm', input: 'x', dimensions: 1.5 }, 'dimensions'],
  ])('refuses %j with a 400 naming %s', (body, param) => {
    const error = thrown(() => parseEmbeddingRequest(body))
    expect(error.status).toBe(400)
    expect(error.param ?? '').toMatch(new RegExp(`^${param}`))
  })

  it(`refuses more than ${MAX_EMBEDDING_INPUTS} inputs, and a non-object body`, () => {
    const many = Array.from({ length: MAX_EMBEDDING_INPUTS + 1 }, (_, i) => `t${i}`)
    expect(thrown(() => parseEmbeddingRequest({ model: 'm', input: many })).status).toBe(400)
    expect(parseEmbeddingRequest({ model: 'm', input: many.slice(1) }).input).toHaveLength(
      MAX_EMBEDDING_INPUTS,
    )
    expect(thrown(() => parseEmbeddingRequest(['x'])).status).toBe(400)
  })
})

describe('embedding responses', () => {
  it('encodes base64 as little-endian float32, exactly what the OpenAI SDK decodes', () => {
    const vector = [0.5, -1.25, 3.140625, 0, 1e-3]
    const encoded = float32Base64(vector)
    const bytes = Buffer.from(encoded, 'base64')
    expect(bytes).toHaveLength(vector.length * 4)
    // The openai package's decoder: a Float32Array view over the bytes (little-endian platforms).
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))
    expect(decoded).toEqual(vector.map((v) => Math.fround(v)))
    expect(bytes.readFloatLE(4)).toBe(-1.25)
  })

  it('encodes long vectors (more bytes than one String.fromCharCode call takes)', () => {
    const vector = Array.from({ length: 20_000 }, (_, i) => Math.fround(Math.sin(i)))
    const bytes = Buffer.from(float32Base64(vector), 'base64')
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(vector)
  })

  it("has OpenAI's shape, in input order, with LiteLLM's completion_tokens: 0", () => {
    const output = {
      vectors: [
        [1, 2],
        [3, 4],
      ],
      usage: { prompt_tokens: 7, total_tokens: 7 },
    }
    expect(toEmbeddingResponse(output, 'amazon.titan-embed-text-v1')).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [1, 2] },
        { object: 'embedding', index: 1, embedding: [3, 4] },
      ],
      model: 'amazon.titan-embed-text-v1',
      usage: { prompt_tokens: 7, completion_tokens: 0, total_tokens: 7 },
    })
    const b64 = toEmbeddingResponse(output, 'm', 'base64')
    expect(b64.data[1]?.embedding).toBe(float32Base64([3, 4]))
  })
})
