import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type App, createApp } from '../../src/app'
import { configuredMasterKey } from '../../src/auth/master-key'
import { credentialChain } from '../../src/aws/credential-chain'
import { EMBEDDED_CONFIG_YAML } from '../../src/config/embedded'
import { loadConfigText, resolveConfigSource } from '../../src/config/load'
import { parseConfig } from '../../src/config/parse'
import type { GatewayConfig } from '../../src/config/types'
import type { Env } from '../../src/env'
import { createLogger } from '../../src/observability/logger'
import { migrate } from '../../src/store/migrate'
import { storeSettings } from '../../src/store/select'
import { type CliArgs, parseArgs, USAGE } from './args'
import { nodeFetch } from './http-fetch'
import { storedMasterKey } from './master-key-file'
import { type RunningServer, serve } from './serve'
import { describeUrl, openNodeStores } from './stores/open-stores'
import { nodeTimers } from './timers'

export interface Started {
  app: App
  server: RunningServer
  config: GatewayConfig
  masterKey: string
}

/** Starts the gateway from CLI flags and env; `say` prints human-facing startup lines. */
export async function start(
  argv: readonly string[],
  env: Env,
  say: (line: string) => void = (line) => console.error(line),
): Promise<Started | undefined> {
  const args: CliArgs = parseArgs(argv, env)
  if (args.help) {
    say(USAGE)
    return undefined
  }
  const source = resolveConfigSource({ configPath: args.configPath }, env)
  const text = source
    ? await loadConfigText(source, {
        env,
        fetch,
        readFile: (path) => readFile(resolve(path), 'utf8'),
        // A config in S3 is read with the same default chain the providers use (ECS task role, IMDS…).
        credentials: () =>
          credentialChain({ env, fetch, readFile: readTextFile }).defaultCredentials('the config file'),
      })
    : EMBEDDED_CONFIG_YAML
  const config = await parseConfig(text, env)
  for (const warning of config.warnings) say(`config warning: ${warning.path}: ${warning.message}`)

  const dataDir = env.MULTILLM_DATA_DIR || '.multillm'
  let masterKey = configuredMasterKey(config, env)
  let generated: { created: boolean; path: string } | undefined
  if (!masterKey) {
    const stored = await storedMasterKey(dataDir)
    masterKey = stored.key
    generated = stored
  }

  // Postgres (DATABASE_URL) or the embedded PGlite in the data folder; Redis/Upstash or in-memory counters.
  const settings = storeSettings(config, env)
  // PGlite creates its own folder but not the parents; the data folder may not exist yet when the
  // master key comes from the config or the environment.
  if (settings.sql.kind === 'embedded') await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const stores = await openNodeStores(settings, { dataDir: join(dataDir, 'pglite') })
  const applied = await migrate(stores.sql)
  say(
    `stores: ${describeStores(settings, dataDir)}${applied.length ? ` (migrations applied: ${applied.join(', ')})` : ''}`,
  )

  const logger = createLogger(args.logLevel)
  const maxMb =
    typeof config.generalSettings.max_request_size_mb === 'number'
      ? config.generalSettings.max_request_size_mb
      : 16
  const app = createApp({
    config,
    env,
    masterKey,
    logger,
    fetch: nodeFetch,
    stores,
    timers: nodeTimers,
    readFile: readTextFile,
  })
  const server = await serve(app, {
    port: args.port,
    host: args.host,
    maxBodyBytes: Math.floor(maxMb * 1024 * 1024),
  })

  say(`MultiLLM Proxy listening on ${server.url} (${source ? describe(source) : 'embedded demo config'})`)
  say(`model groups: ${[...new Set(config.deployments.map((d) => d.modelName))].join(', ') || '(none)'}`)
  if (generated?.created)
    say(`master key (generated, printed once, stored in ${generated.path}): ${masterKey}`)
  else if (generated) say(`master key: stored in ${generated.path}`)
  const example = config.deployments[0]?.modelName ?? 'demo'
  say(
    `try: curl ${server.url}/v1/chat/completions -H "Authorization: Bearer ${generated?.created ? masterKey : '$LITELLM_MASTER_KEY'}" -H "Content-Type: application/json" -d '{"model":"${example}","messages":[{"role":"user","content":"Hello"}]}'`,
  )
  return { app, server, config, masterKey }
}

/** Token files for the AWS credential chain (web identity, container authorization): absolute paths. */
const readTextFile = (path: string): Promise<string> => readFile(path, 'utf8')

function describeStores(settings: ReturnType<typeof storeSettings>, dataDir: string): string {
  const sql =
    settings.sql.kind === 'postgres'
      ? `Postgres ${describeUrl(settings.sql.url)}`
      : `PGlite in ${join(dataDir, 'pglite')}`
  const counters =
    settings.counters.kind === 'memory'
      ? 'in-memory counters (one instance)'
      : settings.counters.kind === 'upstash'
        ? 'Upstash Redis'
        : 'Redis'
  return `${sql}, ${counters}`
}

function describe(source: NonNullable<ReturnType<typeof resolveConfigSource>>): string {
  if (source.kind === 'file') return `config ${source.path}`
  if (source.kind === 's3') return `config s3://${source.bucket}/${source.key}`
  return 'inline config'
}
