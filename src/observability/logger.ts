/**
 * Structured logs, one JSON object per line, with secrets redacted before they are written.
 * The sink is injected (console on every runtime by default) so tests can read what was logged.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const SECRET_FIELD = /(key|secret|token|password|authorization|credential)/i
const SECRET_VALUE = /\b(sk-[A-Za-z0-9_-]{6,}|AKIA[0-9A-Z]{12,}|ASIA[0-9A-Z]{12,})/g

/** Replaces secret-looking fields and values; keeps a short suffix so operators can correlate. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string')
    return value.replace(SECRET_VALUE, (m) => `${m.slice(0, 3)}...${m.slice(-4)}`)
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1))
  if (value instanceof Error) return { name: value.name, message: redact(value.message) }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) && typeof v === 'string' ? '[redacted]' : redact(v, depth + 1)
  }
  return out
}

export function createLogger(
  level: LogLevel = 'info',
  sink: (line: string) => void = (line) => console.log(line),
): Logger {
  const min = ORDER[level]
  const write = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return
    const entry = {
      level: lvl,
      time: new Date().toISOString(),
      message: redact(message),
      ...(redact(fields ?? {}) as object),
    }
    sink(JSON.stringify(entry))
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
