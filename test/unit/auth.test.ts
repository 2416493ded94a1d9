import { describe, expect, it } from 'vitest'
import { apiKeyFromRequest } from '../../src/auth/api-key-from-request'
import { createAuthenticator } from '../../src/auth/authenticate'
import { configuredMasterKey, maskKey } from '../../src/auth/master-key'
import { constantTimeEqual, sha256Hex } from '../../src/auth/sha256'
import type { GatewayConfig } from '../../src/config/types'
import { GatewayError } from '../../src/errors'
import type { KeyService } from '../../src/keys/key-service'
import type { VirtualKey } from '../../src/keys/virtual-key'
import { virtualKey } from '../helpers/virtual-key'

const req = (headers: Record<string, string>) => new Request('http://gw/v1/models', { headers })

const config = (master_key?: string): GatewayConfig => ({
  deployments: [],
  litellmSettings: {},
  routerSettings: {},
  generalSettings: master_key ? { master_key } : {},
  environmentVariables: {},
  warnings: [],
})

describe('apiKeyFromRequest', () => {
  it.each([
    [{ authorization: 'Bearer sk-a' }, 'sk-a'],
    [{ authorization: 'bearer   sk-b ' }, 'sk-b'],
    [{ 'x-api-key': 'sk-c' }, 'sk-c'],
    [{ 'api-key': 'sk-d' }, 'sk-d'],
    [{ 'x-litellm-api-key': 'sk-e' }, 'sk-e'],
  ])('reads %o', (headers, key) => {
    expect(apiKeyFromRequest(req(headers))).toBe(key)
  })

  it('ignores a non-Bearer Authorization', () => {
    expect(apiKeyFromRequest(req({ authorization: 'Basic abc' }))).toBeUndefined()
  })
})

describe('master key auth', () => {
  const authenticate = createAuthenticator('sk-master-1234', undefined, Date.now)

  it('accepts the master key from any supported header', async () => {
    await expect(authenticate(req({ 'x-api-key': 'sk-master-1234' }))).resolves.toMatchObject({
      isMaster: true,
    })
    await expect(authenticate(req({ authorization: 'Bearer sk-master-1234' }))).resolves.toMatchObject({
      keyHash: await sha256Hex('sk-master-1234'),
    })
  })

  it('rejects a wrong key with 401 and never echoes the key', async () => {
    const error = (await authenticate(req({ authorization: 'Bearer sk-wrong-secret-9999' })).catch(
      (e) => e,
    )) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.status).toBe(401)
    expect(error.message).not.toContain('sk-wrong-secret-9999')
    expect(error.message).toContain('sk-...9999')
  })

  it('rejects a missing key with LiteLLM wording', async () => {
    const error = (await authenticate(req({})).catch((e: unknown) => e)) as GatewayError
    expect(error.toJSON().error).toMatchObject({
      code: '401',
      message: 'Authentication Error, No api key passed in.',
    })
  })

  it('refuses everything when no master key is configured', async () => {
    const authenticate = createAuthenticator(undefined, undefined, Date.now)
    const error = (await authenticate(req({ 'x-api-key': 'anything' })).catch(
      (e: unknown) => e,
    )) as GatewayError
    expect(error.status).toBe(401)
    expect(error.message).toMatch(/No master key is configured/)
  })

  it('prefers general_settings.master_key over LITELLM_MASTER_KEY', () => {
    expect(configuredMasterKey(config('sk-cfg'), { LITELLM_MASTER_KEY: 'sk-env' })).toBe('sk-cfg')
    expect(configuredMasterKey(config(), { LITELLM_MASTER_KEY: 'sk-env' })).toBe('sk-env')
    expect(configuredMasterKey(config(), {})).toBeUndefined()
  })

  it('masks keys and compares digests exactly', () => {
    expect(maskKey('sk-1234567890')).toBe('sk-...7890')
    expect(constantTimeEqual('abcd', 'abcd')).toBe(true)
    expect(constantTimeEqual('abcd', 'abce')).toBe(false)
    expect(constantTimeEqual('abcd', 'abc')).toBe(false)
  })
})

describe('virtual key auth', () => {
  const now = Date.UTC(2026, 10, 27)
  const record = (over: Partial<VirtualKey>): VirtualKey => virtualKey(over)
  const keysWith = (records: Record<string, VirtualKey>): KeyService => ({
    lookup: async (hash) => records[hash],
    invalidate: async () => {},
    close: () => {},
  })

  it('resolves a known key to its record, by sha256', async () => {
    const hash = await sha256Hex('sk-virtual-1')
    const auth = createAuthenticator('sk-master', keysWith({ [hash]: record({ token: hash }) }), () => now)
    const caller = await auth(req({ authorization: 'Bearer sk-virtual-1' }))
    expect(caller).toMatchObject({ isMaster: false, keyHash: hash, key: { token: hash } })
  })

  it('refuses unknown, blocked and expired keys with 401', async () => {
    const blocked = await sha256Hex('sk-blocked')
    const expired = await sha256Hex('sk-expired')
    const auth = createAuthenticator(
      'sk-master',
      keysWith({
        [blocked]: record({ token: blocked, blocked: true }),
        [expired]: record({ token: expired, expires: new Date(now - 1000) }),
      }),
      () => now,
    )
    const fail = async (key: string) =>
      (await auth(req({ authorization: `Bearer ${key}` })).catch((e: unknown) => e)) as GatewayError
    expect((await fail('sk-unknown-123456')).toJSON().error).toMatchObject({
      code: '401',
      type: 'token_not_found_in_db',
    })
    expect((await fail('sk-blocked')).message).toContain('Key is blocked')
    expect((await fail('sk-expired')).message).toContain('Expired Key')
  })
})
