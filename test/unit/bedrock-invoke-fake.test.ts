import { AwsClient } from 'aws4fetch'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { fakeEmbedding } from '../fakes/bedrock-embeddings'
import { decodeEventStream } from '../fakes/event-stream'

/**
 * The fake's Invoke and embedding routes on their own, called with a plain SigV4 client and decoded
 * with the AWS SDK's codec, so the gateway tests built on them rest on a checked wire format.
 */
const CLAUDE = 'anthropic.claude-3-haiku-20240307-v1:0'
let fake: FakeBedrock
let aws: AwsClient

const call = (model: string, operation: string, body: unknown) =>
  aws.fetch(`${fake.url}/model/${encodeURIComponent(model)}/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const messages = [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }]

beforeAll(async () => {
  fake = await startFakeBedrock()
  aws = new AwsClient({ ...fake.credentials, service: 'bedrock', region: fake.region, retries: 0 })
})
afterAll(async () => {
  await fake.close()
})
beforeEach(() => fake.reset())

describe('fake InvokeModel for Claude', () => {
  it('answers an Anthropic message with Bedrock token-count headers', async () => {
    const res = await call(CLAUDE, 'invoke', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 10,
      messages,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-amzn-bedrock-input-token-count')).toBe('2')
    expect(res.headers.get('x-amzn-bedrock-output-token-count')).toBe('4')
    expect(await res.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'You said: Hello there' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 2, output_tokens: 4 },
    })
  })

  it('streams chunk events whose bytes are base64 Anthropic events, in the real order', async () => {
    const res = await call(CLAUDE, 'invoke-with-response-stream', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 10,
      messages,
    })
    expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream')
    expect(res.headers.get('x-amzn-bedrock-content-type')).toBe('application/json')
    const { frames, leftover } = decodeEventStream(new Uint8Array(await res.arrayBuffer()))
    expect(leftover).toBe(0)
    const events = frames.map((frame) => {
      expect(frame.type).toBe('chunk')
      expect(frame.headers[':content-type']).toBe('application/json')
      const payload = frame.json as { bytes: string; p?: string }
      return JSON.parse(Buffer.from(payload.bytes, 'base64').toString('utf8')) as { type: string }
    })
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(events.at(-1)).toMatchObject({
      'amazon-bedrock-invocationMetrics': { inputTokenCount: 2, outputTokenCount: 4 },
    })
  })

  it.each([
    [{ anthropic_version: 'bedrock-2023-05-31', messages }, /required key \[max_tokens\]/],
    [{ max_tokens: 5, messages }, /required key \[anthropic_version\]/],
    [
      { anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, messages, model: 'x' },
      /extraneous key \[model\]/,
    ],
    [
      {
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 5,
        messages: [...messages, ...messages],
      },
      /roles must alternate/,
    ],
  ])('rejects %j like Bedrock', async (body, message) => {
    const res = await call(CLAUDE, 'invoke', body)
    expect(res.status).toBe(400)
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^ValidationException:/)
    expect(((await res.json()) as { message: string }).message).toMatch(message)
  })

  it('verifies SigV4 on the Invoke routes too', async () => {
    const res = await fetch(`${fake.url}/model/${encodeURIComponent(CLAUDE)}/invoke`, {
      method: 'POST',
      body: '{}',
    })
    expect(res.status).toBe(403)
    expect(fake.requests[0]?.auth.ok).toBe(false)
  })
})

describe('fake InvokeModel for embedding models', () => {
  it('Titan: a deterministic vector from the text, with the token count in body and header', async () => {
    const res = await call('amazon.titan-embed-text-v1', 'invoke', { inputText: 'a b c' })
    expect(res.headers.get('x-amzn-bedrock-input-token-count')).toBe('3')
    expect(await res.json()).toEqual({ embedding: fakeEmbedding('a b c', 1536), inputTextTokenCount: 3 })
    const bad = await call('amazon.titan-embed-text-v1', 'invoke', { inputText: 'x', dimensions: 256 })
    expect(bad.status).toBe(400)
  })

  it('Cohere: at most 96 texts and an input_type, like Bedrock', async () => {
    const texts = Array.from({ length: 97 }, (_, i) => `t${i}`)
    expect(
      (await call('cohere.embed-english-v3', 'invoke', { texts, input_type: 'search_document' })).status,
    ).toBe(400)
    expect((await call('cohere.embed-english-v3', 'invoke', { texts: ['x'] })).status).toBe(400)
    const ok = await call('cohere.embed-english-v3', 'invoke', { texts: ['x y'], input_type: 'search_query' })
    expect(ok.headers.get('x-amzn-bedrock-input-token-count')).toBe('2')
    expect(await ok.json()).toMatchObject({
      response_type: 'embeddings_floats',
      embeddings: [fakeEmbedding('search_query:x y', 1024)],
    })
  })

  it('refuses streaming an embedding model', async () => {
    const res = await call('amazon.titan-embed-text-v1', 'invoke-with-response-stream', { inputText: 'x' })
    expect(res.status).toBe(400)
  })
})
