import type { Env } from '../env'
import { ConfigError } from './config-error'
import { type CredentialsSource, getS3Object } from './s3'

/** Where the config text comes from. */
export type ConfigSource =
  | { kind: 'text'; text: string }
  | { kind: 'file'; path: string }
  | { kind: 's3'; bucket: string; key: string }

export interface LoadDeps {
  /** Injected by the Node/Lambda adapters; absent on Workers, where only text and s3 sources work. */
  readFile?: (path: string) => Promise<string>
  fetch: typeof fetch
  env: Env
  /** For s3 sources; defaults to the AWS_* environment variables. */
  credentials?: CredentialsSource
}

/** Reads the config text from its source; every failure is a ConfigError naming the source. */
export async function loadConfigText(source: ConfigSource, deps: LoadDeps): Promise<string> {
  switch (source.kind) {
    case 'text':
      return source.text
    case 's3':
      return getS3Object(source.bucket, source.key, deps)
    case 'file':
      return readConfigFile(source.path, deps.readFile)
  }
}

async function readConfigFile(path: string, readFile: LoadDeps['readFile']): Promise<string> {
  if (readFile === undefined) {
    const message = 'config files cannot be read on this runtime; use an s3:// path or embed the config text'
    throw new ConfigError([{ path, message }])
  }
  try {
    return await readFile(path)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError([{ path, message: `cannot read the config file: ${reason}` }], { cause: error })
  }
}

/**
 * Picks the config source the way LiteLLM does, except that an explicit `--config` wins:
 * 1. `--config <path>` (an `s3://bucket/key` path reads from S3);
 * 2. LITELLM_CONFIG_BUCKET_NAME + LITELLM_CONFIG_BUCKET_OBJECT_KEY (LiteLLM's own variables; in
 *    LiteLLM's `ProxyConfig.get_config` they take precedence over a config file path);
 * 3. CONFIG_FILE_PATH.
 * Returns undefined when none is set; the caller then serves the embedded demo config.
 */
export function resolveConfigSource(args: { configPath?: string }, env: Env): ConfigSource | undefined {
  if (args.configPath) return sourceFromPath(args.configPath)
  const bucket = env.LITELLM_CONFIG_BUCKET_NAME
  if (bucket) return bucketSource(bucket, env)
  return env.CONFIG_FILE_PATH ? sourceFromPath(env.CONFIG_FILE_PATH) : undefined
}

function sourceFromPath(path: string): ConfigSource {
  return path.startsWith('s3://') ? { kind: 's3', ...parseS3Url(path) } : { kind: 'file', path }
}

function bucketSource(bucket: string, env: Env): ConfigSource {
  const type = env.LITELLM_CONFIG_BUCKET_TYPE
  // LiteLLM also supports gcs; Workers and Lambda deployments of this gateway only need S3.
  if (type && type.toLowerCase() !== 's3') {
    throw new ConfigError([
      { path: 'LITELLM_CONFIG_BUCKET_TYPE', message: `"${type}": only s3 is supported` },
    ])
  }
  const key = env.LITELLM_CONFIG_BUCKET_OBJECT_KEY
  if (!key) {
    const message = 'is not set; it must name the config object in LITELLM_CONFIG_BUCKET_NAME'
    throw new ConfigError([{ path: 'LITELLM_CONFIG_BUCKET_OBJECT_KEY', message }])
  }
  return { kind: 's3', bucket, key }
}

/** `s3://bucket/prefix/key.yaml` → bucket and key (the key may contain further slashes). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const rest = url.slice('s3://'.length)
  const slash = rest.indexOf('/')
  const bucket = slash === -1 ? rest : rest.slice(0, slash)
  const key = slash === -1 ? '' : rest.slice(slash + 1)
  if (bucket === '' || key === '') {
    throw new ConfigError([{ path: url, message: 'expected s3://bucket/key' }])
  }
  return { bucket, key }
}
