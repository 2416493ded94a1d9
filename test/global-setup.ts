import { execFileSync } from 'node:child_process'

/** Every suite that starts a real server runs the bundles the runtimes run; building takes < 1 s. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
}
