// `npm run bench`: direct-to-upstream vs bare Node pass-through vs the gateway, in one run.
// Starts bench/upstream.mjs (fake Bedrock Runtime), bench/passthrough.mjs and dist/node.mjs as child
// processes, then measures throughput with autocannon and latency with a sequential keep-alive loop.
// Targets are reported, never asserted: the exit code only reflects whether the benchmark could run.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const DURATION_S = Number(process.env.BENCH_DURATION_S || 8)
const WARMUP_S = Number(process.env.BENCH_WARMUP_S || 2)
const CONNECTIONS = 10
const LATENCY_N = Number(process.env.BENCH_LATENCY_N || 2000)
const LATENCY_WARMUP_N = 300
const STARTUP_TIMEOUT_MS = 15_000

const MODEL_ID = 'anthropic.claude-3-haiku-20240307-v1:0'
const MASTER_KEY = 'sk-bench-key'
const CONVERSE_PATH = `/model/${encodeURIComponent(MODEL_ID)}/converse`
const CONVERSE_STREAM_PATH = `/model/${encodeURIComponent(MODEL_ID)}/converse-stream`
const CHAT_PATH = '/v1/chat/completions'

const CONVERSE_REQUEST = JSON.stringify({
  messages: [{ role: 'user', content: [{ text: 'Hello' }] }],
  inferenceConfig: { maxTokens: 64 },
})
const CHAT_REQUEST = JSON.stringify({
  model: 'bench-bedrock',
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 64,
})
const CHAT_STREAM_REQUEST = JSON.stringify({
  model: 'bench-bedrock',
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 64,
  stream: true,
})
const JSON_HEADERS = { 'content-type': 'application/json' }
const GATEWAY_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` }

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed on exit, error, SIGINT/SIGTERM.

const children = new Set()
let tmpDir
let shuttingDown = false

function cleanup() {
  shuttingDown = true
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL') // nothing to drain: the children hold no state worth keeping
      } catch {}
    }
  }
  children.clear()
  if (tmpDir) {
    try {
      rmSync(tmpDir, { recursive: true, force: true })
    } catch {}
    tmpDir = undefined
  }
}

process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping benchmark`)
    cleanup()
    process.exit(130)
  })
}

/**
 * Spawns `node args…` and resolves with its port, found by `portPattern` in stdout or stderr.
 * Output keeps being read afterwards (a full pipe would block the child) and a short tail is kept
 * for error messages.
 */
function startChild(name, args, { env = process.env, portPattern, stdin = 'pipe' }) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: [stdin, 'pipe', 'pipe'] })
  children.add(child)
  let tail = ''
  return new Promise((resolve, reject) => {
    let settled = false
    const timer = setTimeout(
      () => fail(new Error(`${name} did not report its port within ${STARTUP_TIMEOUT_MS} ms`)),
      STARTUP_TIMEOUT_MS,
    )
    const fail = (error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`${error.message}${tail ? `\n--- ${name} output ---\n${tail.trim()}` : ''}`))
    }
    const onData = (chunk) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000)
      if (settled) return
      const match = portPattern.exec(tail)
      if (match) {
        settled = true
        clearTimeout(timer)
        resolve({ child, port: Number(match[1]), tail: () => tail })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', fail)
    child.on('exit', (code, signal) => {
      children.delete(child)
      if (!settled) fail(new Error(`${name} exited early (code ${code}, signal ${signal})`))
      else if (!shuttingDown)
        console.error(`warning: ${name} exited during the run (code ${code}, signal ${signal})`)
    })
  })
}

// ---------------------------------------------------------------------------------------------
// One request with precise timing: hrtime before the request is issued, at the first body byte
// and at the end of the body.

function timedRequest(agent, port, reqPath, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    let tFirst = 0n
    const chunks = []
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: reqPath,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.on('data', (chunk) => {
          if (tFirst === 0n) tFirst = process.hrtime.bigint()
          chunks.push(chunk)
        })
        res.on('end', () => {
          const tEnd = process.hrtime.bigint()
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks),
            totalMs: Number(tEnd - t0) / 1e6,
            firstByteMs: Number((tFirst || tEnd) - t0) / 1e6,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
const sortNum = (values) => Float64Array.from(values).sort()
const median = (values) => (values.length ? percentile(sortNum(values), 0.5) : Number.NaN)

/**
 * Sequential (concurrency 1) latency: `n` requests to each target, interleaved direct/gateway so
 * both see the same machine state. Returns sorted total and first-byte times plus gateway headers.
 */
async function sequentialLatency(direct, gateway, n) {
  const agents = [
    new http.Agent({ keepAlive: true, maxSockets: 1 }),
    new http.Agent({ keepAlive: true, maxSockets: 1 }),
  ]
  const out = { direct: { total: [], first: [] }, gateway: { total: [], first: [] }, overhead: [] }
  try {
    for (let i = 0; i < LATENCY_WARMUP_N + n; i++) {
      const d = await timedRequest(agents[0], direct.port, direct.path, direct.headers, direct.body)
      const g = await timedRequest(agents[1], gateway.port, gateway.path, gateway.headers, gateway.body)
      if (d.status !== 200 || g.status !== 200) {
        throw new Error(
          `sequential loop: status ${d.status} direct, ${g.status} gateway: ${g.body.toString().slice(0, 300)}`,
        )
      }
      if (i < LATENCY_WARMUP_N) continue
      out.direct.total.push(d.totalMs)
      out.direct.first.push(d.firstByteMs)
      out.gateway.total.push(g.totalMs)
      out.gateway.first.push(g.firstByteMs)
      const overhead = Number(g.headers['x-litellm-overhead-duration-ms'])
      if (Number.isFinite(overhead)) out.overhead.push(overhead)
    }
  } finally {
    for (const agent of agents) agent.destroy()
  }
  for (const side of [out.direct, out.gateway]) {
    side.total = sortNum(side.total)
    side.first = sortNum(side.first)
  }
  return out
}

/** Throughput under load with autocannon (programmatic, no progress bar). */
async function load(port, reqPath, headers, body, duration) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${reqPath}`,
    method: 'POST',
    headers,
    body,
    connections: CONNECTIONS,
    pipelining: 1,
    duration,
  })
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

// ---------------------------------------------------------------------------------------------
// Output helpers.

const fmt = (value, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
const fmtInt = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a')
const pad = (text, width) => String(text).padStart(width)
const padEnd = (text, width) => String(text).padEnd(width)
const mark = (ok) => (ok ? '✓' : '✗')

function checkSanity(label, response, expect) {
  if (response.status !== 200 || !response.body.toString('utf8').includes(expect)) {
    throw new Error(
      `${label}: expected 200 containing ${JSON.stringify(expect)}, got ${response.status}: ${response.body.toString('utf8').slice(0, 500)}`,
    )
  }
}

async function main() {
  const startedAt = Date.now()

  const upstream = await startChild('upstream', ['bench/upstream.mjs'], { portPattern: /^(\d+)\n/ })
  const passthrough = await startChild('passthrough', ['bench/passthrough.mjs', String(upstream.port)], {
    portPattern: /^(\d+)\n/,
  })

  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'multillm-bench-'))
  const configPath = path.join(tmpDir, 'bench-config.yaml')
  writeFileSync(
    configPath,
    [
      'model_list:',
      '  - model_name: bench-bedrock',
      '    litellm_params:',
      `      model: bedrock/${MODEL_ID}`,
      '      aws_region_name: us-east-1',
      '      aws_access_key_id: AKIABENCHBENCHBENCH1',
      '      aws_secret_access_key: benchsecretbenchsecretbenchsecret',
      `      aws_bedrock_runtime_endpoint: http://127.0.0.1:${upstream.port}`,
      '',
    ].join('\n'),
  )
  const gatewayEnv = { ...process.env, LITELLM_MASTER_KEY: MASTER_KEY, MULTILLM_DATA_DIR: tmpDir }
  delete gatewayEnv.LITELLM_LOG
  const gateway = await startChild(
    'gateway',
    ['dist/node.mjs', '--config', configPath, '--port', '0', '--host', '127.0.0.1'],
    { env: gatewayEnv, portPattern: /MultiLLM Proxy listening on http:\/\/[^\s:]+:(\d+)/, stdin: 'ignore' },
  )

  const targets = {
    direct: { port: upstream.port, path: CONVERSE_PATH, headers: JSON_HEADERS, body: CONVERSE_REQUEST },
    passthrough: {
      port: passthrough.port,
      path: CONVERSE_PATH,
      headers: JSON_HEADERS,
      body: CONVERSE_REQUEST,
    },
    gateway: { port: gateway.port, path: CHAT_PATH, headers: GATEWAY_HEADERS, body: CHAT_REQUEST },
    directStream: {
      port: upstream.port,
      path: CONVERSE_STREAM_PATH,
      headers: JSON_HEADERS,
      body: CONVERSE_REQUEST,
    },
    passthroughStream: {
      port: passthrough.port,
      path: CONVERSE_STREAM_PATH,
      headers: JSON_HEADERS,
      body: CONVERSE_REQUEST,
    },
    gatewayStream: {
      port: gateway.port,
      path: CHAT_PATH,
      headers: GATEWAY_HEADERS,
      body: CHAT_STREAM_REQUEST,
    },
  }

  // Sanity: every target answers what we expect before anything is timed.
  const agent = new http.Agent({ keepAlive: false })
  const send = (t) => timedRequest(agent, t.port, t.path, t.headers, t.body)
  checkSanity('direct converse', await send(targets.direct), 'Hello! How can I help?')
  checkSanity('passthrough converse', await send(targets.passthrough), 'Hello! How can I help?')
  checkSanity('gateway chat', await send(targets.gateway), 'Hello! How can I help?')
  checkSanity('direct converse-stream', await send(targets.directStream), 'messageStop')
  checkSanity('passthrough converse-stream', await send(targets.passthroughStream), 'messageStop')
  const streamed = await send(targets.gatewayStream)
  checkSanity('gateway chat stream', streamed, 'data: [DONE]')
  const text = streamed.body
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? '')
    .join('')
  if (text !== 'Hello! How can I help?') throw new Error(`gateway stream text was ${JSON.stringify(text)}`)

  console.log(
    `MultiLLM Proxy benchmark: Node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model?.trim() ?? ''}`,
  )
  console.log(
    `upstream :${upstream.port}  passthrough :${passthrough.port}  gateway :${gateway.port}  ` +
      `(load: ${CONNECTIONS} connections × ${DURATION_S} s, pipelining 1; latency: ${LATENCY_N} sequential requests)`,
  )

  // Warm-up: JIT, connection pools, lazy init in every process.
  process.stderr.write('warming up… ')
  for (const t of Object.values(targets)) await load(t.port, t.path, t.headers, t.body, WARMUP_S / 2)
  await load(
    targets.gateway.port,
    targets.gateway.path,
    targets.gateway.headers,
    targets.gateway.body,
    WARMUP_S,
  )
  await load(
    targets.gatewayStream.port,
    targets.gatewayStream.path,
    targets.gatewayStream.headers,
    targets.gatewayStream.body,
    WARMUP_S,
  )

  process.stderr.write('sequential latency… ')
  const seq = await sequentialLatency(targets.direct, targets.gateway, LATENCY_N)
  const seqStream = await sequentialLatency(targets.directStream, targets.gatewayStream, LATENCY_N)
  // Reference point: what one extra Node hop costs with no gateway logic at all.
  const seqPass = await sequentialLatency(targets.direct, targets.passthrough, LATENCY_N)

  const throughput = {}
  for (const name of Object.keys(targets)) {
    process.stderr.write(`${name}… `)
    const t = targets[name]
    throughput[name] = await load(t.port, t.path, t.headers, t.body, DURATION_S)
  }
  process.stderr.write('done\n\n')

  // ---- report ----
  const rows = [
    ['non-streaming', throughput.direct, throughput.passthrough, throughput.gateway],
    ['streaming', throughput.directStream, throughput.passthroughStream, throughput.gatewayStream],
  ]
  console.log(`Throughput: requests/s (autocannon, ${CONNECTIONS} connections, ${DURATION_S} s each)`)
  console.log(
    `  ${padEnd('', 15)}${pad('direct', 10)}${pad('passthrough', 13)}${pad('gateway', 10)}${pad('gw/pass', 10)}${pad('gw/direct', 11)}${pad('gw p50/p99 ms', 16)}`,
  )
  for (const [label, d, p, g] of rows) {
    console.log(
      `  ${padEnd(label, 15)}${pad(fmtInt(d.rps), 10)}${pad(fmtInt(p.rps), 13)}${pad(fmtInt(g.rps), 10)}` +
        `${pad(fmt(g.rps / p.rps, 2), 10)}${pad(fmt(g.rps / d.rps, 2), 11)}${pad(`${fmt(g.p50, 2)} / ${fmt(g.p99, 2)}`, 16)}`,
    )
  }
  for (const [name, r] of Object.entries(throughput)) {
    if (r.non2xx || r.errors)
      console.log(`  warning: ${name}: ${r.non2xx} non-2xx responses, ${r.errors} errors/timeouts`)
  }

  const lat = (label, d, g) => {
    const d50 = percentile(d, 0.5)
    const d99 = percentile(d, 0.99)
    const g50 = percentile(g, 0.5)
    const g99 = percentile(g, 0.99)
    console.log(
      `  ${padEnd(label, 24)}${pad(`${fmt(d50)} / ${fmt(d99)}`, 17)}${pad(`${fmt(g50)} / ${fmt(g99)}`, 17)}` +
        `${pad(`${fmt(g50 - d50)} / ${fmt(g99 - d99)}`, 17)}${pad(`${fmt(g50 / d50, 2)} / ${fmt(g99 / d99, 2)}`, 14)}`,
    )
    return { p50: g50 - d50, p99: g99 - d99 }
  }
  console.log('')
  console.log(`Latency: ms, p50 / p99 (${LATENCY_N} sequential keep-alive requests each, interleaved)`)
  console.log(
    `  ${padEnd('', 24)}${pad('direct', 17)}${pad('gateway', 17)}${pad('added', 17)}${pad('gw/direct', 14)}`,
  )
  const added = lat('non-streaming total', seq.direct.total, seq.gateway.total)
  const addedTtft = lat('streaming first byte', seqStream.direct.first, seqStream.gateway.first)
  lat('streaming total', seqStream.direct.total, seqStream.gateway.total)
  lat('bare pass-through (ref.)', seqPass.direct.total, seqPass.gateway.total)

  console.log('')
  console.log(
    `Gateway-reported x-litellm-overhead-duration-ms, median: non-streaming ${fmt(median(seq.overhead))}` +
      `, streaming ${fmt(median(seqStream.overhead))} (${seq.overhead.length}/${seqStream.overhead.length} responses carried it)`,
  )

  const ratio = throughput.gateway.rps / throughput.passthrough.rps
  const checks = [
    [added.p50 <= 0.3, 'non-streaming added latency p50 ≤ 0.3 ms', `${fmt(added.p50)} ms`],
    [added.p99 <= 1, 'non-streaming added latency p99 ≤ 1 ms', `${fmt(added.p99)} ms`],
    [ratio >= 0.6, 'non-streaming throughput ≥ 60 % of bare passthrough', `${fmt(ratio * 100, 1)} %`],
    [addedTtft.p50 <= 1, 'streaming added time-to-first-token (p50) ≤ 1 ms', `${fmt(addedTtft.p50)} ms`],
  ]
  console.log('')
  console.log('Design targets (reported, not asserted)')
  for (const [ok, label, value] of checks) console.log(`  ${mark(ok)} ${padEnd(label, 52)} measured ${value}`)
  console.log('')
  console.log(`total run time ${fmt((Date.now() - startedAt) / 1000, 1)} s`)
}

main()
  .then(() => 0)
  .catch((error) => {
    console.error(
      `\nbenchmark failed: ${error instanceof Error ? error.stack || error.message : String(error)}`,
    )
    return 1
  })
  .then((code) => {
    cleanup()
    process.exit(code)
  })
