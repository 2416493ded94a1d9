import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { App } from '../../src/app'
import { errorResponse, GatewayError } from '../../src/errors'

export interface ServeOptions {
  port: number
  host: string
  /** Largest request body read into memory; larger bodies get a 413 without being buffered. */
  maxBodyBytes: number
}

export interface RunningServer {
  server: Server
  url: string
  /** Stops accepting connections, waits for in-flight requests and background work, then resolves. */
  drain(timeoutMs: number): Promise<void>
}

/**
 * Bridges node:http to the web-standard app: IncomingMessage → Request, Response → ServerResponse.
 * Streams are written chunk by chunk and wait for 'drain' (backpressure); a client that goes away
 * aborts the Request's signal, which aborts the upstream call.
 */
export async function serve(app: App, options: ServeOptions): Promise<RunningServer> {
  const inFlight = new Set<Promise<unknown>>()
  const track = (p: Promise<unknown>) => {
    inFlight.add(p)
    p.finally(() => inFlight.delete(p)).catch(() => {})
  }

  const server = createServer((req, res) => {
    track(handle(app, req, res, options, track))
  })
  server.keepAliveTimeout = 65_000 // longer than an ALB's 60 s idle timeout, so the ALB closes first
  server.listen(options.port, options.host)
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host

  return {
    server,
    url: `http://${host}:${port}`,
    async drain(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())
      await Promise.race([Promise.allSettled([...inFlight]).then(() => undefined), timer])
      server.closeAllConnections()
      await Promise.race([closed, timer])
    },
  }
}

async function handle(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeOptions,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<void> {
  const controller = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) controller.abort()
  })
  try {
    const request = await toRequest(req, controller.signal, options.maxBodyBytes)
    const response = await app.fetch(request, { waitUntil })
    await writeResponse(response, res, controller.signal)
  } catch (error) {
    if (res.headersSent) {
      res.destroy()
      return
    }
    const gatewayError =
      error instanceof GatewayError
        ? error
        : new GatewayError({ status: 400, message: 'Could not read the request.', origin: 'client' })
    // The unread rest of a rejected body is read and discarded, so the client, still uploading,
    // gets the 413 instead of a connection reset.
    req.resume()
    await writeResponse(errorResponse(gatewayError), res, controller.signal)
  }
}

async function toRequest(req: IncomingMessage, signal: AbortSignal, maxBodyBytes: number): Promise<Request> {
  const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`
  const headers = new Headers()
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
  const method = req.method ?? 'GET'
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers, signal })
  return new Request(url, { method, headers, signal, body: await readBody(req, maxBodyBytes) })
}

async function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBodyBytes) throw tooLarge(maxBodyBytes)
    chunks.push(chunk)
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
  return new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength)
}

const tooLarge = (maxBodyBytes: number) =>
  new GatewayError({
    status: 413,
    message: `Request body is larger than the limit of ${maxBodyBytes} bytes (general_settings.max_request_size_mb).`,
    origin: 'client',
  })

async function writeResponse(response: Response, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const headers: string[] = []
  for (const [name, value] of response.headers) headers.push(name, value)
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false
  if (!response.body) {
    res.writeHead(response.status, headers).end()
    return
  }
  if (!streaming) {
    // Small JSON bodies: one buffer, one write, exact Content-Length.
    const body = Buffer.from(await response.arrayBuffer())
    headers.push('content-length', String(body.length))
    res.writeHead(response.status, headers).end(body)
    return
  }
  res.writeHead(response.status, headers)
  res.flushHeaders()
  const reader = response.body.getReader()
  const onAbort = () => reader.cancel().catch(() => {})
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) await drainOrClose(res)
      if (signal.aborted) return
    }
    res.end()
  } catch {
    res.destroy()
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Resolves once the response can take more data ('drain') or never will ('close'/'error'), and removes
 * every listener it added when it settles. A slow reader pushes back on nearly every chunk; racing two
 * `once()` calls left the loser attached each time, so a long stream piled up hundreds of 'close'
 * listeners (MaxListenersExceededWarning) and kept them alive until the response ended.
 */
function drainOrClose(res: ServerResponse): Promise<void> {
  // 'close' has already fired on a destroyed response and will not fire again; waiting would hang.
  if (res.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const settle = () => {
      res.off('drain', settle)
      res.off('close', settle)
      res.off('error', settle)
      resolve()
    }
    res.on('drain', settle)
    res.on('close', settle)
    res.on('error', settle)
  })
}
