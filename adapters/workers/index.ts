import { type App, createApp } from '../../src/app'
import { configuredMasterKey } from '../../src/auth/master-key'
import { EMBEDDED_CONFIG_YAML } from '../../src/config/embedded'
import { loadConfigText, resolveConfigSource } from '../../src/config/load'
import { parseConfig } from '../../src/config/parse'
import type { Env } from '../../src/env'
import { createLogger } from '../../src/observability/logger'

/**
 * Cloudflare Workers entry. Config comes from the `PROXY_CONFIG` variable/secret (the YAML text),
 * from S3 (`LITELLM_CONFIG_BUCKET_NAME` + `LITELLM_CONFIG_BUCKET_OBJECT_KEY`), or the embedded demo.
 * The app is built once per isolate and reused; `ctx.waitUntil` keeps background work alive.
 */
interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void
}

let cached: { bindings: object; app: Promise<App> } | undefined

export default {
  async fetch(
    request: Request,
    bindings: Record<string, unknown>,
    ctx: ExecutionContextLike,
  ): Promise<Response> {
    if (cached?.bindings !== bindings) cached = { bindings, app: buildApp(stringBindings(bindings)) }
    const app = await cached.app.catch((error: unknown) => {
      cached = undefined
      throw error
    })
    return app.fetch(request, { waitUntil: (p) => ctx.waitUntil(p) })
  },
}

async function buildApp(env: Env): Promise<App> {
  const source = env.PROXY_CONFIG
    ? { kind: 'text' as const, text: env.PROXY_CONFIG }
    : resolveConfigSource({}, env)
  const text = source ? await loadConfigText(source, { env, fetch }) : EMBEDDED_CONFIG_YAML
  const config = await parseConfig(text, env)
  const logger = createLogger(env.LITELLM_LOG?.toUpperCase() === 'DEBUG' ? 'debug' : 'info')
  for (const w of config.warnings) logger.warn('config warning', { path: w.path, problem: w.message })
  return createApp({ config, env, masterKey: configuredMasterKey(config, env), logger })
}

/** Workers bindings mix strings with KV/D1/secrets objects; the gateway reads only the strings. */
function stringBindings(bindings: Record<string, unknown>): Env {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(bindings)) if (typeof v === 'string') env[k] = v
  return env
}
