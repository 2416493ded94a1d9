import type { Deployment } from '../providers/types'

/**
 * LiteLLM's default `simple-shuffle`: a random pick weighted by `weight`, else `rpm`, else `tpm`,
 * else uniform. `random` is injected so tests can check the split deterministically.
 */
export function pickDeployment(
  deployments: readonly Deployment[],
  random: () => number = Math.random,
): Deployment {
  if (deployments.length === 1) return deployments[0]!
  const weights = weightsOf(deployments)
  const total = weights.reduce((a, b) => a + b, 0)
  if (total <= 0) return deployments[Math.floor(random() * deployments.length)]!
  let point = random() * total
  for (let i = 0; i < deployments.length; i++) {
    point -= weights[i]!
    if (point < 0) return deployments[i]!
  }
  return deployments[deployments.length - 1]!
}

function weightsOf(deployments: readonly Deployment[]): number[] {
  for (const field of ['weight', 'rpm', 'tpm'] as const) {
    if (deployments.every((d) => typeof d.params[field] === 'number')) {
      return deployments.map((d) => d.params[field] as number)
    }
  }
  return deployments.map(() => 1)
}
