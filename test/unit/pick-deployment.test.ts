import { describe, expect, it } from 'vitest'
import type { Deployment, LitellmParams } from '../../src/providers/types'
import { ModelGroups } from '../../src/router/model-groups'
import { pickDeployment } from '../../src/router/pick-deployment'

const dep = (id: string, params: Partial<LitellmParams> = {}, modelName = 'g'): Deployment => ({
  id,
  modelName,
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x', ...params },
  modelInfo: {},
})

/** A deterministic spread of "random" numbers over [0, 1). */
const sweep = (n: number) => Array.from({ length: n }, (_, i) => (i + 0.5) / n)

function split(deployments: Deployment[], n = 1000): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of sweep(n)) {
    const d = pickDeployment(deployments, () => r)
    counts[d.id] = (counts[d.id] ?? 0) + 1
  }
  return counts
}

describe('pickDeployment (simple-shuffle)', () => {
  it('splits by weight', () => {
    expect(split([dep('a', { weight: 9 }), dep('b', { weight: 1 })])).toEqual({ a: 900, b: 100 })
  })

  it('falls back to rpm, then uniform', () => {
    expect(split([dep('a', { rpm: 30 }), dep('b', { rpm: 10 })])).toEqual({ a: 750, b: 250 })
    expect(split([dep('a'), dep('b')])).toEqual({ a: 500, b: 500 })
  })
})

describe('ModelGroups', () => {
  const groups = new ModelGroups([dep('a'), dep('b'), dep('c', {}, 'other')])

  it('resolves groups and deployment ids', () => {
    expect(groups.resolve('g').map((d) => d.id)).toEqual(['a', 'b'])
    expect(groups.resolve('c').map((d) => d.id)).toEqual(['c'])
    expect(groups.names()).toEqual(['g', 'other'])
  })

  it('answers an unknown model with a 400 naming it', () => {
    expect(() => groups.resolve('nope')).toThrowError(/Invalid model name passed in model=nope/)
  })
})
