/**
 * Local Upstash Redis REST server over a real Redis (protocols.md 7): `POST /` (one command as a JSON
 * array), `POST /pipeline`, `POST /multi-exec`, the path form `/<cmd>/<arg>…` (GET/POST/PUT/HEAD),
 * Bearer or `?_token=` auth, and `Upstash-Encoding: base64` replies. Replies are read as raw buffers
 * (ioredis `replyEncoding: null`) and command names are sent upper-case so ioredis applies none of its
 * argument/reply transformers (e.g. HGETALL → object): what Redis answers is what the client gets.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Command, Redis } from 'ioredis'
import { flatHeaders, Lifecycle, listen, readBody } from './http-util'

export interface FakeUpstashOptions {
  /** Default `redis://127.0.0.1:6379`. */
  redisUrl?: string
  /** Bearer token clients must send; default a random one (returned as `token`). */
  token?: string
}

export interface UpstashRecordedRequest {
  method: string
  /** Path including the query string, e.g. `/pipeline` or `/get/foo?_token=…`. */
  path: string
  headers: Record<string, string>
  /** Parsed JSON for `/`, `/pipeline`, `/multi-exec`; raw text (or undefined) for the path form. */
  body: unknown
  /** HTTP status answered. */
  status?: number
}

export interface FakeUpstash {
  /** Base URL for `new Redis({ url, token })`, e.g. `http://127.0.0.1:40123`. */
  url: string
  token: string
  requests: UpstashRecordedRequest[]
  close(): Promise<void>
}

/** A reply as Upstash serialises it. */
type Json = null | number | string | Json[]
type Arg = string | Buffer
interface RedisCommand {
  name: string
  args: Arg[]
}
type Outcome = { result: Json } | { error: string }

/** Commands a stateless REST endpoint cannot offer (connection state, pub/sub, replication). */
const UNAVAILABLE = new Set([
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
  'MONITOR',
  'SELECT',
  'SWAPDB',
  'QUIT',
  'RESET',
  'AUTH',
  'HELLO',
  'CLIENT',
  'MULTI',
  'EXEC',
  'DISCARD',
  'WATCH',
  'UNWATCH',
  'SYNC',
  'PSYNC',
  'REPLCONF',
  'SHUTDOWN',
  'DEBUG',
])

/** Commands that may block their connection; they never run on the shared one. */
const BLOCKING = new Set([
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BLMOVE',
  'BLMPOP',
  'BZPOPMIN',
  'BZPOPMAX',
  'BZMPOP',
  'XREAD',
  'XREADGROUP',
  'WAIT',
  'WAITAOF',
])

class BadRequest extends Error {}

const JSON_HEADERS = { 'content-type': 'application/json' }
const MAX_IDLE = 4

export async function startFakeUpstash(opts: FakeUpstashOptions = {}): Promise<FakeUpstash> {
  const redisUrl = opts.redisUrl ?? 'redis://127.0.0.1:6379'
  const token = opts.token ?? `fake-upstash-${randomBytes(12).toString('hex')}`
  const requests: UpstashRecordedRequest[] = []
  const lifecycle = new Lifecycle()
  const connections = new Set<Redis>()
  const idle: Redis[] = []
  let syncToken = 0

  async function connect(): Promise<Redis> {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
    redis.on('error', () => {})
    connections.add(redis)
    try {
      await redis.connect()
    } catch (err) {
      connections.delete(redis)
      redis.disconnect()
      throw err
    }
    return redis
  }

  /** Dedicated connections for transactions and blocking commands, so nothing interleaves. */
  async function acquire(): Promise<Redis> {
    return idle.pop() ?? (await connect())
  }
  function release(redis: Redis, reusable = true): void {
    if (reusable && !lifecycle.closed && redis.status === 'ready' && idle.length < MAX_IDLE) idle.push(redis)
    else {
      connections.delete(redis)
      redis.disconnect()
    }
  }

  const shared = await connect()

  function send(redis: Redis, cmd: RedisCommand): Promise<unknown> {
    const command = new Command(cmd.name, cmd.args, { replyEncoding: null })
    return redis.sendCommand(command) as Promise<unknown>
  }

  async function runOne(cmd: RedisCommand, base64: boolean): Promise<Outcome> {
    if (UNAVAILABLE.has(cmd.name)) return { error: unavailable(cmd.name) }
    const blocking = BLOCKING.has(cmd.name)
    const redis = blocking ? await acquire() : shared
    try {
      return { result: toJson(await send(redis, cmd), base64, true) }
    } catch (err) {
      return { error: replyError(err) }
    } finally {
      if (blocking) release(redis)
    }
  }

  async function runPipeline(cmds: RedisCommand[], base64: boolean): Promise<Outcome[]> {
    const blocking = cmds.some((c) => BLOCKING.has(c.name))
    const redis = blocking ? await acquire() : shared
    try {
      // Written back to back on one connection: Redis runs them in order (not atomically).
      return await Promise.all(
        cmds.map(async (cmd): Promise<Outcome> => {
          if (UNAVAILABLE.has(cmd.name)) return { error: unavailable(cmd.name) }
          try {
            return { result: toJson(await send(redis, cmd), base64, true) }
          } catch (err) {
            return { error: replyError(err) }
          }
        }),
      )
    } finally {
      if (blocking) release(redis)
    }
  }

  /** MULTI/EXEC on a dedicated connection; a queue-time error discards the whole transaction. */
  async function runTransaction(
    cmds: RedisCommand[],
    base64: boolean,
  ): Promise<Outcome[] | { error: string }> {
    const bad = cmds.find((c) => UNAVAILABLE.has(c.name))
    if (bad) return { error: unavailable(bad.name) }
    const redis = await acquire()
    let clean = false
    try {
      await send(redis, { name: 'MULTI', args: [] })
      const queued = await Promise.allSettled(cmds.map((cmd) => send(redis, cmd)))
      const rejected = queued.find((q): q is PromiseRejectedResult => q.status === 'rejected')
      if (rejected) {
        await send(redis, { name: 'DISCARD', args: [] })
        clean = true
        return { error: replyError(rejected.reason) }
      }
      const replies = await send(redis, { name: 'EXEC', args: [] })
      clean = true
      if (!Array.isArray(replies)) return { error: 'ERR transaction aborted' }
      return replies.map(
        (reply: unknown): Outcome =>
          reply instanceof Error ? { error: reply.message } : { result: toJson(reply, base64, true) },
      )
    } finally {
      // A connection left inside MULTI (network failure mid-way) is never reused.
      release(redis, clean)
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://fake-upstash')
    const headers = flatHeaders(req)
    const raw = Buffer.from(await readBody(req))
    const record: UpstashRecordedRequest = {
      method,
      path: url.pathname + url.search,
      headers,
      body: undefined,
    }
    requests.push(record)

    const reply = (status: number, body: unknown): void => {
      record.status = status
      res.writeHead(status, { ...JSON_HEADERS, 'upstash-sync-token': String(++syncToken) })
      res.end(method === 'HEAD' ? undefined : JSON.stringify(body))
    }

    if (!['GET', 'HEAD', 'POST', 'PUT'].includes(method)) return reply(405, { error: 'Method Not Allowed' })
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim()
    const given = bearer ?? url.searchParams.get('_token')
    if (given !== token) return reply(401, { error: 'Unauthorized' })

    const base64 = headers['upstash-encoding']?.toLowerCase() === 'base64'
    const path = url.pathname.replace(/\/+$/, '')
    const hasBody = method === 'POST' || method === 'PUT'
    try {
      if (path === '/pipeline' || path === '/multi-exec') {
        if (!hasBody) return reply(405, { error: 'Method Not Allowed' })
        const body = parseJson(raw)
        record.body = body
        if (!Array.isArray(body) || body.length === 0)
          throw new BadRequest('ERR expected a non-empty array of commands')
        const cmds = body.map(toCommand)
        if (path === '/pipeline') return reply(200, await runPipeline(cmds, base64))
        const outcome = await runTransaction(cmds, base64)
        return Array.isArray(outcome) ? reply(200, outcome) : reply(400, outcome)
      }
      let cmd: RedisCommand
      if (path === '') {
        if (!hasBody) return reply(400, { error: 'ERR empty command' })
        record.body = parseJson(raw)
        cmd = toCommand(record.body)
      } else {
        cmd = pathCommand(url, hasBody && raw.length > 0 ? raw : undefined)
        record.body = hasBody && raw.length > 0 ? raw.toString('utf8') : undefined
      }
      const outcome = await runOne(cmd, base64)
      return reply('error' in outcome ? 400 : 200, outcome)
    } catch (err) {
      if (err instanceof BadRequest) return reply(400, { error: err.message })
      return reply(500, { error: `ERR fake upstash cannot reach Redis: ${errorMessage(err)}` })
    }
  }

  const started = await listen(handle, lifecycle)
  return {
    url: started.url,
    token,
    requests,
    close: async () => {
      await started.close()
      idle.length = 0
      await Promise.all(
        [...connections].map(async (redis) => {
          connections.delete(redis)
          await redis.quit().catch(() => redis.disconnect())
        }),
      )
    },
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    throw new BadRequest('ERR failed to parse command: request body is not valid JSON')
  }
}

/** `["SET","k","v","EX",100]` → command; numbers and booleans become their string form. */
function toCommand(value: unknown): RedisCommand {
  if (!Array.isArray(value) || value.length === 0)
    throw new BadRequest('ERR command must be a non-empty array')
  const parts = value.map((part: unknown): string => {
    if (typeof part === 'string') return part
    if (typeof part === 'number' || typeof part === 'boolean') return String(part)
    throw new BadRequest(`ERR invalid command argument: ${JSON.stringify(part)}`)
  })
  const [name = '', ...args] = parts
  if (name === '') throw new BadRequest('ERR empty command name')
  return { name: name.toUpperCase(), args }
}

/** `/set/foo/bar`; a POST body is the next argument, then the query's `name=value` pairs. */
function pathCommand(url: URL, body: Buffer | undefined): RedisCommand {
  const segments = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '').split('/').map(decodeURIComponent)
  const args: Arg[] = segments.slice(1)
  if (body) args.push(body)
  // Arguments after the value go in the query: `POST /set/foo?EX=100` + body = SET foo <body> EX 100.
  for (const [key, value] of url.searchParams) {
    if (key === '_token') continue
    args.push(key)
    if (value !== '') args.push(value)
  }
  return { name: (segments[0] ?? '').toUpperCase(), args }
}

/**
 * Redis reply → Upstash JSON. With base64 every string is encoded except a top-level `OK` (the
 * client keeps a top-level `"OK"` as is and base64-decodes every other string, including array items).
 */
function toJson(reply: unknown, base64: boolean, top: boolean): Json {
  if (reply === null || reply === undefined) return null
  if (typeof reply === 'number') return reply
  if (typeof reply === 'bigint') return Number(reply)
  if (Buffer.isBuffer(reply)) {
    if (top && reply.length === 2 && reply.toString('latin1') === 'OK') return 'OK'
    return base64 ? reply.toString('base64') : reply.toString('utf8')
  }
  if (typeof reply === 'string') {
    if (top && reply === 'OK') return 'OK'
    return base64 ? Buffer.from(reply, 'utf8').toString('base64') : reply
  }
  if (Array.isArray(reply)) return reply.map((item: unknown) => toJson(item, base64, false))
  // An error nested in an array reply (e.g. a Lua table holding redis.error_reply()).
  if (reply instanceof Error) return toJson(reply.message, base64, false)
  return toJson(String(reply), base64, top)
}

function replyError(err: unknown): string {
  if (err instanceof Error && err.name === 'ReplyError') return err.message
  throw err
}

function unavailable(name: string): string {
  return `ERR Command is not available: '${name}'. See https://upstash.com/docs/redis/overall/rediscompatibility for details`
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
