/**
 * The link-local credential endpoints of AWS (EC2 IMDS, ECS/EKS container credentials) and of other
 * clouds. Whoever reaches them from the gateway's network position gets the gateway's cloud
 * credentials, so no URL that a client or a config value supplies may point at them; only the
 * credential providers in src/aws talk to them, on addresses they build themselves.
 */
const METADATA_HOSTS = new Set([
  '169.254.169.254', // EC2 IMDS (IPv4), also GCP/Azure
  '[fd00:ec2::254]', // EC2 IMDS (IPv6)
  '169.254.170.2', // ECS task credentials
  '169.254.170.23', // EKS Pod Identity
  '[fd00:ec2::23]', // EKS Pod Identity (IPv6)
  'metadata.google.internal',
  'metadata',
])

/**
 * Whether `url` targets a cloud metadata / credential endpoint (any port, any scheme), including
 * the spellings that resolve there (`169.254.169.254.`, a decimal or hex IPv4 literal: WHATWG URL
 * parsing normalises `http://2852039166/` and `http://0xA9FEA9FE/` to 169.254.169.254).
 */
export function isMetadataUrl(url: string | URL): boolean {
  let parsed: URL
  try {
    parsed = typeof url === 'string' ? new URL(url) : url
  } catch {
    return false
  }
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '')
  if (METADATA_HOSTS.has(host)) return true
  // IPv4-mapped IPv6 (`[::ffff:169.254.169.254]` is normalised to `[::ffff:a9fe:a9fe]`).
  if (host === '[::ffff:a9fe:a9fe]' || host === '[::ffff:a9fe:aa02]' || host === '[::ffff:a9fe:aa17]')
    return true
  // The whole 169.254.0.0/16 link-local range: nothing a gateway calls legitimately lives there.
  return /^169\.254\.\d{1,3}\.\d{1,3}$/.test(host)
}
