/**
 * The fake Upstash REST server must be indistinguishable from Upstash for the official
 * `@upstash/redis` client (default settings: auto-pipelining, base64 replies, read-your-writes).
 * Needs the real Redis on 127.0.0.1:6379; every key lives under a per-run prefix.
 */
import { randomUUID } from 'node:crypto'
import { Redis as Upstash } from '@upstash/redis'
import { Redis as IORedis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function redisReachable(): Promise<boolean> {
  const probe = new IORedis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

const available = await redisReachable()
if (!available) {
  if (process.env.REQUIRE_SERVICES)
    throw new Error(`REQUIRE_SERVICES is set but Redis is unreachable at ${REDIS_URL}; start redis-server`)
  console.warn(`[fakes-upstash] Redis unreachable at ${REDIS_URL}: skipping the fake Upstash tests`)
}

const PREFIX = `fake-upstash-test:${randomUUID()}:`
const key = (name: string): string => PREFIX + name

describe.runIf(available)('fake Upstash REST over real Redis', () => {
  let fake: FakeUpstash
  let direct: IORedis
  let redis: Upstash

  beforeAll(async () => {
    fake = await startFakeUpstash({ redisUrl: REDIS_URL })
    direct = new IORedis(REDIS_URL)
    redis = new Upstash({ url: fake.url, token: fake.token })
  })

  afterAll(async () => {
    const keys = await direct.keys(`${PREFIX}*`)
    if (keys.length > 0) await direct.del(...keys)
    direct.disconnect()
    await fake?.close()
  })

  /** Raw REST call, for checking the wire format itself. */
  async function rest(
    path: string,
    body?: unknown,
    init: { method?: string; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { ...init.headers }
    if (init.auth !== false) headers.authorization = `Bearer ${fake.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(fake.url + path, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
  }

  it('runs set/get/incr/expire/ttl/mget/del through the default (auto-pipelining, base64) client', async () => {
    const before = fake.requests.length
    expect(await redis.set(key('a'), 'hello')).toBe('OK')
    expect(await redis.get(key('a'))).toBe('hello')
    expect(await redis.incr(key('n'))).toBe(1)
    expect(await redis.incrby(key('n'), 41)).toBe(42)
    expect(await redis.expire(key('n'), 100)).toBe(1)
    const ttl = await redis.ttl(key('n'))
    expect(ttl).toBeGreaterThan(90)
    expect(ttl).toBeLessThanOrEqual(100)
    expect(await redis.ttl(key('missing'))).toBe(-2)
    expect(await redis.mget(key('a'), key('missing'), key('n'))).toEqual(['hello', null, 42])
    expect(await redis.get(key('missing'))).toBeNull()
    expect(await redis.del(key('a'), key('n'), key('missing'))).toBe(2)
    expect(await direct.exists(key('a'), key('n'))).toBe(0)

    const sent = fake.requests.slice(before)
    expect(sent.length).toBeGreaterThan(0)
    for (const req of sent) {
      expect(req.path).toBe('/pipeline')
      expect(req.method).toBe('POST')
      expect(req.headers['upstash-encoding']).toBe('base64')
      expect(req.headers.authorization).toBe(`Bearer ${fake.token}`)
      expect(req.status).toBe(200)
    }
    expect(sent[0]?.body).toEqual([['set', key('a'), 'hello']])
  })

  it('batches concurrent commands into one auto-pipeline request', async () => {
    const before = fake.requests.length
    const [s1, s2, s3] = await Promise.all([
      redis.set(key('p1'), 'one'),
      redis.set(key('p2'), 'two'),
      redis.set(key('p3'), 3),
    ])
    expect([s1, s2, s3]).toEqual(['OK', 'OK', 'OK'])
    const sent = fake.requests.slice(before)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.body).toEqual([
      ['set', key('p1'), 'one'],
      ['set', key('p2'), 'two'],
      ['set', key('p3'), 3],
    ])
    expect(await direct.mget(key('p1'), key('p2'), key('p3'))).toEqual(['one', 'two', '3'])
  })

  it('round-trips unicode, numbers-as-strings and JSON values like Upstash', async () => {
    const unicode = 'héllo wörld ✓ 🚀 中文 \u0000 nul'
    await redis.set(key('u'), unicode)
    expect(await redis.get(key('u'))).toBe(unicode)
    expect(await direct.get(key('u'))).toBe(unicode)

    // The client JSON-parses replies: "42" → 42, but "007", "1.50" and > 2^53 stay strings.
    await direct.mset(key('n1'), '42', key('n2'), '007', key('n3'), '1.50', key('n4'), '12345678901234567890')
    expect(await redis.get(key('n1'))).toBe(42)
    expect(await redis.get(key('n2'))).toBe('007')
    expect(await redis.get(key('n3'))).toBe('1.50')
    expect(await redis.get(key('n4'))).toBe('12345678901234567890')

    await redis.set(key('obj'), { x: 1, s: 'ü' }, { ex: 60 })
    expect(await direct.get(key('obj'))).toBe('{"x":1,"s":"ü"}')
    expect(await redis.get(key('obj'))).toEqual({ x: 1, s: 'ü' })
    expect(await direct.ttl(key('obj'))).toBeGreaterThan(0)

    // A stored "OK" is still "OK" after the base64 round trip.
    await direct.set(key('ok'), 'OK')
    expect(await redis.get(key('ok'))).toBe('OK')

    // Hash replies are flat arrays on the wire; the client builds the object (no ioredis transform).
    await redis.hset(key('h'), { a: 'x', b: 2, c: 'ñ' })
    expect(await redis.hgetall(key('h'))).toEqual({ a: 'x', b: 2, c: 'ñ' })
  })

  it('also serves clients without base64 encoding or auto-pipelining (POST /)', async () => {
    const plain = new Upstash({
      url: fake.url,
      token: fake.token,
      responseEncoding: false,
      enableAutoPipelining: false,
    })
    const before = fake.requests.length
    await plain.set(key('plain'), 'ça va ✓')
    expect(await plain.get(key('plain'))).toBe('ça va ✓')
    expect(await plain.lpush(key('list'), 'a', 'b')).toBe(2)
    expect(await plain.lrange(key('list'), 0, -1)).toEqual(['b', 'a'])
    const sent = fake.requests.slice(before)
    expect(sent.map((r) => r.path)).toEqual(['/', '/', '/', '/'])
    expect(sent[0]?.headers['upstash-encoding']).toBeUndefined()
  })

  it('runs explicit pipelines with per-command errors', async () => {
    await direct.set(key('str'), 'not a number')
    const results = await redis
      .pipeline()
      .set(key('pl'), 'v')
      .incr(key('plc'))
      .incr(key('str'))
      .get(key('pl'))
      .exec({ keepErrors: true })
    expect(results).toEqual([
      { result: 'OK', error: undefined },
      { result: 1, error: undefined },
      { result: undefined, error: 'ERR value is not an integer or out of range' },
      { result: 'v', error: undefined },
    ])
    await expect(redis.pipeline().get(key('pl')).incr(key('str')).exec()).rejects.toThrow(
      /Command 2 \[ incr \] failed: ERR value is not an integer or out of range/,
    )
  })

  it('runs multi-exec as a MULTI/EXEC transaction', async () => {
    const before = fake.requests.length
    const results = await redis
      .multi()
      .set(key('tx'), 10)
      .incrby(key('tx'), 5)
      .get(key('tx'))
      .rpush(key('txl'), 'a', 'b')
      .exec()
    expect(results).toEqual(['OK', 15, 15, 2])
    const sent = fake.requests.slice(before)
    expect(sent.map((r) => r.path)).toEqual(['/multi-exec'])
    expect(await direct.get(key('tx'))).toBe('15')

    // A runtime error does not abort the others (Redis semantics), the client reports it.
    await direct.set(key('txs'), 'text')
    const kept = await redis.multi().set(key('tx2'), 'a').incr(key('txs')).exec({ keepErrors: true })
    expect(kept).toEqual([
      { result: 'OK', error: undefined },
      { result: undefined, error: 'ERR value is not an integer or out of range' },
    ])
    expect(await direct.get(key('tx2'))).toBe('a')
  })

  it('discards the whole transaction on a queue-time error (single 400 error)', async () => {
    const res = await rest('/multi-exec', [['SET', key('never'), 'x'], ['GET']])
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error: "ERR wrong number of arguments for 'get' command" })
    expect(await direct.exists(key('never'))).toBe(0)

    const unsupported = await rest('/multi-exec', [
      ['SET', key('never'), 'x'],
      ['SUBSCRIBE', 'chan'],
    ])
    expect(unsupported.status).toBe(400)
    expect(unsupported.json).toEqual({ error: expect.stringMatching(/^ERR Command is not available/) })
    expect(await direct.exists(key('never'))).toBe(0)

    await expect(redis.multi().set(key('never'), 'x').exec()).resolves.toEqual(['OK'])
  })

  it('keeps transactions atomic under concurrent traffic', async () => {
    await direct.set(key('race'), '0')
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? redis.multi().incr(key('race')).incr(key('race')).exec<[number, number]>()
          : redis.pipeline().incr(key('race')).exec<[number]>(),
      ),
    )
    expect(await direct.get(key('race'))).toBe('60')
    // Each transaction's two increments are adjacent; every reply is a number (nothing "QUEUED").
    const seen: number[] = []
    for (const [i, replies] of outcomes.entries()) {
      for (const n of replies) expect(typeof n).toBe('number')
      if (i % 2 === 0) expect(replies[1]).toBe((replies[0] ?? Number.NaN) + 1)
      seen.push(...replies)
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
  })

  it('passes EVAL, SCRIPT LOAD and EVALSHA through, with NOSCRIPT → EVAL fallback in Script', async () => {
    const script = `return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1, redis.call('SET', KEYS[1], ARGV[1])['ok']}`
    expect(await redis.eval(script, [key('lua')], ['välue', 41])).toEqual([key('lua'), 'välue', 42, 'OK'])
    expect(await direct.get(key('lua'))).toBe('välue')

    const sha = await redis.scriptLoad('return redis.call("GET", KEYS[1])')
    expect(sha).toMatch(/^[0-9a-f]{40}$/)
    expect(await redis.evalsha(sha, [key('lua')], [])).toBe('välue')

    // A script Redis has never seen (random nonce): EVALSHA fails with NOSCRIPT, Script falls back.
    const nonce = randomUUID()
    const counter = redis.createScript<number>(`-- ${nonce}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`)
    const before = fake.requests.length
    expect(await counter.exec([key('cnt')], ['5'])).toBe(5)
    const first = fake.requests.slice(before).flatMap((r) => (Array.isArray(r.body) ? r.body : []))
    expect(first.map((cmd: unknown) => (Array.isArray(cmd) ? cmd[0] : undefined))).toEqual([
      'evalsha',
      'eval',
    ])
    // EVAL cached the script, so the next run is a single EVALSHA.
    const mid = fake.requests.length
    expect(await counter.exec([key('cnt')], ['2'])).toBe(7)
    const second = fake.requests.slice(mid).flatMap((r) => (Array.isArray(r.body) ? r.body : []))
    expect(second.map((cmd: unknown) => (Array.isArray(cmd) ? cmd[0] : undefined))).toEqual(['evalsha'])

    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT No matching script/)
    await expect(redis.eval('return redis.error_reply("MYERR custom")', [], [])).rejects.toThrow(
      /MYERR custom/,
    )
  })

  it('rejects a wrong or missing token with 401 Unauthorized', async () => {
    const wrong = new Upstash({ url: fake.url, token: 'not-the-token' })
    await expect(wrong.get(key('a'))).rejects.toThrow(/Unauthorized/)
    const noRetry = fake.requests.filter((r) => r.status === 401).length
    expect(noRetry).toBe(1)

    const res = await rest('/', ['GET', key('a')], { auth: false })
    expect(res).toEqual({ status: 401, json: { error: 'Unauthorized' } })
    const bad = await rest('/', ['GET', key('a')], { headers: { authorization: 'Bearer nope' }, auth: false })
    expect(bad.status).toBe(401)
  })

  it('speaks the REST wire format: single commands, errors, base64, path form, ?_token', async () => {
    expect(await rest('/', ['SET', key('w'), 'bar', 'EX', 100])).toEqual({
      status: 200,
      json: { result: 'OK' },
    })
    expect(await rest('/', ['GET', key('w')])).toEqual({ status: 200, json: { result: 'bar' } })
    expect(await rest('/', ['INCR', key('wn')])).toEqual({ status: 200, json: { result: 1 } })
    expect(await rest('/', ['GET', key('nope')])).toEqual({ status: 200, json: { result: null } })
    expect(await rest('/', ['GET'])).toEqual({
      status: 400,
      json: { error: "ERR wrong number of arguments for 'get' command" },
    })
    expect(await rest('/', ['INCR', key('w')])).toEqual({
      status: 400,
      json: { error: 'ERR value is not an integer or out of range' },
    })
    expect((await rest('/', '{not json')).status).toBe(400)

    const b64 = { headers: { 'upstash-encoding': 'base64' } }
    expect(await rest('/', ['GET', key('w')], b64)).toEqual({ status: 200, json: { result: 'YmFy' } })
    expect(await rest('/', ['SET', key('w'), 'bar'], b64)).toEqual({ status: 200, json: { result: 'OK' } })
    await direct.rpush(key('wl'), 'x', 'ü')
    expect(
      await rest('/', ['EVAL', 'return {1, redis.call("LRANGE", KEYS[1], 0, -1), false}', 1, key('wl')], b64),
    ).toEqual({ status: 200, json: { result: [1, ['eA==', 'w7w='], null] } })
    expect(
      await rest(
        '/pipeline',
        [
          ['GET', key('w')],
          ['INCR', key('w')],
          ['LLEN', key('wl')],
        ],
        b64,
      ),
    ).toEqual({
      status: 200,
      json: [{ result: 'YmFy' }, { error: 'ERR value is not an integer or out of range' }, { result: 2 }],
    })

    // Path form: GET /cmd/arg…, query args, POST body as the last argument, ?_token= auth.
    const enc = encodeURIComponent(key('path'))
    expect(await rest(`/set/${enc}/v%2F1`)).toEqual({ status: 200, json: { result: 'OK' } })
    expect(await rest(`/get/${enc}`)).toEqual({ status: 200, json: { result: 'v/1' } })
    expect(await rest(`/set/${enc}?EX=100`, 'posted body', { method: 'POST' })).toEqual({
      status: 200,
      json: { result: 'OK' },
    })
    expect(await direct.get(key('path'))).toBe('posted body')
    expect(await direct.ttl(key('path'))).toBeGreaterThan(0)
    expect(await rest(`/get/${enc}?_token=${fake.token}`, undefined, { auth: false })).toEqual({
      status: 200,
      json: { result: 'posted body' },
    })

    expect((await rest('/', undefined, { method: 'DELETE' })).status).toBe(405)
    expect(await rest('/', ['SUBSCRIBE', 'x'])).toEqual({
      status: 400,
      json: { error: expect.stringMatching(/^ERR Command is not available: 'SUBSCRIBE'/) },
    })
  })
})
