import type { Env } from '../env'

/** LiteLLM's last-resort region (`BaseAWSLLM`), not the AWS SDK's. */
export const DEFAULT_AWS_REGION = 'us-west-2'

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** Region in `arn:<partition>:<service>:<region>:<account>:<resource>`, if `id` is an ARN of `service`. */
export function regionFromArn(id: string, service: string): string | undefined {
  const parts = id.split(':')
  if (parts[0] !== 'arn' || parts[2] !== service) return undefined
  return nonEmpty(parts[3])
}

/**
 * LiteLLM's region order for Bedrock and SageMaker (`BaseAWSLLM`): `aws_region_name` → the region
 * inside the model's ARN (an ARN must be called in its own region) → `AWS_REGION_NAME` → `AWS_REGION`
 * → `AWS_DEFAULT_REGION` (boto3's session default) → us-west-2.
 */
export function awsRegion(params: { aws_region_name?: unknown }, env: Env, arnRegion?: string): string {
  return (
    nonEmpty(params.aws_region_name) ??
    arnRegion ??
    nonEmpty(env.AWS_REGION_NAME) ??
    nonEmpty(env.AWS_REGION) ??
    nonEmpty(env.AWS_DEFAULT_REGION) ??
    DEFAULT_AWS_REGION
  )
}
