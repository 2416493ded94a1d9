import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { Readable } from 'node:stream'

/**
 * The `fetch` the Node adapter injects for upstream calls: node:http with keep-alive agents.
 *
 * Why not the global fetch: undici's fetch wraps every body in web streams on the way out and in,
 * which on Node 20 costs more CPU per call than the rest of the gateway together. This covers what
 * the providers send (string or byte bodies, no redirects) and returns a standard Response; any
 * other body type falls back to the global fetch.
 */
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 })
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 })
const STREAMING = /^(application\/vnd\.amazon\.eventstream|text\/event-stream)/

export const nodeFetch: typeof fetch = async (input, init) => {
  const body = init?.body ?? null
  if (
    (body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) ||
    input instanceof Request
  ) {
    return fetch(input, init)
  }
  const url = new URL(input instanceof URL ? input.href : input)
  const signal = init?.signal ?? undefined
  signal?.throwIfAborted()
  const headers: Record<string, string> = {}
  new Headers(init?.headers).forEach((value, name) => {
    headers[name] = value
  })
  if (body !== null) headers['content-length'] = String(Buffer.byteLength(body))

  const secure = url.protocol === 'https:'
  const send = secure ? httpsRequest : httpRequest
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, {
      method: init?.method ?? 'GET',
      headers,
      agent: secure ? httpsAgent : httpAgent,
      signal,
    })
    req.once('response', resolve)
    req.once('error', (error) =>
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error })),
    )
    req.end(body ?? undefined)
  })

  const responseHeaders = new Headers()
  for (let i = 0; i < response.rawHeaders.length; i += 2) {
    responseHeaders.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!)
  }
  const init2 = {
    status: response.statusCode ?? 502,
    statusText: response.statusMessage ?? '',
    headers: responseHeaders,
  }
  if (STREAMING.test(response.headers['content-type'] ?? '')) {
    return new Response(Readable.toWeb(response) as ReadableStream<Uint8Array>, init2)
  }
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  return new Response(new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength), init2)
}
