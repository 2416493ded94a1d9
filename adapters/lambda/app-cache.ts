import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type App, createApp } from '../../src/app'
import { configuredMasterKey } from '../../src/auth/master-key'
import { credentialChain } from '../../src/aws/credential-chain'
import { EMBEDDED_CONFIG_YAML } from '../../src/config/embedded'
import { type ConfigSource, loadConfigText, resolveConfigSource } from '../../src/config/load'
import { parseConfig } from '../../src/config/parse'
import type { Env } from '../../src/env'
import { createLogger, type Logger } from '../../src/observability/logger'
import { openLambdaStores } from './stores'

let cached: Promise<App> | undefined

/**
 * The app is built once per execution environment and reused by every invocation it serves. A
 * failed build is forgotten so the next invocation tries again (e.g. after the S3 object is fixed).
 * `env` is `process.env` itself, never a copy: the Lambda runtime keeps the execution role's
 * credentials there and the app reads them per request.
 */
export function getApp(env: Env = process.env): Promise<App> {
  if (cached) return cached
  const building = buildApp(env)
  cached = building
  building.catch(() => {
    if (cached === building) cached = undefined
  })
  return building
}

/**
 * Writes queued spend and closes the stores of the cached app, and forgets it. For tests and for a
 * shutdown hook; invocations never need it, since each one waits for its own spend write.
 */
export async function closeApp(): Promise<void> {
  const app = cached
  cached = undefined
  await (await app?.catch(() => undefined))?.close()
}

/**
 * Config from PROXY_CONFIG (YAML text), S3 (LITELLM_CONFIG_BUCKET_*), CONFIG_FILE_PATH, else the demo.
 * Stores when DATABASE_URL is set (see stores.ts). No `timers`: the environment is frozen between
 * invocations, so spend is written by each invocation before it returns (index.ts awaits the
 * `waitUntil` work) and key-cache polls and budget resets happen on requests.
 */
async function buildApp(env: Env): Promise<App> {
  const logger = lambdaLogger(env)
  const source = configSource(env)
  const text = source
    ? await loadConfigText(source, {
        env,
        fetch,
        readFile: readBundledFile(env),
        credentials: () =>
          credentialChain({ env, fetch, readFile: readTextFile }).defaultCredentials('the config file'),
      })
    : EMBEDDED_CONFIG_YAML
  const config = await parseConfig(text, env)
  for (const w of config.warnings) logger.warn('config warning', { path: w.path, problem: w.message })
  // No data folder on Lambda: without a configured master key the app refuses every call.
  const masterKey = configuredMasterKey(config, env)
  if (!masterKey) logger.warn('no master key configured (general_settings.master_key or LITELLM_MASTER_KEY)')
  const stores = await openLambdaStores(config, env, logger)
  const app = createApp({ config, env, masterKey, logger, stores, readFile: readTextFile })
  if (!stores) return app
  return {
    fetch: (request, context) => app.fetch(request, context),
    // The app does not own the stores (the adapter opened them), so they are closed here, after the
    // app's last spend write.
    async close() {
      await app.close()
      await Promise.allSettled([stores.sql.close(), stores.counters.close()])
    },
  }
}

function configSource(env: Env): ConfigSource | undefined {
  if (env.PROXY_CONFIG) return { kind: 'text', text: env.PROXY_CONFIG }
  return resolveConfigSource({}, env)
}

/** Token files for the AWS credential chain (web identity, container authorization): absolute paths. */
const readTextFile = (path: string): Promise<string> => readFile(path, 'utf8')

/** CONFIG_FILE_PATH may be relative to the deployment package root (LAMBDA_TASK_ROOT). */
function readBundledFile(env: Env): (path: string) => Promise<string> {
  const root = env.LAMBDA_TASK_ROOT || process.cwd()
  return (path) => readFile(resolve(root, path), 'utf8')
}

export function lambdaLogger(env: Env = process.env): Logger {
  return createLogger(env.LITELLM_LOG?.toUpperCase() === 'DEBUG' ? 'debug' : 'info')
}
