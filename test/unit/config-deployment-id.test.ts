import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { deploymentHashInput, deploymentId, pythonFloatRepr, pythonStr } from '../../src/config/deployment-id'
import { parseConfig } from '../../src/config/parse'

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

describe('deploymentId', () => {
  it("matches LiteLLM's Router._generate_model_id for a simple case", async () => {
    const params = {
      model: 'bedrock/x',
      rpm: 30,
      aws_region_name: 'us-west-2',
      temperature: 0.5,
      extra: { a: 1 },
      flag: true,
    }
    // Built by hand the way Python concatenates: str values as is, json.dumps for the dict, str() else.
    const expected = sha256('gmodelbedrock/xrpm30aws_region_nameus-west-2temperature0.5extra{"a": 1}flagTrue')
    expect(await deploymentId('g', params, {})).toBe(expected)
    expect(await deploymentId('g', params)).toBe(expected)
  })

  it('depends on param order, as Python dict iteration does', async () => {
    const a = await deploymentId('g', { model: 'm', rpm: 1 })
    const b = await deploymentId('g', { rpm: 1, model: 'm' })
    expect(a).not.toBe(b)
    expect(b).toBe(sha256('grpm1modelm'))
  })

  it('uses model_info.id verbatim when set', async () => {
    expect(await deploymentId('g', { model: 'm' }, { id: 'my-deployment' })).toBe('my-deployment')
    expect(await deploymentId('g', { model: 'm' }, { id: 7 })).toBe('7')
    expect(await deploymentId('g', { model: 'm' }, { id: null })).toBe(sha256('gmodelm'))
  })

  it('hashes the params after os.environ/ resolution, like the Router', async () => {
    const yaml =
      'model_list:\n  - model_name: g\n    litellm_params: { model: bedrock/x, api_key: os.environ/K }\n'
    const one = await parseConfig(yaml, { K: 'one' })
    const two = await parseConfig(yaml, { K: 'two' })
    expect(one.deployments[0]?.id).toBe(sha256('gmodelbedrock/xapi_keyone'))
    expect(two.deployments[0]?.id).not.toBe(one.deployments[0]?.id)
  })
})

describe('deploymentHashInput / pythonStr (Python str() and json.dumps rendering)', () => {
  it('renders lists with Python repr', () => {
    expect(pythonStr(['a', 'b'])).toBe("['a', 'b']")
    expect(pythonStr([1, 0.5, true, null, [], {}])).toBe('[1, 0.5, True, None, [], {}]')
    expect(pythonStr([{ a: 'x', b: [false] }])).toBe("[{'a': 'x', 'b': [False]}]")
    expect(pythonStr(["it's", 'say "hi"', 'both \' and "', 'tab\there', 'back\\slash'])).toBe(
      `["it's", 'say "hi"', 'both \\' and "', 'tab\\there', 'back\\\\slash']`,
    )
    expect(pythonStr(['é', '\u0001', '\u00a0', '😀'])).toBe("['é', '\\x01', '\\xa0', '😀']")
  })

  it('renders dicts with json.dumps defaults (spaced separators, ensure_ascii)', () => {
    expect(pythonStr({ a: 1, b: [1, 'x'], c: { d: null, e: false }, f: 0.25 })).toBe(
      '{"a": 1, "b": [1, "x"], "c": {"d": null, "e": false}, "f": 0.25}',
    )
    expect(pythonStr({ 'x-name': 'café 😀', q: 'a"b\n/' })).toBe(
      '{"x-name": "caf\\u00e9 \\ud83d\\ude00", "q": "a\\"b\\n/"}',
    )
    expect(pythonStr({})).toBe('{}')
  })

  it('renders scalars like Python', () => {
    expect(pythonStr('text')).toBe('text')
    expect(pythonStr(true)).toBe('True')
    expect(pythonStr(false)).toBe('False')
    expect(pythonStr(null)).toBe('None')
    expect(pythonStr(30)).toBe('30')
    expect(pythonStr(-2)).toBe('-2')
    expect(pythonStr(1e21)).toBe('1000000000000000000000')
    expect(pythonStr(0.5)).toBe('0.5')
  })

  it('renders floats with float.__repr__', () => {
    expect(pythonFloatRepr(0.000001)).toBe('1e-06')
    expect(pythonFloatRepr(0.000003)).toBe('3e-06')
    expect(pythonFloatRepr(1.5e-7)).toBe('1.5e-07')
    expect(pythonFloatRepr(0.0001)).toBe('0.0001')
    expect(pythonFloatRepr(0.00012)).toBe('0.00012')
    expect(pythonFloatRepr(123.456)).toBe('123.456')
    expect(pythonFloatRepr(-0.1)).toBe('-0.1')
    expect(pythonFloatRepr(1)).toBe('1.0')
    expect(pythonFloatRepr(1e16)).toBe('1e+16')
    expect(pythonFloatRepr(1.5e16)).toBe('1.5e+16')
    expect(pythonFloatRepr(1234567890123456.8)).toBe('1234567890123456.8')
    expect(pythonFloatRepr(-0)).toBe('-0.0')
    expect(pythonStr([Number.NaN, Number.POSITIVE_INFINITY])).toBe('[nan, inf]')
    expect(pythonStr({ x: Number.NEGATIVE_INFINITY })).toBe('{"x": -Infinity}')
  })

  it('concatenates the group name with each key and rendered value', () => {
    expect(deploymentHashInput('g', { model: 'm', tags: ['a'], cost: 3e-6, headers: { k: 'v' } })).toBe(
      'gmodelmtags[\'a\']cost3e-06headers{"k": "v"}',
    )
  })
})
