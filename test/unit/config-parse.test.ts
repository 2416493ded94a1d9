import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import { EMBEDDED_CONFIG_YAML } from '../../src/config/embedded'
import { parseConfig, splitModel } from '../../src/config/parse'
import { routerSetting } from '../../src/config/settings'

const SEED = readFileSync(new URL('../fixtures/seed-proxy_config.yaml', import.meta.url), 'utf8')
const ENV = { LITELLM_MASTER_KEY: 'sk-seed-master' }

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

async function configError(yamlText: string, env: Record<string, string> = {}): Promise<ConfigError> {
  try {
    await parseConfig(yamlText, env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('parseConfig: the seed README config', () => {
  it('loads unchanged, with <> placeholders and rpm inside litellm_params', async () => {
    const config = await parseConfig(SEED, ENV)
    expect(config.warnings).toEqual([])
    expect(config.deployments.map((d) => [d.modelName, d.provider, d.providerModel])).toEqual([
      ['bedrock-claude-v3-haiku', 'bedrock', 'anthropic.claude-3-haiku-20240307-v1:0'],
      ['sagemaker-Yi-1.5-9b', 'sagemaker', 'jumpstart-dft-hf-llm-yi-1-5-9b-chat-20241009-070517'],
      ['bedrock-claude-v3-sonnet', 'bedrock', 'anthropic.claude-3-sonnet-20240229-v1:0'],
      ['bedrock-claude-v3-sonnet', 'bedrock', 'anthropic.claude-3-sonnet-20240229-v1:0'],
    ])
    const [haiku, , west, east] = config.deployments
    expect(haiku?.params).toEqual({
      model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0',
      aws_region_name: 'us-west-2',
      aws_access_key_id: '<>',
      aws_secret_access_key: '<>',
    })
    expect(west?.params.rpm).toBe(30)
    expect(west?.params.aws_region_name).toBe('us-west-2')
    expect(east?.params.aws_region_name).toBe('us-east-1')
    expect(config.litellmSettings.fallbacks).toEqual([
      { 'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku'] },
    ])
    expect(config.generalSettings.master_key).toBe('sk-seed-master')
  })

  it('gives the two deployments of one model group distinct LiteLLM-compatible ids', async () => {
    const config = await parseConfig(SEED, ENV)
    const [, , west, east] = config.deployments
    expect(west?.id).toMatch(/^[0-9a-f]{64}$/)
    expect(west?.id).not.toBe(east?.id)
    const expected = (region: string) =>
      sha256(
        'bedrock-claude-v3-sonnetmodelbedrock/anthropic.claude-3-sonnet-20240229-v1:0' +
          `aws_region_name${region}aws_access_key_idxxxxxxaws_secret_access_keyxxxxxxxrpm30`,
      )
    expect(west?.id).toBe(expected('us-west-2'))
    expect(east?.id).toBe(expected('us-east-1'))
    expect(west?.modelInfo.id).toBe(west?.id)
    expect(new Set(config.deployments.map((d) => d.id)).size).toBe(4)
  })

  it('fails naming the variable when LITELLM_MASTER_KEY is not set', async () => {
    const error = await configError(SEED)
    expect(error.issues).toEqual([
      { path: 'general_settings.master_key', message: 'environment variable LITELLM_MASTER_KEY is not set' },
    ])
  })
})

describe('parseConfig: validation errors name the YAML path', () => {
  it('reports a missing model', async () => {
    const error = await configError(`
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x }
  - model_name: b
    litellm_params: { aws_region_name: us-east-1 }
`)
    expect(error.message).toBe('model_list[1].litellm_params.model: required')
  })

  it('reports every problem at once, one path: problem per line', async () => {
    const error = await configError(`
model_list:
  - litellm_params: { model: "", rpm: lots }
router_settings:
  num_retries: three
  fallbacks: [{a: [b], c: [d]}]
litellm_settings:
  drop_params: maybe
general_settings:
  token_rate_limit_type: all
`)
    expect(error.issues).toEqual([
      { path: 'model_list[0].model_name', message: 'required' },
      { path: 'model_list[0].litellm_params.model', message: 'must not be empty' },
      { path: 'model_list[0].litellm_params.rpm', message: 'expected a number, got "lots"' },
      { path: 'litellm_settings.drop_params', message: 'expected a boolean (true/false), got "maybe"' },
      { path: 'router_settings.fallbacks[0]', message: expect.stringContaining('exactly one model group') },
      { path: 'router_settings.num_retries', message: 'expected a number, got "three"' },
      {
        path: 'general_settings.token_rate_limit_type',
        message: 'expected one of "total", "input", "output", got "all"',
      },
    ])
    expect(error.message.split('\n')).toContain('router_settings.num_retries: expected a number, got "three"')
  })

  it('reports wrong section shapes', async () => {
    const error = await configError('model_list: {a: 1}\nrouter_settings: [1]\n')
    expect(error.issues).toEqual([
      { path: 'model_list', message: 'expected a list, got a mapping' },
      { path: 'router_settings', message: 'expected a mapping, got a list' },
    ])
  })

  it('does not echo values that came from os.environ/ (they may be secrets)', async () => {
    const error = await configError('router_settings:\n  num_retries: os.environ/RETRIES\n', {
      RETRIES: 'hunter2',
    })
    expect(error.message).toBe(
      'router_settings.num_retries: expected a number, got the value of os.environ/RETRIES',
    )
  })

  it('rejects a document that is not a mapping', async () => {
    const error = await configError('- just\n- a list\n')
    expect(error.message).toBe('the config must be a YAML mapping, got a list')
  })

  it('turns YAML syntax errors into a ConfigError with line and column', async () => {
    const error = await configError('model_list:\n  - model_name: a\n    litellm_params: { model: x\n')
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toMatch(/^YAML syntax error: .*line \d+, column \d+/)
  })

  it('rejects a model_info.id used twice', async () => {
    const error = await configError(`
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x }
    model_info: { id: same }
  - model_name: b
    litellm_params: { model: bedrock/y }
    model_info: { id: same }
`)
    expect(error.message).toBe(
      'model_list[1].model_info.id: duplicate id "same", already used by model_list[0]',
    )
  })
})

describe('parseConfig: lenient where LiteLLM is lenient', () => {
  it('warns about unknown keys and still loads', async () => {
    const config = await parseConfig(
      `
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x, temperature: 0.2, top_k: 5, extra_headers: { x-a: b } }
    model_info: { id: a-1, owner: team-x, notes: [1, 2] }
    descripton: typo
router_settings:
  routing_stratgy: least-busy
general_settings:
  master_kee: sk-1
surprise: true
`,
      {},
    )
    expect(config.warnings).toEqual([
      { path: 'surprise', message: 'unknown key, ignored' },
      { path: 'router_settings.routing_stratgy', message: 'unknown key, ignored' },
      { path: 'general_settings.master_kee', message: 'unknown key, ignored' },
      { path: 'model_list[0].descripton', message: 'unknown key, ignored' },
    ])
    expect(config.routerSettings).toEqual({})
    expect(config.generalSettings).toEqual({})
    const [deployment] = config.deployments
    // Unknown litellm_params are provider defaults; model_info is free-form.
    expect(deployment?.params).toEqual({
      model: 'bedrock/x',
      temperature: 0.2,
      top_k: 5,
      extra_headers: { 'x-a': 'b' },
    })
    expect(deployment?.modelInfo).toEqual({ id: 'a-1', owner: 'team-x', notes: [1, 2] })
    expect(deployment?.id).toBe('a-1')
  })

  it('accepts credential_list and include with a not-supported warning', async () => {
    const config = await parseConfig(
      `
include: [more.yaml]
credential_list:
  - credential_name: aws
    credential_values: { aws_region_name: us-east-1 }
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x, litellm_credential_name: aws }
`,
      {},
    )
    expect(config.warnings.map((w) => w.path)).toEqual([
      'credential_list',
      'include',
      'model_list[0].litellm_params.litellm_credential_name',
    ])
    expect(config.warnings[0]?.message).toMatch(/not supported yet/)
  })

  it('copies entry-level rpm/tpm into litellm_params unless set there', async () => {
    const config = await parseConfig(
      `
model_list:
  - model_name: a
    rpm: 10
    tpm: 1000
    litellm_params: { model: bedrock/x, rpm: 20 }
`,
      {},
    )
    expect(config.deployments[0]?.params).toEqual({ model: 'bedrock/x', rpm: 20, tpm: 1000 })
    // The Router hashes litellm_params only, so entry-level values do not change the id.
    expect(config.deployments[0]?.id).toBe(sha256('amodelbedrock/xrpm20'))
  })

  it('casts numeric and boolean strings (values resolved from the environment are strings)', async () => {
    const config = await parseConfig(
      `
model_list:
  - model_name: a
    litellm_params: { model: bedrock/x, rpm: os.environ/RPM, timeout: "2.5" }
router_settings: { num_retries: "3", enable_pre_call_checks: "True", redis_port: os.environ/REDIS_PORT }
litellm_settings: { drop_params: "false" }
`,
      { RPM: '30', REDIS_PORT: '6379' },
    )
    expect(config.deployments[0]?.params).toMatchObject({ rpm: 30, timeout: 2.5 })
    expect(config.routerSettings).toEqual({ num_retries: 3, enable_pre_call_checks: true, redis_port: 6379 })
    expect(config.litellmSettings).toEqual({ drop_params: false })
    // LiteLLM hashes the string it read from the environment, not the cast number.
    expect(config.deployments[0]?.id).toBe(sha256('amodelbedrock/xrpm30timeout2.5'))
  })

  it('treats empty values (YAML null) as not set', async () => {
    const config = await parseConfig(
      `
model_list:
  - model_name: a
    litellm_params:
      model: bedrock/x
      api_base:
    model_info:
general_settings:
router_settings:
  timeout:
`,
      {},
    )
    expect(config.deployments[0]?.params).toEqual({ model: 'bedrock/x' })
    expect(config.routerSettings).toEqual({})
    expect(config.generalSettings).toEqual({})
  })

  it('supports YAML anchors and merge keys, as PyYAML does', async () => {
    const config = await parseConfig(
      `
x-aws: &aws { aws_region_name: us-east-1, rpm: 100 }
model_list:
  - model_name: a
    litellm_params: { <<: *aws, model: bedrock/x }
  - model_name: a
    litellm_params: { <<: *aws, model: bedrock/y, aws_region_name: us-west-2 }
`,
      {},
    )
    expect(config.deployments.map((d) => d.params)).toEqual([
      { aws_region_name: 'us-east-1', rpm: 100, model: 'bedrock/x' },
      { aws_region_name: 'us-west-2', rpm: 100, model: 'bedrock/y' },
    ])
    expect(config.warnings).toEqual([{ path: 'x-aws', message: 'unknown key, ignored' }])
  })

  it("resolves scalars like PyYAML (LiteLLM's loader): dates and 3e-06 stay strings, yes/no are booleans", async () => {
    const config = await parseConfig(
      `
model_list:
  - model_name: a
    litellm_params:
      model: bedrock/x
      api_version: 2024-02-01
      small: 3e-06
      signed: 1.5e-06
      octal: 010
router_settings: { enable_pre_call_checks: yes }
litellm_settings: { drop_params: off }
`,
      {},
    )
    expect(config.deployments[0]?.params).toEqual({
      model: 'bedrock/x',
      api_version: '2024-02-01',
      small: '3e-06',
      signed: 1.5e-6,
      octal: 8,
    })
    expect(config.routerSettings).toEqual({ enable_pre_call_checks: true })
    expect(config.litellmSettings).toEqual({ drop_params: false })
    expect(config.deployments[0]?.id).toBe(
      sha256('amodelbedrock/xapi_version2024-02-01small3e-06signed1.5e-06octal8'),
    )
  })

  it('keeps the last of duplicate keys, as PyYAML does, with a warning', async () => {
    const config = await parseConfig(
      'router_settings: { num_retries: 1 }\nrouter_settings: { num_retries: 2 }\n',
      {},
    )
    expect(config.routerSettings).toEqual({ num_retries: 2 })
    expect(config.warnings[0]).toEqual({
      path: 'line 2, column 1',
      message: 'Map keys must be unique; the last one wins',
    })
  })

  it('keeps one copy of identical entries, with a warning', async () => {
    const entry = '  - model_name: a\n    litellm_params: { model: bedrock/x }\n'
    const config = await parseConfig(`model_list:\n${entry}${entry}`, {})
    expect(config.deployments).toHaveLength(1)
    expect(config.warnings).toEqual([
      { path: 'model_list[1]', message: 'identical to model_list[0] (same deployment id), ignored' },
    ])
  })

  it.each([
    ['an empty file', ''],
    ['a comment-only file', '# nothing yet\n'],
    ['no model_list', 'general_settings: { master_key: sk-1 }\n'],
    ['an empty model_list', 'model_list:\n'],
  ])('loads %s with zero deployments and a warning', async (_, text) => {
    const config = await parseConfig(text, {})
    expect(config.deployments).toEqual([])
    expect(config.warnings).toContainEqual({
      path: 'model_list',
      message: expect.stringContaining('no models'),
    })
  })

  it('stringifies scalar model names and ids', async () => {
    const config = await parseConfig(
      'model_list:\n  - model_name: 7\n    litellm_params: { model: x }\n    model_info: { id: 42 }\n',
      {},
    )
    expect(config.deployments[0]).toMatchObject({
      modelName: '7',
      id: '42',
      provider: 'openai',
      providerModel: 'x',
    })
  })
})

describe('splitModel', () => {
  it('splits at the first slash and defaults to openai', () => {
    expect(splitModel('bedrock/converse/us.anthropic.claude-3-5-sonnet-20241022-v2:0')).toEqual({
      provider: 'bedrock',
      providerModel: 'converse/us.anthropic.claude-3-5-sonnet-20241022-v2:0',
    })
    expect(splitModel('gpt-4o')).toEqual({ provider: 'openai', providerModel: 'gpt-4o' })
  })
})

describe('routerSetting', () => {
  it('prefers router_settings over litellm_settings', async () => {
    const config = await parseConfig(
      'litellm_settings: { num_retries: 2, fallbacks: [{a: [b]}] }\nrouter_settings: { num_retries: 5 }\n',
      {},
    )
    expect(routerSetting(config, 'num_retries')).toBe(5)
    expect(routerSetting(config, 'fallbacks')).toEqual([{ a: ['b'] }])
    expect(routerSetting(config, 'allowed_fails')).toBeUndefined()
  })
})

describe('EMBEDDED_CONFIG_YAML', () => {
  it('is a warning-free demo config with two mock groups and no master key', async () => {
    const config = await parseConfig(EMBEDDED_CONFIG_YAML, {})
    expect(config.warnings).toEqual([])
    expect(config.generalSettings.master_key).toBeUndefined()
    expect(config.deployments.map((d) => [d.modelName, d.id, d.provider, d.providerModel])).toEqual([
      ['demo', 'demo-1', 'mock', 'demo'],
      ['demo-fast', 'demo-fast-1', 'mock', 'demo'],
    ])
    expect(config.deployments[0]?.params.mock_response).toMatch(/^Hello from MultiLLM Proxy!/)
  })
})
