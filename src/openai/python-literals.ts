/**
 * Rewrites Python literals `True`, `False` and `None` outside of strings to their JSON spelling.
 *
 * LiteLLM's own docs (and the seed README's streaming curl example) send `"stream": True`, which
 * FastAPI happens to reject too, but users copy these examples verbatim; we accept them. Only bare
 * words are touched: string contents, escapes and identifiers such as `Trueish` are left alone.
 */
export function pythonLiteralsToJson(text: string): string {
  let out = ''
  let i = 0
  let last = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      i = skipString(text, i)
      continue
    }
    if (c === 84 /* T */ || c === 70 /* F */ || c === 78 /* N */) {
      const word = readWord(text, i)
      const replacement =
        word === 'True' ? 'true' : word === 'False' ? 'false' : word === 'None' ? 'null' : null
      if (replacement !== null && !isWordChar(text.charCodeAt(i - 1))) {
        out += text.slice(last, i) + replacement
        i += word.length
        last = i
        continue
      }
      i += Math.max(1, word.length)
      continue
    }
    i++
  }
  return out + text.slice(last)
}

function skipString(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 92 /* \ */) i += 2
    else if (c === 34) return i + 1
    else i++
  }
  return i
}

function readWord(text: string, start: number): string {
  let end = start
  while (end < text.length && isWordChar(text.charCodeAt(end))) end++
  return text.slice(start, end)
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
}
