import type { Gateway } from '../http/context'
import { spendCounterKey } from '../spend/spend-totals'
import type { SpendEntity } from '../spend/spend-types'
import type { DeletedKey } from './key-repository'

/** What a delete (or a regenerate, for the old hash) removed for good. */
export interface Forgotten {
  keys?: readonly DeletedKey[]
  users?: readonly string[]
  teams?: readonly string[]
}

/**
 * Drops the running spend totals of deleted keys, users and teams (and a regenerated key's old
 * hash): a key, user or team created again with the same id or value must start from its new
 * row's spend, not inherit the old total (which lives up to a day). Per-model totals are dropped
 * for every configured model group and every group the row had spend on.
 *
 * Best-effort, and meant to run after the local cache was invalidated: the delete has happened, so
 * a counters failure is logged, never turned into an error answer. Totals left behind expire.
 */
export async function forgetSpendTotals(gw: Gateway, forgotten: Forgotten): Promise<void> {
  const counters = gw.stores?.counters
  if (!counters) return
  const groups = gw.groups.names()
  const entities: SpendEntity[] = [
    ...(forgotten.users ?? []).map((id): SpendEntity => ({ kind: 'user', id })),
    ...(forgotten.teams ?? []).map((id): SpendEntity => ({ kind: 'team', id })),
  ]
  for (const key of forgotten.keys ?? []) {
    entities.push({ kind: 'key', id: key.token })
    for (const model of new Set([...groups, ...key.spendGroups])) {
      entities.push({ kind: 'key-model', id: key.token, model })
    }
  }
  if (entities.length === 0) return
  try {
    await counters.del(entities.map(spendCounterKey))
  } catch (error) {
    gw.logger.warn(
      'could not drop the spend totals of deleted keys, users or teams; they expire within a day',
      {
        error,
        totals: entities.length,
      },
    )
  }
}
