import { describe, expect, it } from 'vitest'
import { parseArgs } from '../../adapters/node/args'

describe('CLI args', () => {
  it('defaults to port 4000 on 0.0.0.0 with no config', () => {
    expect(parseArgs([], {})).toEqual({
      configPath: undefined,
      port: 4000,
      host: '0.0.0.0',
      logLevel: 'info',
      help: false,
    })
  })

  it('reads env and lets flags win', () => {
    const env = { PORT: '8080', HOST: '127.0.0.1', CONFIG_FILE_PATH: '/etc/c.yaml' }
    // CONFIG_FILE_PATH is not a flag: resolveConfigSource weighs it against the S3 variables.
    expect(parseArgs([], env)).toMatchObject({ port: 8080, host: '127.0.0.1', configPath: undefined })
    expect(parseArgs(['--port', '9', '--config=/x.yaml', '--detailed_debug'], env)).toMatchObject({
      port: 9,
      configPath: '/x.yaml',
      logLevel: 'debug',
    })
  })

  it('rejects unknown flags and bad ports', () => {
    expect(() => parseArgs(['--nope'], {})).toThrow(/Unknown option --nope/)
    expect(() => parseArgs(['--port', 'abc'], {})).toThrow(/Invalid port/)
    expect(() => parseArgs(['--config'], {})).toThrow(/needs a value/)
  })
})
