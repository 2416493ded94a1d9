import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import { collectEnvRefs, resolveEnvRefs } from '../../src/config/env-refs'
import { parseConfig } from '../../src/config/parse'

describe('resolveEnvRefs', () => {
  it('replaces os.environ/ strings anywhere in the tree', () => {
    const value = {
      a: 'os.environ/A',
      list: ['os.environ/B', 'plain', 3, { deep: 'os.environ/A' }],
      keep: 'prefix os.environ/A',
      n: null,
    }
    expect(resolveEnvRefs(value, { A: 'alpha', B: 'beta' }, '')).toEqual({
      a: 'alpha',
      list: ['beta', 'plain', 3, { deep: 'alpha' }],
      keep: 'prefix os.environ/A',
      n: null,
    })
    expect(value.a).toBe('os.environ/A')
  })

  it('resolves an empty variable to an empty string', () => {
    expect(resolveEnvRefs('os.environ/EMPTY', { EMPTY: '' }, 'x')).toBe('')
  })

  it('throws a ConfigError naming the YAML path and variable', () => {
    const value = { litellm_params: { aws_access_key_id: 'os.environ/AWS_KEY' } }
    expect(() => resolveEnvRefs(value, {}, 'model_list[0]')).toThrow(
      new ConfigError([
        {
          path: 'model_list[0].litellm_params.aws_access_key_id',
          message: 'environment variable AWS_KEY is not set',
        },
      ]),
    )
    expect(() => resolveEnvRefs(value, {}, 'model_list[0]')).toThrow(
      'model_list[0].litellm_params.aws_access_key_id: environment variable AWS_KEY is not set',
    )
  })

  it('collects every missing variable', () => {
    const result = collectEnvRefs({ a: ['os.environ/X'], b: 'os.environ/Y' }, {}, '')
    expect(result.issues).toEqual([
      { path: 'a[0]', message: 'environment variable X is not set' },
      { path: 'b', message: 'environment variable Y is not set' },
    ])
  })
})

describe('parseConfig: os.environ/ references', () => {
  it('resolves references in every section', async () => {
    const config = await parseConfig(
      `
model_list:
  - model_name: a
    litellm_params:
      model: bedrock/x
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
      aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
      extra_headers: { x-team: os.environ/TEAM }
router_settings:
  redis_host: os.environ/REDIS_HOST
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
`,
      {
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        TEAM: 'red',
        REDIS_HOST: 'redis.local',
        LITELLM_MASTER_KEY: 'sk-1',
        DATABASE_URL: 'postgres://db',
      },
    )
    expect(config.deployments[0]?.params).toEqual({
      model: 'bedrock/x',
      aws_access_key_id: 'AKIDEXAMPLE',
      aws_secret_access_key: 'secret',
      extra_headers: { 'x-team': 'red' },
    })
    expect(config.routerSettings.redis_host).toBe('redis.local')
    expect(config.generalSettings).toEqual({ master_key: 'sk-1', database_url: 'postgres://db' })
  })

  it('lets references point at environment_variables, which override the real environment', async () => {
    const config = await parseConfig(
      `
environment_variables:
  REGION: us-west-2
  MASTER: os.environ/REAL_MASTER
  PORT: 6379
  DEBUG: true
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x, aws_region_name: os.environ/REGION }
router_settings: { redis_port: os.environ/PORT }
general_settings: { master_key: os.environ/MASTER }
`,
      { REGION: 'eu-west-1', REAL_MASTER: 'sk-real' },
    )
    expect(config.deployments[0]?.params.aws_region_name).toBe('us-west-2')
    expect(config.generalSettings.master_key).toBe('sk-real')
    expect(config.routerSettings.redis_port).toBe(6379)
    // LiteLLM exports them with str(value).
    expect(config.environmentVariables).toEqual({
      REGION: 'us-west-2',
      MASTER: 'sk-real',
      PORT: '6379',
      DEBUG: 'True',
    })
  })

  it('reports every missing variable with its path in one error', async () => {
    const promise = parseConfig(
      `
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x, aws_access_key_id: os.environ/AWS_KEY, rpm: os.environ/RPM }
general_settings: { master_key: os.environ/LITELLM_MASTER_KEY }
`,
      {},
    )
    await expect(promise).rejects.toThrow(
      [
        'model_list[0].litellm_params.aws_access_key_id: environment variable AWS_KEY is not set',
        'model_list[0].litellm_params.rpm: environment variable RPM is not set',
        'general_settings.master_key: environment variable LITELLM_MASTER_KEY is not set',
      ].join('\n'),
    )
  })

  it('reports a missing variable inside environment_variables', async () => {
    await expect(parseConfig('environment_variables: { A: os.environ/NOPE }\n', {})).rejects.toThrow(
      'environment_variables.A: environment variable NOPE is not set',
    )
  })
})
