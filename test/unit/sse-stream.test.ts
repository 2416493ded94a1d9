import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { type StreamOutcome, toSseStream } from '../../src/openai/sse-stream'
import type { ChatDelta } from '../../src/providers/types'

const meta = { id: 'chatcmpl-1', created: 1700000000, model: 'demo' }

async function* from(deltas: ChatDelta[], fail?: GatewayError) {
  for (const d of deltas) yield d
  if (fail) throw fail
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text()
}

function events(text: string): string[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''))
}

describe('toSseStream', () => {
  const deltas: ChatDelta[] = [
    { content: 'Hel' },
    { content: 'lo' },
    { finishReason: 'stop' },
    { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
  ]

  it('emits OpenAI chunks with role first, finish_reason, usage chunk and [DONE]', async () => {
    let outcome: StreamOutcome | undefined
    const text = await readAll(
      toSseStream(from(deltas), {
        meta,
        includeUsage: true,
        onCancel: () => {},
        onEnd: (o) => (outcome = o),
      }),
    )
    const list = events(text)
    expect(list.at(-1)).toBe('[DONE]')
    const chunks = list.slice(0, -1).map((e) => JSON.parse(e))
    expect(chunks.every((c) => c.id === 'chatcmpl-1' && c.object === 'chat.completion.chunk')).toBe(true)
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: 'Hel' })
    expect(chunks[1].choices[0].delta).toEqual({ content: 'lo' })
    expect(chunks[2].choices[0].finish_reason).toBe('stop')
    expect(chunks[3].choices).toEqual([])
    expect(chunks[3].usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })
    expect(outcome).toEqual({
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      cancelled: false,
    })
  })

  it('leaves the usage chunk out unless stream_options.include_usage', async () => {
    const text = await readAll(
      toSseStream(from(deltas), { meta, includeUsage: false, onCancel: () => {}, onEnd: () => {} }),
    )
    expect(text).not.toContain('"usage"')
    expect(events(text).at(-1)).toBe('[DONE]')
  })

  it('turns a mid-stream failure into one error event and no [DONE]', async () => {
    const fail = new GatewayError({ status: 429, message: 'BedrockException - Too many requests' })
    let outcome: StreamOutcome | undefined
    const text = await readAll(
      toSseStream(from([{ content: 'partial' }], fail), {
        meta,
        includeUsage: true,
        onCancel: () => {},
        onEnd: (o) => (outcome = o),
      }),
    )
    const list = events(text)
    expect(list).not.toContain('[DONE]')
    expect(JSON.parse(list.at(-1)!)).toEqual({
      error: {
        message: 'BedrockException - Too many requests',
        type: 'rate_limit_error',
        param: null,
        code: '429',
      },
    })
    expect(outcome?.error).toBe(fail)
  })

  it('calls onCancel and stops pulling when the client goes away', async () => {
    let pulled = 0
    let cancelled = false
    async function* endless() {
      for (;;) {
        pulled++
        yield { content: 'x' }
      }
    }
    const stream = toSseStream(endless(), {
      meta,
      includeUsage: false,
      onCancel: () => (cancelled = true),
      onEnd: () => {},
    })
    const reader = stream.getReader()
    await reader.read()
    await reader.read()
    await reader.cancel()
    const after = pulled
    await new Promise((r) => setTimeout(r, 10))
    expect(cancelled).toBe(true)
    expect(pulled).toBe(after)
    expect(pulled).toBeLessThan(10)
  })

  it('treats a failure after the client left as a cancellation, not an error event', async () => {
    let outcome: StreamOutcome | undefined
    const text = await readAll(
      toSseStream(from([{ content: 'partial' }], new GatewayError({ status: 500, message: 'aborted' })), {
        meta,
        includeUsage: false,
        clientGone: () => true,
        onCancel: () => {},
        onEnd: (o) => (outcome = o),
      }),
    )
    expect(text).not.toContain('"error"')
    expect(outcome).toEqual({ usage: undefined, cancelled: true })
  })
})
