/**
 * Python's `repr()` of JSON-like values, because LiteLLM formats fallback lists into its error
 * messages with `str.format` (`Fallbacks=[{'a': ['b']}]`) and clients match on those messages.
 */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pythonFloat(value)
  if (typeof value === 'string') return pythonString(value)
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`
  if (typeof value === 'object') {
    const items = Object.entries(value).map(([k, v]) => `${pythonString(k)}: ${pythonRepr(v)}`)
    return `{${items.join(', ')}}`
  }
  return pythonString(String(value))
}

const pythonFloat = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? 'inf' : '-inf')

/** Single quotes unless the text holds a single quote and no double quote, as CPython chooses. */
function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'"
  let out = quote
  for (const ch of text) {
    if (ch === '\\') out += '\\\\'
    else if (ch === quote) out += `\\${quote}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else out += ch
  }
  return out + quote
}
