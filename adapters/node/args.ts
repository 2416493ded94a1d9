/**
 * Command-line flags, LiteLLM-compatible where LiteLLM has them (`litellm --config … --port …`).
 * Flags win over environment variables; env wins over defaults.
 */
export interface CliArgs {
  /** `--config`; CONFIG_FILE_PATH and the S3 variables are resolved later, in LiteLLM's order. */
  configPath?: string
  port: number
  host: string
  logLevel: 'debug' | 'info'
  help: boolean
}

export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliArgs {
  const args: CliArgs = {
    configPath: undefined,
    port: Number(env.PORT || 4000),
    host: env.HOST || '0.0.0.0',
    logLevel: env.LITELLM_LOG?.toUpperCase() === 'DEBUG' ? 'debug' : 'info',
    help: false,
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = splitFlag(argv[i]!)
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`)
      return v
    }
    switch (flag) {
      case '--config':
      case '-c':
        args.configPath = value()
        break
      case '--port':
        args.port = Number(value())
        break
      case '--host':
        args.host = value()
        break
      case '--detailed_debug':
      case '--debug':
        args.logLevel = 'debug'
        break
      case '--num_workers':
        value() // accepted for LiteLLM compatibility: one Node process per container is the model here
        break
      case '--help':
      case '-h':
        args.help = true
        break
      default:
        throw new Error(`Unknown option ${flag}. Try --help.`)
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
    throw new Error(`Invalid port: ${args.port}`)
  return args
}

function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=')
  return eq > 0 && arg.startsWith('--') ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined]
}

export const USAGE = `Usage: npm start -- [--config proxy_config.yaml | s3://bucket/key] [--port 4000] [--host 0.0.0.0] [--detailed_debug]

Environment: CONFIG_FILE_PATH, LITELLM_CONFIG_BUCKET_NAME + LITELLM_CONFIG_BUCKET_OBJECT_KEY, PORT, HOST,
LITELLM_MASTER_KEY, LITELLM_LOG=DEBUG, MULTILLM_DATA_DIR (default ./.multillm).
With no config the embedded demo config is served (a mock model group named "demo").`
