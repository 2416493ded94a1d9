import { describe, expect, it } from 'vitest'
import { createLogger, redact } from '../../src/observability/logger'

describe('logger', () => {
  it('redacts secret fields and secret-looking values', () => {
    const lines: string[] = []
    const log = createLogger('debug', (l) => lines.push(l))
    log.info('calling with sk-abcdef1234567890', {
      aws_secret_access_key: 'wJalrXUtnFEMI',
      headers: { authorization: 'Bearer sk-zzzzzzzz9999' },
      accessKey: 'AKIAIOSFODNN7EXAMPLE',
      model: 'bedrock/x',
    })
    const entry = JSON.parse(lines[0]!)
    expect(lines[0]).not.toContain('wJalrXUtnFEMI')
    expect(lines[0]).not.toContain('sk-abcdef1234567890')
    expect(lines[0]).not.toContain('sk-zzzzzzzz9999')
    expect(entry.aws_secret_access_key).toBe('[redacted]')
    expect(entry.message).toBe('calling with sk-...7890')
    expect(entry.model).toBe('bedrock/x')
  })

  it('respects the level', () => {
    const lines: string[] = []
    const log = createLogger('warn', (l) => lines.push(l))
    log.info('quiet')
    log.warn('loud')
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['loud'])
  })

  it('redacts errors by message', () => {
    expect(redact(new Error('bad key sk-1234567890abc'))).toEqual({
      name: 'Error',
      message: 'bad key sk-...0abc',
    })
  })
})
