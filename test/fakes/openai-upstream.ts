/**
 * Local fake of an OpenAI-compatible server (OpenAI itself, vLLM, another LiteLLM proxy): bearer-key
 * checked, `POST <prefix>/chat/completions` (JSON or SSE) and `POST <prefix>/embeddings`, recording
 * every request. SSE is written the way real servers do (`data: {...}\n\n`, a final usage chunk when
 * `stream_options.include_usage`, `data: [DONE]`), then split at awkward byte boundaries (through
 * multi-byte characters and between `\r` and `\n`) so the reader's buffering is exercised. Tests
 * script errors (OpenAI error JSON, retry-after), delays, hangs, resets, redirects and cut streams.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AWKWARD_PATTERN, concatBytes, splitAwkwardly } from './event-stream'
import { flatHeaders, isGone, Lifecycle, listen, nextTick, readBody } from './http-util'

export interface FakeToolCall {
  id?: string
  name: string
  /** JSON text, as OpenAI sends it. */
  arguments: string
}

export interface FakeUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens: number }
}

/** An answer; fields left out are derived from the request (see `defaultReplyFor`). */
export interface FakeReply {
  text?: string
  reasoning?: string
  toolCalls?: FakeToolCall[]
  finishReason?: string
  usage?: Partial<FakeUsage>
  /** The `model` field of the answer; default: the requested model + `-fake-0001`. */
  model?: string
}

interface Delayed {
  /** Wait this long before answering at all. */
  delayMs?: number
}

export interface FakeStreamPlan extends Delayed {
  type: 'stream'
  reply?: FakeReply
  /** Chunks (JSON-serialised) to send instead of the derived ones. `[DONE]` still follows. */
  chunks?: unknown[]
  /** Raw SSE text to send verbatim instead of anything derived. */
  raw?: string
  /** Send a `: keep-alive` comment before every event. */
  keepAlive?: boolean
  /** End lines with `\r\n` instead of `\n`. */
  crlf?: boolean
  /** Leave out `data: [DONE]`. */
  omitDone?: boolean
  /** After this many events, send `data: {"error": …}` and end. */
  errorAfter?: number
  error?: { message: string; type?: string; code?: string | number | null }
  /** After this many events, send half of the next one and end the body (`end`) or kill the socket. */
  truncateAfter?: number
  truncateMode?: 'end' | 'destroy'
  /** After this many events, stop writing and keep the connection open. */
  hangAfter?: number
  /** Pause after each whole event. */
  eventGapMs?: number
  /** Piece sizes for splitting the bytes; `false` writes whole events. Default: AWKWARD_PATTERN. */
  split?: readonly number[] | false
}

export type FakeOpenAIPlan =
  | (Delayed & { type: 'default' })
  | (Delayed & { type: 'reply' } & FakeReply)
  | (Delayed & {
      type: 'error'
      status: number
      message?: string
      errorType?: string
      code?: string | null
      headers?: Record<string, string>
      /** Send this body verbatim (HTML from a proxy, empty …) instead of OpenAI's error JSON. */
      rawBody?: string
    })
  | (Delayed & { type: 'json'; status?: number; body: unknown; headers?: Record<string, string> })
  | FakeStreamPlan
  | (Delayed & { type: 'redirect'; location: string; status?: number })
  /** Never answer. */
  | { type: 'hang' }
  /** Destroy the connection without an answer. */
  | (Delayed & { type: 'reset' })

export type PlanStep = FakeOpenAIPlan | ((req: RecordedOpenAIRequest) => FakeOpenAIPlan | undefined)

export interface RecordedOpenAIRequest {
  method: string
  /** Path with query, as received. */
  path: string
  route: 'chat' | 'embeddings' | undefined
  headers: Record<string, string>
  /** The `Authorization` header, verbatim (undefined when absent). */
  authorization: string | undefined
  rawBody: string
  body: Record<string, unknown> | undefined
  status?: number
  /** How a streamed answer ended: written to the end, or abandoned because the client went away. */
  streamOutcome?: 'complete' | 'client-gone'
  receivedAt: number
}

export interface FakeOpenAIOptions {
  /** The bearer key required; undefined accepts any request, with or without a key. */
  apiKey?: string
  /** Path prefix before `/chat/completions` (default `/v1`). */
  prefix?: string
  /** Default `model` reported in answers; default the requested model + `-fake-0001`. */
  reportedModel?: (requested: string) => string
  /** Embedding length (default 8). */
  dimensions?: number
}

export interface FakeOpenAI {
  /** Base URL including the prefix: what `api_base` is set to. */
  url: string
  /** The server root, without the prefix. */
  origin: string
  port: number
  requests: RecordedOpenAIRequest[]
  script(...steps: PlanStep[]): void
  setHandler(handler: ((req: RecordedOpenAIRequest) => FakeOpenAIPlan | undefined) | undefined): void
  reset(): void
  close(): Promise<void>
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

export const countWords = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length

/** Text of a message's content (string, or text parts joined with a space). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  return asArray(content)
    .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((s) => s.length > 0)
    .join(' ')
}

/** Words in every message (content and tool-call arguments): the fake's prompt token count. */
export function countPromptWords(body: unknown): number {
  if (!isObject(body)) return 0
  let words = 0
  for (const message of asArray(body.messages)) {
    if (!isObject(message)) continue
    words += countWords(contentText(message.content))
    for (const call of asArray(message.tool_calls)) {
      if (isObject(call) && isObject(call.function))
        words += countWords(String(call.function.arguments ?? ''))
    }
  }
  return words
}

export const newToolCallId = (): string => `call_${randomBytes(12).toString('hex')}`

export interface ResolvedReply {
  text: string | null
  reasoning: string | undefined
  toolCalls: Required<FakeToolCall>[]
  finishReason: string
  usage: FakeUsage
  model: string
}

/**
 * What the fake answers by default, like the Bedrock fake:
 * - the last message is a tool result → `Tool result: <content>`;
 * - tools are offered and the last user text mentions "weather" → a call of the first tool with
 *   `{"city":"Paris"}`, finish `tool_calls`, no text;
 * - otherwise `You said: <last user text>`; `max_tokens` (or `max_completion_tokens`) below its word
 *   count keeps that many words, finish `length`.
 * Usage: prompt = words of all messages, completion = words of the text and tool arguments.
 */
export function defaultReplyFor(body: unknown, reportedModel: string, override?: FakeReply): ResolvedReply {
  const request = isObject(body) ? body : {}
  const messages = asArray(request.messages).filter(isObject)
  const last = messages.at(-1)
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')
  const userText = contentText(lastUser?.content)
  const firstTool = asArray(request.tools)
    .filter(isObject)
    .map((t) => (isObject(t.function) ? t.function : undefined))
    .find((fn) => typeof fn?.name === 'string')

  let text: string | null = null
  let toolCalls: Required<FakeToolCall>[] = []
  let finishReason = 'stop'
  if (override?.text !== undefined || override?.toolCalls !== undefined) {
    text = override.text ?? null
    toolCalls = (override.toolCalls ?? []).map((c) => ({ ...c, id: c.id ?? newToolCallId() }))
    if (toolCalls.length > 0) finishReason = 'tool_calls'
  } else if (last?.role === 'tool') {
    text = `Tool result: ${contentText(last.content)}`
  } else if (firstTool && /weather/i.test(userText)) {
    toolCalls = [{ id: newToolCallId(), name: String(firstTool.name), arguments: '{"city":"Paris"}' }]
    finishReason = 'tool_calls'
  } else {
    text = `You said: ${userText}`
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens
  if (
    override?.text === undefined &&
    text !== null &&
    typeof maxTokens === 'number' &&
    countWords(text) > maxTokens
  ) {
    text = text.split(/\s+/).filter(Boolean).slice(0, maxTokens).join(' ')
    finishReason = 'length'
  }
  const prompt = countPromptWords(body)
  const completion =
    (text === null ? 0 : countWords(text)) + toolCalls.reduce((n, c) => n + countWords(c.arguments), 0)
  const usage: FakeUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...override?.usage,
  }
  if (override?.usage?.total_tokens === undefined)
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
  return {
    text,
    reasoning: override?.reasoning,
    toolCalls,
    finishReason: override?.finishReason ?? finishReason,
    usage,
    model: override?.model ?? reportedModel,
  }
}

/** A `chat.completion` body. */
export function completionBody(reply: ResolvedReply): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: reply.text }
  if (reply.reasoning !== undefined) message.reasoning_content = reply.reasoning
  if (reply.toolCalls.length > 0) {
    message.tool_calls = reply.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }))
  }
  return {
    id: `chatcmpl-${randomBytes(8).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason }],
    usage: reply.usage,
  }
}

/** Word-ish pieces that keep their leading whitespace: `You`, ` said:`, ` hi`. */
export const textPieces = (text: string): string[] => text.match(/\s*\S+|\s+$/g) ?? []

/**
 * `chat.completion.chunk`s in OpenAI's order: role chunk (empty content), reasoning pieces, text
 * pieces, per tool call a chunk with id/name and empty arguments then argument fragments, the
 * finish chunk, and, when asked for, the usage chunk with no choices.
 */
export function streamChunks(reply: ResolvedReply, includeUsage: boolean): Record<string, unknown>[] {
  const id = `chatcmpl-${randomBytes(8).toString('hex')}`
  const created = Math.floor(Date.now() / 1000)
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: reply.model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  })
  const chunks: Record<string, unknown>[] = [chunk({ role: 'assistant', content: '' })]
  for (const piece of reply.reasoning === undefined ? [] : textPieces(reply.reasoning))
    chunks.push(chunk({ reasoning_content: piece }))
  for (const piece of reply.text === null ? [] : textPieces(reply.text))
    chunks.push(chunk({ content: piece }))
  reply.toolCalls.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    )
    for (let i = 0; i < call.arguments.length; i += 7) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(i, i + 7) } }] }))
    }
  })
  chunks.push(chunk({}, reply.finishReason))
  if (includeUsage) {
    chunks.push({
      id,
      object: 'chat.completion.chunk',
      created,
      model: reply.model,
      system_fingerprint: 'fp_fake',
      choices: [],
      usage: reply.usage,
    })
  }
  return chunks
}

/** A deterministic unit-ish vector per input text (so tests can compare exact values). */
export function fakeEmbedding(input: unknown, dimensions: number): number[] {
  const text = typeof input === 'string' ? input : JSON.stringify(input)
  const out: number[] = []
  for (let i = 0; i < dimensions; i++) {
    let h = 2166136261 ^ i
    for (let j = 0; j < text.length; j++) h = Math.imul(h ^ text.charCodeAt(j), 16777619)
    // float32-representable values, so a base64 round trip is exact.
    out.push(Math.fround(((h >>> 0) % 2000) / 1000 - 1))
  }
  return out
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const prefix = (options.prefix ?? '/v1').replace(/\/+$/, '')
  const dimensions = options.dimensions ?? 8
  const reportedModel = options.reportedModel ?? ((requested: string) => `${requested}-fake-0001`)
  const lifecycle = new Lifecycle()
  const requests: RecordedOpenAIRequest[] = []
  let queue: PlanStep[] = []
  let handler: ((req: RecordedOpenAIRequest) => FakeOpenAIPlan | undefined) | undefined

  const sendJson = (
    res: ServerResponse,
    record: RecordedOpenAIRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    record.status = status
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-request-id': `req_${randomBytes(6).toString('hex')}`,
      ...headers,
    })
    res.end(JSON.stringify(body))
  }

  const sendError = (
    res: ServerResponse,
    record: RecordedOpenAIRequest,
    status: number,
    message: string,
    extra: {
      type?: string
      code?: string | null
      param?: string | null
      headers?: Record<string, string>
    } = {},
  ) =>
    sendJson(
      res,
      record,
      status,
      {
        error: {
          message,
          type:
            extra.type ??
            (status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error'),
          param: extra.param ?? null,
          code: extra.code ?? null,
        },
      },
      extra.headers,
    )

  const writeStream = async (res: ServerResponse, record: RecordedOpenAIRequest, plan: FakeStreamPlan) => {
    const body = record.body ?? {}
    const eol = plan.crlf ? '\r\n' : '\n'
    let events: string[]
    if (plan.raw !== undefined) {
      events = [plan.raw]
    } else {
      const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true
      const chunks =
        plan.chunks ??
        streamChunks(defaultReplyFor(body, reportedModel(String(body.model)), plan.reply), includeUsage)
      events = chunks.map(
        (c) => `${plan.keepAlive ? `: keep-alive${eol}${eol}` : ''}data: ${JSON.stringify(c)}${eol}${eol}`,
      )
      if (plan.errorAfter !== undefined) {
        const error = plan.error ?? {
          message: 'The engine crashed mid-stream',
          type: 'server_error',
          code: null,
        }
        events = [...events.slice(0, plan.errorAfter), `data: ${JSON.stringify({ error })}${eol}${eol}`]
      } else if (!plan.omitDone) {
        events.push(`data: [DONE]${eol}${eol}`)
      }
    }
    let ending: 'end' | 'destroy' | 'hang' = 'end'
    if (plan.truncateAfter !== undefined) {
      const n = Math.min(plan.truncateAfter, events.length - 1)
      const victim = events[n] ?? ''
      events = [...events.slice(0, n), victim.slice(0, Math.floor(victim.length / 2))]
      ending = plan.truncateMode ?? 'end'
    } else if (plan.hangAfter !== undefined) {
      events = events.slice(0, plan.hangAfter)
      ending = 'hang'
    }

    record.status = 200
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
    res.flushHeaders()
    const encoded = events.map((e) => new TextEncoder().encode(e))
    const eventEnds: number[] = []
    for (const e of encoded) eventEnds.push((eventEnds.at(-1) ?? 0) + e.byteLength)
    const pieces =
      plan.split === false ? encoded : splitAwkwardly(concatBytes(encoded), plan.split ?? AWKWARD_PATTERN)
    let written = 0
    let nextEnd = 0
    for (const piece of pieces) {
      if (isGone(res) || lifecycle.closed) {
        record.streamOutcome = 'client-gone'
        return
      }
      res.write(piece)
      written += piece.byteLength
      await nextTick()
      let crossed = false
      while (nextEnd < eventEnds.length && (eventEnds[nextEnd] ?? 0) <= written) {
        nextEnd++
        crossed = true
      }
      if (crossed && plan.eventGapMs !== undefined && plan.eventGapMs > 0)
        await lifecycle.sleep(plan.eventGapMs)
    }
    if (isGone(res) || lifecycle.closed) {
      record.streamOutcome = 'client-gone'
      return
    }
    record.streamOutcome = 'complete'
    if (ending === 'end') res.end()
    else if (ending === 'destroy') res.destroy()
  }

  const perform = async (
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedOpenAIRequest,
    plan: FakeOpenAIPlan,
  ) => {
    if (plan.type === 'hang') return
    if (plan.delayMs !== undefined) await lifecycle.sleep(plan.delayMs)
    if (isGone(res) || lifecycle.closed) return
    const body = record.body ?? {}
    switch (plan.type) {
      case 'reset':
        req.socket.destroy()
        return
      case 'redirect':
        record.status = plan.status ?? 307
        res.writeHead(record.status, { location: plan.location })
        res.end()
        return
      case 'error':
        if (plan.rawBody !== undefined) {
          record.status = plan.status
          res.writeHead(plan.status, { 'content-type': 'text/html', ...plan.headers })
          res.end(plan.rawBody)
          return
        }
        sendError(res, record, plan.status, plan.message ?? `Error ${plan.status}`, {
          ...(plan.errorType === undefined ? {} : { type: plan.errorType }),
          ...(plan.code === undefined ? {} : { code: plan.code }),
          ...(plan.headers === undefined ? {} : { headers: plan.headers }),
        })
        return
      case 'json':
        sendJson(res, record, plan.status ?? 200, plan.body, plan.headers)
        return
      case 'stream':
        await writeStream(res, record, plan)
        return
      case 'default':
      case 'reply': {
        if (record.route === 'embeddings') {
          const inputs = Array.isArray(body.input) ? body.input : [body.input]
          const vectors = inputs.map((input) => fakeEmbedding(input, dimensions))
          const tokens = inputs.reduce(
            (n: number, input) => n + (typeof input === 'string' ? countWords(input) : asArray(input).length),
            0,
          )
          sendJson(res, record, 200, {
            object: 'list',
            data: vectors.map((embedding, index) => ({
              object: 'embedding',
              index,
              embedding:
                body.encoding_format === 'base64'
                  ? Buffer.from(new Float32Array(embedding).buffer).toString('base64')
                  : embedding,
            })),
            model: reportedModel(String(body.model)),
            usage: { prompt_tokens: tokens, total_tokens: tokens },
          })
          return
        }
        const override = plan.type === 'reply' ? plan : undefined
        if (body.stream === true) {
          await writeStream(res, record, { type: 'stream', ...(override ? { reply: override } : {}) })
          return
        }
        sendJson(
          res,
          record,
          200,
          completionBody(defaultReplyFor(body, reportedModel(String(body.model)), override)),
        )
        return
      }
    }
  }

  const nextPlan = (record: RecordedOpenAIRequest): FakeOpenAIPlan => {
    const step = queue.shift()
    if (step !== undefined) return (typeof step === 'function' ? step(record) : step) ?? { type: 'default' }
    return handler?.(record) ?? { type: 'default' }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/'
    const method = req.method ?? 'GET'
    const headers = flatHeaders(req)
    const rawBody = Buffer.from(await readBody(req)).toString('utf8')
    let body: Record<string, unknown> | undefined
    try {
      const parsed: unknown = rawBody.length > 0 ? JSON.parse(rawBody) : undefined
      body = isObject(parsed) ? parsed : undefined
    } catch {
      body = undefined
    }
    const pathname = path.split('?')[0] ?? ''
    const route =
      pathname === `${prefix}/chat/completions`
        ? 'chat'
        : pathname === `${prefix}/embeddings`
          ? 'embeddings'
          : undefined
    const record: RecordedOpenAIRequest = {
      method,
      path,
      route,
      headers,
      authorization: headers.authorization,
      rawBody,
      body,
      receivedAt: Date.now(),
    }
    requests.push(record)

    if (options.apiKey !== undefined && headers.authorization !== `Bearer ${options.apiKey}`) {
      // OpenAI's wording, masking all but the last 4 characters of whatever key was sent.
      const sent = (headers.authorization ?? '').replace(/^Bearer\s+/i, '')
      sendError(
        res,
        record,
        401,
        sent === ''
          ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
          : `Incorrect API key provided: ${sent.slice(0, 3)}****${sent.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        { code: 'invalid_api_key' },
      )
      return
    }
    if (method !== 'POST' || route === undefined) {
      sendError(res, record, 404, `Unknown request URL: ${method} ${pathname}.`, { code: 'unknown_url' })
      return
    }
    if (body === undefined) {
      sendError(res, record, 400, 'We could not parse the JSON body of your request.')
      return
    }
    if (typeof body.model !== 'string' || body.model === '') {
      sendError(res, record, 400, 'you must provide a model parameter', { param: 'model' })
      return
    }
    if (route === 'chat' && (!Array.isArray(body.messages) || body.messages.length === 0)) {
      sendError(res, record, 400, "Invalid 'messages': empty array.", { param: 'messages' })
      return
    }
    if (route === 'chat' && body.stream !== true && body.stream_options !== undefined) {
      sendError(
        res,
        record,
        400,
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        {
          param: 'stream_options',
        },
      )
      return
    }
    await perform(req, res, record, nextPlan(record))
  }

  const started = await listen(handle, lifecycle)
  return {
    url: `${started.url}${prefix}`,
    origin: started.url,
    port: started.port,
    requests,
    script: (...steps) => {
      queue.push(...steps)
    },
    setHandler: (fn) => {
      handler = fn
    },
    reset: () => {
      queue = []
      handler = undefined
      requests.length = 0
    },
    close: started.close,
  }
}
