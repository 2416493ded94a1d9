import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/auth/sha256'
import { GatewayError } from '../../src/errors'
import { expiresAt } from '../../src/keys/key-expiry'
import { generateKey, keyName, tokenHashOf } from '../../src/keys/key-format'
import { checkBudgets, keyColumnValues } from '../../src/keys/key-values'
import { ownerColumnValues } from '../../src/keys/owner-values'
import { pgTextArray } from '../../src/keys/sql-columns'

describe('key format', () => {
  it('is sk- + 16 random bytes in unpadded base64url (secrets.token_urlsafe(16))', () => {
    expect(generateKey(() => new Uint8Array(16).fill(0xff))).toBe('sk-_____________________w')
    expect(generateKey(() => new Uint8Array(16).fill(0xfb))).toBe('sk--_v7-_v7-_v7-_v7-_v7-w')
    expect(generateKey(() => Uint8Array.from({ length: 16 }, (_, i) => i))).toBe('sk-AAECAwQFBgcICQoLDA0ODw')
    const real = generateKey()
    expect(real).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
    expect(generateKey()).not.toBe(real)
  })

  it('key_name is sk-... plus the last 4 characters', () => {
    expect(keyName('sk-abcdefghijklmnopqrstuv')).toBe('sk-...stuv')
  })

  it('hashes sk- keys and takes anything else as the hash already', async () => {
    const hash = await sha256Hex('sk-1234')
    expect(await tokenHashOf('sk-1234')).toBe(hash)
    expect(await tokenHashOf(hash)).toBe(hash)
  })
})

describe('duration → expires', () => {
  const now = Date.UTC(2024, 0, 31, 10, 30, 0)

  it.each([
    ['30s', 30_000],
    ['30m', 30 * 60_000],
    ['30h', 30 * 3_600_000],
    ['30d', 30 * 86_400_000],
    ['2w', 14 * 86_400_000],
  ])('%s is an exact offset, not aligned to midnight', (duration, ms) => {
    expect(expiresAt(duration, now)?.getTime()).toBe(now + ms)
  })

  it('1mo is the same day next month, clamped to its last day', () => {
    expect(expiresAt('1mo', now)?.toISOString()).toBe('2024-02-29T10:30:00.000Z')
    expect(expiresAt('12mo', now)?.toISOString()).toBe('2025-01-31T10:30:00.000Z')
  })

  it('null and -1 never expire; nonsense throws', () => {
    expect(expiresAt(null, now)).toBeNull()
    expect(expiresAt('-1', now)).toBeNull()
    expect(() => expiresAt('soon', now)).toThrow()
  })
})

describe('keyColumnValues', () => {
  const now = Date.UTC(2024, 4, 15, 12)

  it('stores model rpm/tpm limits, tags and guardrails inside metadata', () => {
    const values = keyColumnValues(
      { metadata: { app: 'x' }, model_rpm_limit: { a: 1 }, model_tpm_limit: { a: 2 }, tags: ['t'] },
      now,
    )
    expect(values.metadata).toEqual({
      app: 'x',
      model_rpm_limit: { a: 1 },
      model_tpm_limit: { a: 2 },
      tags: ['t'],
    })
  })

  it('on update keeps the stored metadata unless replaced, merging metadata fields into it', () => {
    expect(keyColumnValues({ model_rpm_limit: { a: 5 } }, now, { app: 'x' }).metadata).toEqual({
      app: 'x',
      model_rpm_limit: { a: 5 },
    })
    expect(keyColumnValues({ metadata: { new: 1 } }, now, { app: 'x' }).metadata).toEqual({ new: 1 })
    expect(keyColumnValues({ max_budget: 1 }, now, { app: 'x' })).not.toHaveProperty('metadata')
  })

  it('leaves absent fields alone, clears nullable ones on null, resets NOT NULL ones to their default', () => {
    expect(keyColumnValues({ max_budget: null, models: null }, now)).toEqual({ max_budget: null, models: [] })
    expect(keyColumnValues({}, now)).toEqual({})
  })

  it('key_type becomes allowed_routes (LiteLLM handle_key_type)', () => {
    expect(keyColumnValues({ key_type: 'llm_api' }, now).allowed_routes).toEqual(['llm_api_routes'])
  })

  it('budget_duration sets budget_reset_at; bad durations are 400s naming the param', () => {
    expect(keyColumnValues({ budget_duration: '1d' }, now).budget_reset_at).toEqual(
      new Date('2024-05-16T00:00:00Z'),
    )
    const error = (() => {
      try {
        keyColumnValues({ duration: 'soon' }, now)
      } catch (e) {
        return e as GatewayError
      }
    })()
    expect(error).toBeInstanceOf(GatewayError)
    expect(error?.param).toBe('duration')
    expect(() => ownerColumnValues({ budget_duration: 'x' }, now)).toThrow(GatewayError)
  })

  it('refuses negative budgets with LiteLLM’s message', () => {
    expect(() => checkBudgets({ max_budget: -1 }, ['max_budget'])).toThrow(
      'max_budget cannot be negative. Received: -1',
    )
    expect(() => checkBudgets({ max_budget: 0 }, ['max_budget'])).not.toThrow()
  })
})

describe('ownerColumnValues', () => {
  it('copies user/team fields, tags into metadata, budget_duration with reset', () => {
    const values = ownerColumnValues(
      { max_budget: 3, tags: ['a'], budget_duration: '30s', team_alias: 't' },
      0,
      {
        keep: true,
      },
    )
    expect(values).toMatchObject({ max_budget: 3, team_alias: 't', metadata: { keep: true, tags: ['a'] } })
    expect(values.budget_reset_at).toEqual(new Date(30_000))
  })
})

describe('pgTextArray', () => {
  it('quotes every element so commas, quotes and braces are data', () => {
    expect(pgTextArray([])).toBe('{}')
    expect(pgTextArray(['a', 'b,c', 'd"e', 'f\\g', '{h}'])).toBe('{"a","b,c","d\\"e","f\\\\g","{h}"}')
  })
})
