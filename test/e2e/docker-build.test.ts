import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, posix } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Runs docker/Dockerfile without a Docker engine: the build stage's WORKDIR / COPY / RUN steps run in
 * a temp dir standing in for /app, the runtime stage gets only what it COPYs --from=build, and its
 * ENTRYPOINT is started with the stage's ENV. The steps come from the Dockerfile itself, so the test
 * breaks when the Dockerfile does.
 */

const REPO = process.cwd()
const TIMEOUT = 180_000
const MASTER_KEY = 'sk-docker-build'

interface Instruction {
  op: string
  args: string
}

interface Stage {
  from: string
  name: string | undefined
  instructions: Instruction[]
}

/** Joins `\` continuations, drops comments and blank lines, splits into stages. */
function parseDockerfile(text: string): Stage[] {
  const lines: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const trimmed = raw.trim()
    if (pending === '' && (trimmed === '' || trimmed.startsWith('#'))) continue
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1).trim()} `
      continue
    }
    lines.push(pending + trimmed)
    pending = ''
  }
  if (pending !== '') lines.push(pending.trim())

  const stages: Stage[] = []
  for (const line of lines) {
    const match = /^(\S+)\s*(.*)$/.exec(line)
    if (!match?.[1]) continue
    const op = match[1].toUpperCase()
    const args = match[2] ?? ''
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (!from?.[1]) throw new Error(`cannot parse FROM ${args}`)
      stages.push({ from: from[1], name: from[2], instructions: [] })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) throw new Error(`${op} before the first FROM`)
    stage.instructions.push({ op, args })
  }
  return stages
}

/** Splits `--flag=value` options off the front of an instruction's arguments. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {}
  const rest: string[] = []
  for (const word of args.split(/\s+/).filter(Boolean)) {
    const flag = /^--([\w-]+)(?:=(.*))?$/.exec(word)
    if (flag?.[1] && rest.length === 0) flags[flag[1]] = flag[2] ?? 'true'
    else rest.push(word)
  }
  return { flags, rest }
}

/** `ENV A=1 B=2` (and the legacy `ENV A 1`). Values here are unquoted words. */
function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {}
  const words = args.split(/\s+/).filter(Boolean)
  if (words[0] && !words[0].includes('=')) {
    env[words[0]] = words.slice(1).join(' ')
    return env
  }
  for (const word of words) {
    const eq = word.indexOf('=')
    env[word.slice(0, eq)] = word.slice(eq + 1).replace(/^"(.*)"$/, '$1')
  }
  return env
}

/** Exec form (`["node", "x"]`) or shell form (`node x`, run with sh -c like Docker does). */
function parseCommand(args: string): string[] {
  if (args.trim().startsWith('[')) {
    const parsed: unknown = JSON.parse(args)
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) {
      throw new Error(`bad exec form: ${args}`)
    }
    return parsed
  }
  return ['/bin/sh', '-c', args]
}

/** Resolves a container path against a stage's WORKDIR and maps it into the stage's temp dir. */
function hostPath(root: string, workdir: string, containerPath: string): string {
  const absolute = posix.resolve(workdir, containerPath)
  const rel = posix.relative(workdir, absolute)
  if (rel.startsWith('..')) throw new Error(`${containerPath} is outside ${workdir}`)
  return join(root, rel)
}

/** Docker COPY semantics for the cases the Dockerfile uses: a dir copies its contents. */
function copyInto(src: string, dest: string, destIsDir: boolean): void {
  if (!existsSync(src)) throw new Error(`COPY source missing: ${src}`)
  if (statSync(src).isDirectory()) cpSync(src, dest, { recursive: true })
  else cpSync(src, destIsDir ? join(dest, basename(src)) : dest)
}

function run(command: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code === 0) resolve()
      else reject(new Error(`RUN ${command} exited with ${code}:\n${output}`))
    })
  })
}

const dockerfile = readFileSync(join(REPO, 'docker/Dockerfile'), 'utf8')
const stages = parseDockerfile(dockerfile)
const buildStage = stages.find((s) => s.name === 'build')
const runtimeStage = stages.at(-1)

const tempDirs: string[] = []
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

let buildRoot = ''
let buildWorkdir = '/'
let runtimeRoot = ''
let gateway: ChildProcess | undefined
let gatewayUrl = ''
let gatewayStderr = ''

/** Build stage: WORKDIR, COPY from the repo, RUN in order. */
async function runBuildStage(stage: Stage): Promise<void> {
  buildRoot = tempDir('multillm-docker-build-')
  for (const { op, args } of stage.instructions) {
    if (op === 'WORKDIR') {
      buildWorkdir = posix.resolve(buildWorkdir, args.trim())
    } else if (op === 'COPY') {
      const { flags, rest } = splitFlags(args)
      expect(flags.from, 'build stage copies from the build context').toBeUndefined()
      const dest = rest.pop()
      if (!dest || rest.length === 0) throw new Error(`bad COPY ${args}`)
      const target = hostPath(buildRoot, buildWorkdir, dest)
      const destIsDir = dest.endsWith('/') || rest.length > 1
      for (const src of rest) copyInto(join(REPO, src), target, destIsDir)
    } else if (op === 'RUN') {
      const cwd = hostPath(buildRoot, buildWorkdir, '.')
      await run(args, cwd)
    }
  }
}

/** Runtime stage: only COPY --from=build and ENV; returns the ENTRYPOINT and the stage env. */
function runtimeStageSetup(stage: Stage): { entrypoint: string[]; env: Record<string, string> } {
  runtimeRoot = tempDir('multillm-docker-runtime-')
  let workdir = '/'
  let entrypoint: string[] = []
  const env: Record<string, string> = {}
  for (const { op, args } of stage.instructions) {
    if (op === 'WORKDIR') {
      workdir = posix.resolve(workdir, args.trim())
    } else if (op === 'ENV') {
      Object.assign(env, parseEnv(args))
    } else if (op === 'COPY') {
      const { flags, rest } = splitFlags(args)
      expect(flags.from, `runtime COPY ${args} must come from the build stage`).toBe('build')
      const dest = rest.pop()
      if (!dest || rest.length === 0) throw new Error(`bad COPY ${args}`)
      const target = hostPath(runtimeRoot, workdir, dest)
      const destIsDir = dest.endsWith('/') || rest.length > 1
      for (const src of rest) copyInto(hostPath(buildRoot, buildWorkdir, src), target, destIsDir)
    } else if (op === 'ENTRYPOINT') {
      entrypoint = parseCommand(args)
    }
    // RUN (mkdir /data), USER, EXPOSE, HEALTHCHECK, CMD: nothing to do outside a container.
  }
  return { entrypoint, env }
}

describe('docker/Dockerfile', () => {
  beforeAll(async () => {
    if (!buildStage || !runtimeStage || runtimeStage === buildStage) {
      throw new Error('expected a `FROM … AS build` stage and a final runtime stage')
    }
    await runBuildStage(buildStage)
    const { entrypoint, env } = runtimeStageSetup(runtimeStage)
    const [command, ...entryArgs] = entrypoint
    if (!command) throw new Error('runtime stage has no ENTRYPOINT')

    // The image's data volume (/data) maps to a temp dir.
    const dataDir = tempDir('multillm-docker-data-')
    const stageEnv = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.startsWith('/data') ? dataDir + v.slice('/data'.length) : v]),
    )
    const child = spawn(command, [...entryArgs, '--port', '0', '--host', '127.0.0.1'], {
      cwd: runtimeRoot,
      env: { PATH: process.env.PATH ?? '', ...stageEnv, LITELLM_MASTER_KEY: MASTER_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    gateway = child
    child.stdout?.resume()
    gatewayUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${gatewayStderr}`)), 15_000)
      child.stderr?.on('data', (d: Buffer) => {
        gatewayStderr += d.toString()
        const match = /listening on (http:\/\/[^\s]+)/.exec(gatewayStderr)
        if (match?.[1] && gatewayStderr.includes('try: curl')) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`gateway exited with ${code}:\n${gatewayStderr}`))
      })
    })
  }, TIMEOUT)

  afterAll(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      const exited = once(gateway, 'exit')
      gateway.kill('SIGKILL')
      await exited
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  })

  it('has a HEALTHCHECK that probes /health/liveliness', () => {
    const healthcheck = runtimeStage?.instructions.find((i) => i.op === 'HEALTHCHECK')
    expect(healthcheck?.args).toContain('/health/liveliness')
  })

  it('ships a runtime stage with dist/ only, no node_modules', () => {
    expect(existsSync(join(runtimeRoot, 'dist/node.mjs'))).toBe(true)
    expect(existsSync(join(runtimeRoot, 'node_modules'))).toBe(false)
  })

  it('answers liveliness', async () => {
    const res = await fetch(`${gatewayUrl}/health/liveliness`)
    expect(res.status).toBe(200)
    expect(await res.json()).toBe("I'm alive!")
  })

  it('serves the embedded demo model with the master key', async () => {
    const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]?.message.content).toContain('This is the embedded demo model')
  })

  it(
    'exits 0 on SIGTERM',
    async () => {
      const child = gateway
      if (!child) throw new Error('gateway not started')
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const [code] = (await exited) as [number | null]
      expect(code, gatewayStderr).toBe(0)
    },
    TIMEOUT,
  )
})
