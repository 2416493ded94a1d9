import { parseBudgetDuration } from '../spend/budget-duration'

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/**
 * When a key generated now with this `duration` expires. Unlike budget resets, LiteLLM computes key
 * expiry as an exact offset (`now + duration_in_seconds(duration)`), never aligned to midnight;
 * `Nmo` is N calendar months later, on the same day clamped to the month's last day.
 * `null` and `"-1"` mean never (LiteLLM's `/key/update` accepts both).
 */
export function expiresAt(duration: string | null | undefined, now: number): Date | null {
  if (duration === null || duration === undefined || duration === '-1') return null
  const { value, unit } = parseBudgetDuration(duration)
  if (unit !== 'mo') return new Date(now + value * UNIT_MS[unit])
  const from = new Date(now)
  const year = from.getUTCFullYear()
  const month = from.getUTCMonth() + value
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  const day = Math.min(from.getUTCDate(), lastDay)
  return new Date(
    Date.UTC(
      year,
      month,
      day,
      from.getUTCHours(),
      from.getUTCMinutes(),
      from.getUTCSeconds(),
      from.getUTCMilliseconds(),
    ),
  )
}
