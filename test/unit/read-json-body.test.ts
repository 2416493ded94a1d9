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
