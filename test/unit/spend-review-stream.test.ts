/**
 * Finding 2 of the spend review: a stream that ends without usage (client cancel, mid-stream
 * failure; Bedrock sends usage only in its final `metadata` event) is billed from an estimate:
 * prompt = request message characters / 4 (rounded up, at least 1), completion = streamed output
 * characters / 4, and the row says `metadata.usage_estimated: true`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type App, createApp } from '../../src/app'
import { encodeEventStreamMessage } from '../../src/aws/event-stream-encode'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { migratedPglite, truncateSpendTables, waitUntilQueue } from '../helpers/in-process-gateway'

const MASTER = 'sk-master-review-stream'
const MOCK_TEXT = 'one two three four five six seven eight nine ten eleven twelve'
const PROMPT = 'count to twelve, please' // 23 characters → 6 estimated prompt tokens
const CONFIG = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/x, mock_response: "${MOCK_TEXT}" }
    model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
  - model_name: claude
    litellm_params:
      model: bedrock/converse/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_access_key_id: AKIDEXAMPLE
      aws_secret_access_key: secret
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: http://bedrock.test
    model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
`

const enc = new TextEncoder()
const frame = (type: string, payload: unknown) =>
  encodeEventStreamMessage(
    { ':message-type': 'event', ':event-type': type },
    enc.encode(JSON.stringify(payload)),
  )
const exceptionFrame = (type: string, message: string) =>
  encodeEventStreamMessage(
    { ':message-type': 'exception', ':exception-type': type },
    enc.encode(JSON.stringify({ message })),
  )

/** Bedrock's ConverseStream: two text deltas, then a mid-stream exception (no metadata/usage). */
const bedrockFetch: typeof fetch = async () =>
  new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(frame('messageStart', { role: 'assistant' }))
        controller.enqueue(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello the' } }))
        controller.enqueue(
          frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 're, friend' } }),
        )
        controller.enqueue(exceptionFrame('modelStreamErrorException', 'The model stream failed.'))
        controller.close()
      },
    }),
    { headers: { 'content-type': 'application/vnd.amazon.eventstream' } },
  )

let sql: Sql
let app: App
const { waitUntil, settle } = waitUntilQueue()
let key: string

beforeAll(async () => {
  sql = await migratedPglite()
  app = createApp({
    config: await parseConfig(CONFIG, {}),
    env: {},
    masterKey: MASTER,
    logger: silentLogger,
    fetch: bedrockFetch,
    stores: { sql, counters: memoryCounters() },
  })
})
afterAll(async () => {
  await app.close()
  await sql.close()
})
beforeEach(async () => {
  await truncateSpendTables(sql)
  const generated = await app.fetch(
    new Request('http://gw/key/generate', {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ max_budget: 10 }),
    }),
    { waitUntil },
  )
  key = (await generated.json()).key
})

const chat = (model: string, signal?: AbortSignal) =>
  app.fetch(
    new Request('http://gw/v1/chat/completions', {
      method: 'POST',
      signal,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    }),
    { waitUntil },
  )

async function logged() {
  await settle()
  await app.close() // flushes the queue (the app keeps working afterwards for these tests)
  const rows = await sql.query<{
    spend: number
    prompt_tokens: number
    completion_tokens: number
    status: string
    metadata: Record<string, unknown>
  }>(`SELECT spend, prompt_tokens, completion_tokens, status, metadata FROM "LiteLLM_SpendLogs"`)
  const [keyRow] = await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_VerificationToken"`)
  return { rows, keySpend: keyRow?.spend }
}

/** Content characters of the `data:` chunks a client received. */
function streamedText(sse: string): string {
  let text = ''
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue
    const chunk = JSON.parse(line.slice(6))
    text += chunk.choices?.[0]?.delta?.content ?? ''
  }
  return text
}

describe('spend review 2: streams that end without usage are billed from an estimate', () => {
  it('a stream the client cancels mid-way is billed for the prompt and what was streamed', async () => {
    const abort = new AbortController()
    const response = await chat('priced', abort.signal)
    expect(response.status).toBe(200)
    const reader = response.body?.getReader()
    if (!reader) throw new Error('no body')
    const decoder = new TextDecoder()
    let received = ''
    for (let i = 0; i < 4; i++) received += decoder.decode((await reader.read()).value)
    abort.abort()
    await reader.cancel()

    const { rows, keySpend } = await logged()
    expect(rows).toHaveLength(1)
    const [row] = rows
    const streamedChars = streamedText(received).length
    expect(streamedChars).toBeGreaterThan(0)
    expect(row?.prompt_tokens).toBe(Math.ceil(PROMPT.length / 4))
    // Every delta handed on counts, also one the client no longer read before cancelling.
    expect(row?.completion_tokens).toBeGreaterThanOrEqual(Math.ceil(streamedChars / 4))
    expect(row?.completion_tokens).toBeLessThan(Math.ceil(MOCK_TEXT.length / 4))
    expect(row?.status).toBe('failure')
    expect(row?.metadata.usage_estimated).toBe(true)
    const expected = (row?.prompt_tokens ?? 0) * 0.001 + (row?.completion_tokens ?? 0) * 0.002
    expect(row?.spend).toBeCloseTo(expected, 12)
    expect(keySpend).toBeCloseTo(expected, 12)
  })

  it('a Bedrock stream failing mid-stream (no metadata event) is billed from the estimate', async () => {
    const response = await chat('claude')
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toContain('"error"')
    expect(streamedText(text)).toBe('Hello there, friend')

    const { rows, keySpend } = await logged()
    expect(rows).toHaveLength(1)
    const [row] = rows
    expect(row).toMatchObject({
      prompt_tokens: 6,
      completion_tokens: Math.ceil('Hello there, friend'.length / 4),
      status: 'failure',
    })
    expect(row?.metadata.usage_estimated).toBe(true)
    expect(row?.spend).toBeCloseTo(6 * 0.001 + 5 * 0.002, 12)
    expect(keySpend).toBeCloseTo(6 * 0.001 + 5 * 0.002, 12)
  })

  it('a complete stream is billed from the provider usage, without the estimate flag', async () => {
    await (await chat('priced')).text()
    const { rows } = await logged()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ prompt_tokens: 10, completion_tokens: 20, status: 'success' })
    expect(rows[0]?.metadata.usage_estimated).toBeUndefined()
    expect(rows[0]?.spend).toBeCloseTo(0.05, 12)
  })
})
