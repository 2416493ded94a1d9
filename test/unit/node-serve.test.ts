import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../../adapters/node/serve'
import type { App } from '../../src/app'

/**
 * The node:http bridge under real sockets: backpressure from a slow reader, a client that disconnects
 * mid-stream, and graceful drain. The App is a tiny fake, so only the adapter is under test.
 */
const CHUNK = 16 * 1024
const sseHeaders = { 'content-type': 'text/event-stream' }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let running: RunningServer | undefined

afterEach(async () => {
  await running?.drain(1_000)
  running = undefined
})

async function start(fetch: App['fetch']): Promise<RunningServer> {
  running = await serve(
    { fetch, close: async () => {} },
    { port: 0, host: '127.0.0.1', maxBodyBytes: 1024 * 1024 },
  )
  return running
}

function get(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, resolve)
    req.on('error', reject)
    req.end()
  })
}

/** Reads the body in small steps with pauses in between, so the server's writes keep hitting a full socket. */
async function readSlowly(res: IncomingMessage): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  res.pause()
  let ended = false
  res.on('end', () => {
    ended = true
  })
  while (!ended) {
    await new Promise<void>((resolve) => {
      const take = () => {
        res.off('end', take)
        resolve()
      }
      res.once('readable', take)
      res.once('end', take)
    })
    for (let chunk = res.read(); chunk !== null; chunk = res.read()) chunks.push(chunk)
    await sleep(1)
  }
  return chunks
}

describe('serve (node adapter)', () => {
  it('streams a large SSE body to a slow reader without piling up listeners', async () => {
    const total = 8 * 1024 * 1024
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)

    let serverRes: ServerResponse | undefined
    let drains = 0
    let maxCloseListeners = 0
    let maxDrainListeners = 0
    let sent = 0
    const server = await start(async () => {
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          // Between reads the adapter is not waiting on the socket, so any listener still attached
          // here was left behind by an earlier wait.
          if (serverRes) {
            maxCloseListeners = Math.max(maxCloseListeners, serverRes.listenerCount('close'))
            maxDrainListeners = Math.max(maxDrainListeners, serverRes.listenerCount('drain'))
          }
          if (sent >= total) return controller.close()
          const chunk = new Uint8Array(CHUNK).fill(97 + ((sent / CHUNK) % 26))
          sent += CHUNK
          controller.enqueue(chunk)
        },
      })
      return new Response(body, { headers: sseHeaders })
    })
    // The 'request' listener runs after the adapter's own handler, on the same ServerResponse.
    server.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      serverRes = res
      res.on('drain', () => drains++)
    })

    try {
      const res = await get(`${server.url}/stream`)
      expect(res.statusCode).toBe(200)
      const chunks = await readSlowly(res)
      await sleep(20) // let any pending process 'warning' events fire

      const received = Buffer.concat(chunks)
      expect(received.length).toBe(total)
      for (let offset = 0; offset < total; offset += CHUNK)
        expect(received[offset + CHUNK - 1], `chunk at ${offset}`).toBe(97 + ((offset / CHUNK) % 26))

      // Proves the test really exercised backpressure; without it the assertions below prove nothing.
      expect(drains).toBeGreaterThan(20)
      expect(maxCloseListeners).toBeLessThan(5)
      expect(maxDrainListeners).toBeLessThan(5)
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('cancels the app stream when the client disconnects mid-stream', async () => {
    let cancelled: (reason: unknown) => void = () => {}
    const cancelledPromise = new Promise<unknown>((resolve) => {
      cancelled = resolve
    })
    const server = await start(async () => {
      const body = new ReadableStream<Uint8Array>({
        // Never ends on its own: only a cancel stops it.
        pull: (controller) => controller.enqueue(new Uint8Array(CHUNK).fill(120)),
        cancel: (reason) => cancelled(reason),
      })
      return new Response(body, { headers: sseHeaders })
    })

    const res = await get(`${server.url}/stream`)
    expect(res.statusCode).toBe(200)
    await new Promise((resolve) => res.once('data', resolve))
    res.destroy()

    const outcome = await Promise.race([
      cancelledPromise.then(() => 'cancelled'),
      sleep(5_000).then(() => 'timeout'),
    ])
    expect(outcome).toBe('cancelled')
  })

  it('drain() waits for an in-flight request to finish', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let entered: () => void = () => {}
    const inFetch = new Promise<void>((resolve) => {
      entered = resolve
    })
    const server = await start(async () => {
      entered()
      await gate
      return new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } })
    })

    const responsePromise = get(`${server.url}/slow`)
    await inFetch
    let drained = false
    const draining = server.drain(5_000).then(() => {
      drained = true
    })
    running = undefined // drained here, not in afterEach

    await sleep(100)
    expect(drained).toBe(false)

    release()
    const res = await responsePromise
    const chunks: Buffer[] = []
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk)
    expect(res.statusCode).toBe(200)
    expect(Buffer.concat(chunks).toString()).toBe('{"ok":true}')
    await draining
    expect(drained).toBe(true)
  })
})
