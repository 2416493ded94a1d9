/** Small node:http plumbing shared by the local AWS fakes. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CredentialRecord } from './sigv4-verifier'

export interface FakeCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** What tests drive on a fake AWS service, whatever the service: credentials, request log, script. */
export interface FakeAwsControls<Recorded, Step, Plan> {
  /** Long-term credentials (no session token). */
  credentials: FakeCredentials
  /** Temporary credentials (with a session token). */
  tempCredentials: Required<FakeCredentials>
  /** Every request received, rejected ones included, in order. */
  requests: Recorded[]
  /** Queues responses for the next requests, in order (used before the handler and the default). */
  script(...steps: Step[]): void
  /** Decides responses once the script queue is empty; return undefined for the default behaviour. */
  setHandler(handler: ((req: Recorded) => Plan | undefined) | undefined): void
  addCredentials(creds: FakeCredentials): void
  removeCredentials(accessKeyId: string): void
  /** Clears the script queue, the handler and the request log. */
  reset(): void
}

/**
 * The state behind FakeAwsControls: the credentials accepted (the two defaults and `extra`, until
 * added or removed), the request log, and the responses queued by `script()` (taken in order by
 * `nextScripted()`) or decided by the handler (`fromHandler()`), which the fake consults in that order.
 */
export function fakeAwsState<Recorded, Step, Plan>(
  defaults: { credentials: FakeCredentials; tempCredentials: Required<FakeCredentials> },
  extra: readonly FakeCredentials[] = [],
) {
  const credentialMap = new Map<string, CredentialRecord>()
  const addCredentials = (c: FakeCredentials) => {
    credentialMap.set(c.accessKeyId, {
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }),
    })
  }
  for (const c of [defaults.credentials, defaults.tempCredentials, ...extra]) addCredentials(c)

  const requests: Recorded[] = []
  let queue: Step[] = []
  let handler: ((req: Recorded) => Plan | undefined) | undefined
  const controls: FakeAwsControls<Recorded, Step, Plan> = {
    credentials: { ...defaults.credentials },
    tempCredentials: { ...defaults.tempCredentials },
    requests,
    script: (...steps) => {
      queue.push(...steps)
    },
    setHandler: (fn) => {
      handler = fn
    },
    addCredentials,
    removeCredentials: (accessKeyId) => {
      credentialMap.delete(accessKeyId)
    },
    reset: () => {
      queue = []
      handler = undefined
      requests.length = 0
    },
  }
  return {
    credentialMap,
    requests,
    controls,
    nextScripted: (): Step | undefined => queue.shift(),
    fromHandler: (req: Recorded): Plan | undefined => handler?.(req),
  }
}

export async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of req)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  const buf = Buffer.concat(chunks)
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** Lower-case header names; repeated headers joined with `,` (what SigV4 canonicalisation expects). */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values) out[name] = values.join(',')
  }
  return out
}

/** Tracks timers and open responses so `close()` can end delays and hanging streams. */
export class Lifecycle {
  closed = false
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()

  sleep(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.timers.delete(entry)
          resolve()
        }, ms),
      }
      this.timers.add(entry)
    })
  }

  close(): void {
    this.closed = true
    for (const entry of this.timers) {
      clearTimeout(entry.timer)
      entry.resolve()
    }
    this.timers.clear()
  }
}

export function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export function isGone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded
}

export interface StartedServer {
  server: Server
  port: number
  url: string
  close(): Promise<void>
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  lifecycle: Lifecycle,
): Promise<StartedServer> {
  const server = createServer({ noDelay: true }, (req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`fake server error: ${err instanceof Error ? err.stack : String(err)}`)
      } else {
        res.destroy()
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      lifecycle.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}
