import { isPlainObject } from './env-refs'

/**
 * The deployment id LiteLLM sends as `x-litellm-model-id`.
 *
 * `model_info.id` is used verbatim when set. Otherwise this reproduces `Router._generate_model_id`
 * (litellm/router.py): sha256 hex of the model group name followed by every `litellm_params` key and
 * value in insertion order, each value rendered with Python's `str()` (a dict with `json.dumps`).
 * Pass the params after `os.environ/` resolution, as the Router does, so the id changes when a
 * secret changes.
 *
 * The hash is fragile: any param change, secret rotation or YAML detail changes it, and JavaScript
 * cannot tell YAML `1.0` (a Python float, rendered `1.0`) from `1` (rendered `1`): an integral number
 * is always rendered as a Python int. Setting `model_info.id` is the robust choice for anything that
 * stores or compares ids (spend logs, dashboards, cooldown state shared with LiteLLM).
 */
export async function deploymentId(
  modelName: string,
  litellmParams: Readonly<Record<string, unknown>>,
  modelInfo?: Readonly<Record<string, unknown>>,
): Promise<string> {
  const explicit = modelInfo?.id
  // LiteLLM's ModelInfo stringifies a numeric id; `id: null` counts as absent.
  if (explicit !== undefined && explicit !== null) return String(explicit)
  return sha256Hex(deploymentHashInput(modelName, litellmParams))
}

/** The exact string LiteLLM hashes: `model_group + k1 + str(v1) + k2 + str(v2) …`. */
export function deploymentHashInput(
  modelName: string,
  litellmParams: Readonly<Record<string, unknown>>,
): string {
  let text = modelName
  for (const [key, value] of Object.entries(litellmParams)) text += key + pythonStr(value)
  return text
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** `_generate_model_id`'s rendering of one value: a str as is, a dict via json.dumps, else `str()`. */
export function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value
  if (isPlainObject(value)) return pythonJson(value)
  return pythonRepr(value)
}

/** Python `repr()` of a YAML-loaded value (`str()` is the same for everything but strings). */
function pythonRepr(value: unknown): string {
  if (typeof value === 'string') return pythonStringRepr(value)
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (value === null || value === undefined) return 'None'
  if (typeof value === 'number') return pythonNumber(value, 'repr')
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`
  if (isPlainObject(value)) {
    const items = Object.entries(value).map(([key, item]) => `${pythonStringRepr(key)}: ${pythonRepr(item)}`)
    return `{${items.join(', ')}}`
  }
  return String(value)
}

/** `json.dumps(value)` with its defaults: `", "` / `": "` separators, ensure_ascii, allow_nan. */
function pythonJson(value: unknown): string {
  if (typeof value === 'string') return pythonJsonString(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'number') return pythonNumber(value, 'json')
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`
  if (isPlainObject(value)) {
    const items = Object.entries(value).map(([key, item]) => `${pythonJsonString(key)}: ${pythonJson(item)}`)
    return `{${items.join(', ')}}`
  }
  return pythonJsonString(String(value))
}

/** An integral JS number is taken to be a Python int (YAML `30`), anything else a float. */
function pythonNumber(value: number, style: 'repr' | 'json'): string {
  if (Number.isInteger(value)) return BigInt(value).toString()
  if (Number.isNaN(value)) return style === 'json' ? 'NaN' : 'nan'
  if (!Number.isFinite(value)) {
    const sign = value < 0 ? '-' : ''
    return style === 'json' ? `${sign}Infinity` : `${sign}inf`
  }
  return pythonFloatRepr(value)
}

/**
 * Python's `float.__repr__`: the same shortest round-trip digits as JavaScript, but scientific
 * notation when the decimal exponent is < -4 or >= 16 (`1e-05`, `1e+16`) and always a `.0` or
 * fraction in fixed notation.
 */
export function pythonFloatRepr(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  const sign = value < 0 ? '-' : ''
  const [mantissa = '', exponentText = '0'] = Math.abs(value).toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const exponent = Number(exponentText)
  if (exponent < -4 || exponent >= 16) {
    const significand = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const expSign = exponent < 0 ? '-' : '+'
    return `${sign}${significand}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0')
  return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`
}

/** Python 3 `repr(str)`: single quotes unless only `'` occurs; printable non-ASCII kept as is. */
function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'"
  let out = quote
  for (const char of text) out += reprChar(char, quote)
  return out + quote
}

const REPR_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }
// Python's str.isprintable() is false for these categories (the ASCII space is handled before).
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u

function reprChar(char: string, quote: string): string {
  if (char === quote) return `\\${char}`
  const escaped = REPR_ESCAPES[char]
  if (escaped !== undefined) return escaped
  const code = char.codePointAt(0) ?? 0
  if (code >= 0x20 && code < 0x7f) return char
  if (code > 0x7f && !NON_PRINTABLE.test(char)) return char
  if (code <= 0xff) return `\\x${hex(code, 2)}`
  return code <= 0xffff ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`
}

const JSON_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
}

/** json.dumps string with ensure_ascii: everything outside ' '..'~' becomes `\uXXXX` (per UTF-16 unit). */
function pythonJsonString(text: string): string {
  let out = '"'
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i)
    const code = text.charCodeAt(i)
    out += JSON_ESCAPES[char] ?? (code < 0x20 || code > 0x7e ? `\\u${hex(code, 4)}` : char)
  }
  return `${out}"`
}

const hex = (code: number, width: number): string => code.toString(16).padStart(width, '0')
