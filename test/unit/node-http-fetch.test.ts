import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeFetch } from '../../adapters/node/http-fetch'

let server: Server
let base: string
const seen: Array<{ method?: string; url?: string; headers: Record<string, unknown>; body: string }> = []

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    seen.push({ method: req.method, url: req.url, headers: req.headers, body })
    if (req.url === '/json') {
      res.writeHead(201, { 'content-type': 'application/json', 'x-amzn-requestid': 'abc' })
      res.end(JSON.stringify({ echo: body }))
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' })
      res.write('first')
      setTimeout(() => res.end('second'), 200)
    } else if (req.url === '/hang') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: 1\n\n')
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

describe('nodeFetch', () => {
  it('sends method, headers and a string body; returns status, headers and body', async () => {
    const res = await nodeFetch(`${base}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 x' },
      body: '{"a":"é"}',
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-amzn-requestid')).toBe('abc')
    expect(await res.json()).toEqual({ echo: '{"a":"é"}' })
    const sent = seen.at(-1)!
    expect(sent.method).toBe('POST')
    expect(sent.headers['content-length']).toBe(String(Buffer.byteLength('{"a":"é"}')))
    expect(sent.headers.authorization).toBe('AWS4-HMAC-SHA256 x')
  })

  it('streams event-stream bodies as they arrive instead of buffering them', async () => {
    const started = Date.now()
    const res = await nodeFetch(`${base}/stream`, { method: 'POST', body: '' })
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe('first')
    expect(Date.now() - started).toBeLessThan(190)
    let rest = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    expect(rest).toBe('second')
  })

  it('aborts a hanging stream through the signal', async () => {
    const controller = new AbortController()
    const res = await nodeFetch(`${base}/hang`, { method: 'POST', body: '', signal: controller.signal })
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    await expect(reader.read()).rejects.toThrow()
  })

  it('rejects an aborted call before it starts and a refused connection as TypeError', async () => {
    await expect(nodeFetch(`${base}/json`, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    await expect(nodeFetch('http://127.0.0.1:1/')).rejects.toBeInstanceOf(TypeError)
  })

  it('falls back to the global fetch for stream bodies', async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'))
        c.close()
      },
    })
    const res = await nodeFetch(`${base}/json`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(await res.json()).toEqual({ echo: 'streamed' })
  })
})
