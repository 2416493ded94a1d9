import { describe, expect, it } from 'vitest'
import {
  isSupportedBudgetTimezone,
  nextBudgetReset,
  parseBudgetDuration,
} from '../../src/spend/budget-duration'

/** Friday 2026-11-27 13:00 UTC. */
const FROM = new Date('2026-11-27T13:00:00Z')
const reset = (text: string, from = FROM, timezone?: string): string =>
  nextBudgetReset(parseBudgetDuration(text), from, timezone).toISOString()

describe('parseBudgetDuration', () => {
  it('reads every unit LiteLLM accepts', () => {
    expect(parseBudgetDuration('30s')).toEqual({ value: 30, unit: 's', text: '30s' })
    expect(parseBudgetDuration('30m')).toEqual({ value: 30, unit: 'm', text: '30m' })
    expect(parseBudgetDuration('1h')).toEqual({ value: 1, unit: 'h', text: '1h' })
    expect(parseBudgetDuration('1d')).toEqual({ value: 1, unit: 'd', text: '1d' })
    expect(parseBudgetDuration('7d')).toEqual({ value: 7, unit: 'd', text: '7d' })
    expect(parseBudgetDuration('30d')).toEqual({ value: 30, unit: 'd', text: '30d' })
    expect(parseBudgetDuration('2w')).toEqual({ value: 2, unit: 'w', text: '2w' })
    expect(parseBudgetDuration('1mo')).toEqual({ value: 1, unit: 'mo', text: '1mo' })
    expect(parseBudgetDuration('12mo')).toEqual({ value: 12, unit: 'mo', text: '12mo' })
  })

  it('reads a bare unit as one of it and ignores surrounding spaces', () => {
    expect(parseBudgetDuration('mo')).toEqual({ value: 1, unit: 'mo', text: 'mo' })
    expect(parseBudgetDuration(' 1d ')).toEqual({ value: 1, unit: 'd', text: '1d' })
  })

  it('rejects anything else with a message naming the value and the accepted forms', () => {
    for (const bad of [
      '',
      '30',
      '0d',
      '-1d',
      '1.5h',
      '30days',
      '1M',
      '1 d',
      'month',
      'd1',
      '1y',
      '10000000s',
    ]) {
      expect(() => parseBudgetDuration(bad), bad).toThrow(`Invalid budget_duration '${bad}'`)
    }
    expect(() => parseBudgetDuration('1y')).toThrow(/s, m, h, d, w or mo .*30d, 1mo/)
    expect(() => parseBudgetDuration(undefined as unknown as string)).toThrow('Invalid budget_duration')
  })
})

describe('nextBudgetReset', () => {
  it('adds seconds, minutes and hours to the current time', () => {
    expect(reset('30s')).toBe('2026-11-27T13:00:30.000Z')
    expect(reset('30m')).toBe('2026-11-27T13:30:00.000Z')
    expect(reset('2h')).toBe('2026-11-27T15:00:00.000Z')
    expect(reset('36h')).toBe('2026-11-29T01:00:00.000Z')
  })

  it('resets daily budgets at the next midnight', () => {
    expect(reset('1d')).toBe('2026-11-28T00:00:00.000Z')
    expect(reset('d')).toBe('2026-11-28T00:00:00.000Z')
    expect(reset('1d', new Date('2026-11-28T00:00:00Z'))).toBe('2026-11-29T00:00:00.000Z')
    expect(reset('2d')).toBe('2026-11-29T00:00:00.000Z')
    expect(reset('1d', new Date('2026-12-31T23:59:59.999Z'))).toBe('2027-01-01T00:00:00.000Z')
  })

  it('resets weekly budgets on the next Monday', () => {
    expect(reset('7d')).toBe('2026-11-30T00:00:00.000Z')
    expect(reset('1w')).toBe('2026-11-30T00:00:00.000Z')
    expect(reset('2w')).toBe('2026-12-07T00:00:00.000Z')
    // From a Sunday evening and from Monday midnight itself.
    expect(reset('7d', new Date('2026-11-29T23:00:00Z'))).toBe('2026-11-30T00:00:00.000Z')
    expect(reset('7d', new Date('2026-11-30T00:00:00Z'))).toBe('2026-12-07T00:00:00.000Z')
  })

  it('resets monthly budgets on the 1st of the next month', () => {
    expect(reset('mo')).toBe('2026-12-01T00:00:00.000Z')
    expect(reset('1mo')).toBe('2026-12-01T00:00:00.000Z')
    expect(reset('30d')).toBe('2026-12-01T00:00:00.000Z')
    expect(reset('3mo')).toBe('2027-02-01T00:00:00.000Z')
    expect(reset('1mo', new Date('2026-12-15T08:00:00Z'))).toBe('2027-01-01T00:00:00.000Z')
    expect(reset('1mo', new Date('2026-12-01T00:00:00Z'))).toBe('2027-01-01T00:00:00.000Z')
  })

  it('computes in UTC and refuses other timezones for now', () => {
    expect(reset('1d', FROM, 'UTC')).toBe('2026-11-28T00:00:00.000Z')
    expect(reset('1d', FROM, 'Etc/UTC')).toBe('2026-11-28T00:00:00.000Z')
    expect(isSupportedBudgetTimezone('utc')).toBe(true)
    expect(isSupportedBudgetTimezone('America/New_York')).toBe(false)
    expect(() => reset('1d', FROM, 'America/New_York')).toThrow(RangeError)
  })

  it('rejects an invalid date', () => {
    expect(() => nextBudgetReset(parseBudgetDuration('1d'), new Date('nope'))).toThrow(RangeError)
  })
})
