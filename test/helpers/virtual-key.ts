import type { VirtualKey } from '../../src/keys/virtual-key'

/** A VirtualKey with no limits, budgets, owners or restrictions; tests override what they exercise. */
export function virtualKey(over: Partial<VirtualKey> = {}): VirtualKey {
  return {
    token: '',
    keyName: 'sk-...abcd',
    keyAlias: null,
    models: [],
    expires: null,
    blocked: false,
    userId: null,
    teamId: null,
    maxBudget: null,
    softBudget: null,
    budgetDuration: null,
    budgetResetAt: null,
    rpmLimit: null,
    tpmLimit: null,
    maxParallelRequests: null,
    modelRpmLimit: {},
    modelTpmLimit: {},
    modelMaxBudget: {},
    metadata: {},
    user: null,
    team: null,
    ...over,
  }
}
