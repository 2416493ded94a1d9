import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * src/ must run unchanged on Workers, Node and Lambda: web standards only. Runtime specifics
 * belong in adapters/. This scans every source file for the usual ways Node leaks in.
 */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

const FORBIDDEN: Array<[RegExp, string]> = [
  [/from\s+['"]node:/, 'a node: import'],
  [/require\(\s*['"]node:/, 'a node: require'],
  [/import\(\s*['"]node:/, 'a dynamic node: import'],
  [/\bprocess\.\w+/, 'process'],
  [/\bBuffer\b/, 'Buffer'],
  [
    /from\s+['"](fs|path|http|https|crypto|os|stream|events|net|child_process|zlib)['"]/,
    'a Node built-in import',
  ],
]

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

describe('portable core', () => {
  const files = sourceFiles('src')

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(10)
  })

  it('uses no Node-only API in src/', () => {
    const offences: string[] = []
    for (const file of files) {
      const code = stripComments(readFileSync(file, 'utf8'))
      for (const [pattern, what] of FORBIDDEN) if (pattern.test(code)) offences.push(`${file}: ${what}`)
    }
    expect(offences).toEqual([])
  })

  it('detects a violation (the check itself works)', () => {
    const code = stripComments("import { readFile } from 'node:fs'\nconst b = Buffer.from('x')")
    expect(FORBIDDEN.filter(([p]) => p.test(code)).map(([, what]) => what)).toEqual([
      'a node: import',
      'Buffer',
    ])
  })
})
