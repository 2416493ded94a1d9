import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface GatewayProcess {
  url: string
  child: ChildProcess
  /** Everything the process wrote to stderr (startup banner, warnings). */
  stderr: () => string
  stdout: () => string
  /** Sends SIGTERM and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Writes a config file to a fresh temp folder and returns its path. */
export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'multillm-config-'))
  const path = join(dir, 'proxy_config.yaml')
  writeFileSync(path, yaml)
  return path
}

/**
 * Starts the real Node server (the bundle `npm start` runs) on a random port and waits for its
 * "listening on" line. The environment is explicit: nothing leaks in from the developer's shell.
 */
export async function startGateway(
  args: string[],
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['dist/node.mjs', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      MULTILLM_DATA_DIR: mkdtempSync(join(tmpdir(), 'multillm-data-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let stdout = ''
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${stderr}`)), 45_000)
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
      // The banner ends with the curl example: wait for it so callers see every startup line.
      const match = /listening on (http:\/\/[^\s]+)/.exec(stderr)
      if (match?.[1] && stderr.includes('try: curl')) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code}:\n${stderr}`))
    })
  })
  return {
    url,
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      const exited = once(child, 'exit')
      child.kill(signal)
      const [code] = (await exited) as [number | null]
      return code
    },
  }
}
