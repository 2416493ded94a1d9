import type { Caller } from '../keys/virtual-key'

export type Descriptor = 'api_key' | 'user' | 'team' | 'model_per_key'

/** One limited entity of a call; a limit of null means none. */
export interface LimitedEntity {
  descriptor: Descriptor
  id: string
  rpm: number | null
  tpm: number | null
  parallel: number | null
}

const limited = (e: LimitedEntity): boolean => e.rpm !== null || e.tpm !== null || e.parallel !== null

/**
 * The entities whose limits apply to a call of `group`: the key, its user, its team, and the key's
 * per-model limits. Empty for the master key and for keys without any limit (the hot path).
 */
export function limitedEntities(caller: Caller, group: string): LimitedEntity[] {
  const key = caller.key
  if (caller.isMaster || !key) return []
  const entities: LimitedEntity[] = [
    {
      descriptor: 'api_key',
      id: key.token,
      rpm: key.rpmLimit,
      tpm: key.tpmLimit,
      parallel: key.maxParallelRequests,
    },
  ]
  if (key.user) {
    const { id, rpmLimit, tpmLimit, maxParallelRequests } = key.user
    entities.push({ descriptor: 'user', id, rpm: rpmLimit, tpm: tpmLimit, parallel: maxParallelRequests })
  }
  if (key.team) {
    const { id, rpmLimit, tpmLimit, maxParallelRequests } = key.team
    entities.push({ descriptor: 'team', id, rpm: rpmLimit, tpm: tpmLimit, parallel: maxParallelRequests })
  }
  const modelRpm = key.modelRpmLimit[group]
  const modelTpm = key.modelTpmLimit[group]
  if (modelRpm !== undefined || modelTpm !== undefined) {
    entities.push({
      descriptor: 'model_per_key',
      id: `${key.token}:${group}`,
      rpm: modelRpm ?? null,
      tpm: modelTpm ?? null,
      parallel: null,
    })
  }
  return entities.filter(limited)
}

/** The counter keys of an entity (hash-tagged so one entity's keys share a Redis Cluster slot). */
export function entityKeys(entity: LimitedEntity): [string, string, string] {
  const tag = `ratelimit:{${entity.descriptor}:${entity.id}}`
  return [`${tag}:requests`, `${tag}:tokens`, `${tag}:parallel`]
}
