import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { readJsonBody } from '../../src/openai/read-json-body'

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  new Request('http://gw/v1/chat/completions', {
    method: 'POST',
    body,
    headers,
    duplex: 'half',
  } as RequestInit)

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GatewayError)
  return error as GatewayError
}

describe('readJsonBody', () => {
  it('parses strict JSON', async () => {
    expect(await readJsonBody(post('{"a":1}'), 100)).toEqual({ a: 1 })
  })

  it('accepts Python literals when strict JSON fails', async () => {
    expect(await readJsonBody(post('{"stream": True}'), 100)).toEqual({ stream: true })
  })

  it('rejects malformed JSON with a 400 that says why', async () => {
    const error = await rejection(readJsonBody(post('{"model": '), 100))
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/not valid JSON/)
  })

  it('rejects an empty body with 400', async () => {
    expect((await rejection(readJsonBody(post(''), 100))).status).toBe(400)
  })

  it('rejects a declared oversized body with 413 before reading it', async () => {
    const error = await rejection(readJsonBody(post('{"a":1}', { 'content-length': '5000' }), 100))
    expect(error.status).toBe(413)
    expect(error.toJSON().error.code).toBe('413')
  })

  it('rejects an oversized streamed body (no content-length) with 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const error = await rejection(readJsonBody(post(stream), 100))
    expect(error.status).toBe(413)
    expect(sent).toBeLessThan(10)
  })
})

describe('readJsonBody nesting depth', () => {
  const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
  /** A chat request whose tool parameters nest `depth` arrays deep (the wrapping adds 4 levels). */
  const toolBody = (depth: number) =>
    `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":${nestedArrays(depth)}}}]}`

  it('accepts 64 levels (the limit) and 60 levels', async () => {
    expect(await readJsonBody(post(nestedArrays(64)), 1_000)).toBeInstanceOf(Array)
    const body = (await readJsonBody(post(toolBody(55)), 1_000)) as { tools: unknown[] }
    expect(body.tools).toHaveLength(1)
    let objects = '{}'
    for (let i = 1; i < 60; i++) objects = `{"a":${objects},"s":"[[[["}`
    expect(await readJsonBody(post(objects), 10_000)).toHaveProperty('a')
  })

  it('rejects 65 levels with 400', async () => {
    const error = await rejection(readJsonBody(post(nestedArrays(65)), 1_000))
    expect(error.status).toBe(400)
    expect(error.origin).toBe('client')
    expect(error.message).toBe('Request body is nested too deeply (more than 64 levels).')
  })

  it('rejects nesting inside tool parameters and objects as well as arrays', async () => {
    expect(await readJsonBody(post(toolBody(60)), 1_000)).toHaveProperty('tools')
    expect((await rejection(readJsonBody(post(toolBody(61)), 1_000))).status).toBe(400)
    let objects = '{}'
    for (let i = 1; i < 65; i++) objects = `{"a":${objects}}`
    expect((await rejection(readJsonBody(post(objects), 10_000))).status).toBe(400)
  })

  it('rejects 20 000 levels with 400, not a RangeError', async () => {
    const error = await rejection(readJsonBody(post(toolBody(20_000)), 100_000))
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/nested too deeply/)
  })

  it('rejects deep nesting that only parses after the Python-literal rewrite', async () => {
    const body = `{"stream": True, "x": ${nestedArrays(100)}}`
    expect((await rejection(readJsonBody(post(body), 1_000))).status).toBe(400)
  })
})
