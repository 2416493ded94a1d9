import { migration001 } from './001-litellm-core'
import { migration002 } from './002-key-alias-unique'

/** One schema step: statements that are each idempotent (IF NOT EXISTS …), applied in one transaction. */
export interface Migration {
  version: number
  name: string
  statements: readonly string[]
}

/** Every migration, oldest first; append new ones, never edit an applied one. */
export const ALL_MIGRATIONS: readonly Migration[] = [migration001, migration002]
