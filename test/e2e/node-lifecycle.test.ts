import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { eventFrame } from '../fakes/event-stream'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

const execFileAsync = promisify(execFile)
const running: Array<{ stop: () => Promise<unknown> }> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

const bedrockConfig = (endpoint: string) => `
model_list:
  - model_name: slow
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: AKIAFAKEFAKEFAKE0001
      aws_secret_access_key: fake-secret
      aws_bedrock_runtime_endpoint: ${endpoint}
general_settings:
  master_key: sk-life
`

/**
 * A Bedrock-shaped upstream that records when its client (the gateway) hangs up. Signatures are
 * not the point here; the SigV4-verifying fake covers them elsewhere.
 */
async function upstream(behaviour: 'hang-stream' | 'slow-json') {
  const closed: string[] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('close', () => {
      if (!res.writableFinished) closed.push(req.url ?? '')
    })
    if (behaviour === 'hang-stream') {
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' })
      res.write(eventFrame('messageStart', { role: 'assistant' }))
      res.write(eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'first words' } }))
      return // never finishes
    }
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          output: { message: { role: 'assistant', content: [{ text: 'finished after a while' }] } },
          stopReason: 'end_turn',
          usage: { inputTokens: 1, outputTokens: 4, totalTokens: 5 },
          metrics: { latencyMs: 1200 },
        }),
      )
    }, 1200)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const handle = { url, closed, stop: () => new Promise((r) => server.close(r)) }
  running.push({
    stop: () => {
      server.closeAllConnections()
      return handle.stop()
    },
  })
  return handle
}

async function gatewayFor(yaml: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gw = await startGateway(['--config', writeConfig(yaml)], env)
  running.push(gw)
  return gw
}

const chat = (gw: GatewayProcess, body: object, signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-life', 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  })

describe('Node server lifecycle', () => {
  it('a client that disconnects mid-stream aborts the upstream call', async () => {
    const up = await upstream('hang-stream')
    const gw = await gatewayFor(bedrockConfig(up.url))
    const controller = new AbortController()
    const res = await chat(
      gw,
      { model: 'slow', messages: [{ role: 'user', content: 'hi' }], stream: true },
      controller.signal,
    )
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toContain('first words')
    controller.abort()
    await expect.poll(() => up.closed.length, { timeout: 5000 }).toBe(1)
    expect(up.closed[0]).toContain('/converse-stream')
  })

  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const up = await upstream('slow-json')
    const gw = await gatewayFor(bedrockConfig(up.url))
    const inFlight = chat(gw, { model: 'slow', messages: [{ role: 'user', content: 'hi' }] })
    await new Promise((r) => setTimeout(r, 300))
    const exit = gw.stop('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('finished after a while')
    expect(await exit).toBe(0)
    expect(gw.stderr()).toContain('SIGTERM received: draining')
  })

  it('with no config and no master key: serves the embedded demo, generates a key once and prints it once', async () => {
    const first = await startGateway([], {})
    running.push(first)
    const key = /master key \(generated, printed once, stored in ([^)]+)\): (sk-[A-Za-z0-9_-]{22})/.exec(
      first.stderr(),
    )
    expect(key).not.toBeNull()
    expect(first.stderr()).toContain('embedded demo config')
    expect(first.stderr()).toContain('try: curl')

    const { stdout } = await execFileAsync('curl', [
      '-sS',
      `${first.url}/v1/chat/completions`,
      '-H',
      `Authorization: Bearer ${key![2]}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"model":"demo","messages":[{"role":"user","content":"Hello"}]}',
    ])
    expect(JSON.parse(stdout).choices[0].message.content).toMatch(/^Hello from MultiLLM Proxy!/)
    await first.stop()

    // Same data folder: the key is reused and not printed again.
    const dataDir = key![1]!.replace(/\/master_key$/, '')
    const second = await startGateway([], { MULTILLM_DATA_DIR: dataDir })
    running.push(second)
    expect(second.stderr()).not.toContain(key![2]!)
    expect(second.stderr()).toContain(`master key: stored in ${key![1]}`)
    const res = await fetch(`${second.url}/v1/models`, { headers: { authorization: `Bearer ${key![2]}` } })
    expect(res.status).toBe(200)
  })

  it('a bad config fails fast with the YAML path of the problem', async () => {
    const error = await startGateway([
      '--config',
      writeConfig('model_list:\n  - model_name: x\n    litellm_params: {}\n'),
    ]).catch((e: Error) => e)
    expect(String(error)).toMatch(/model_list\[0\]\.litellm_params\.model/)
  })

  it('creates a missing data folder for the embedded database when the master key comes from the env', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'multillm-missing-')), 'not', 'there', 'yet')
    const gw = await startGateway([], { LITELLM_MASTER_KEY: 'sk-env-key', MULTILLM_DATA_DIR: dataDir })
    running.push(gw)
    expect(gw.stderr()).toContain(`PGlite in ${join(dataDir, 'pglite')}`)
    const res = await fetch(`${gw.url}/key/generate`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-env-key', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(res.status).toBe(200)
  })
})
