import { start } from './start'

/**
 * `npm start`: the Node entry point (also the Docker image's). SIGTERM (ECS task stop, docker stop)
 * and SIGINT stop accepting connections, let in-flight requests finish, then exit.
 */
const DRAIN_TIMEOUT_MS = Number(process.env.DRAIN_TIMEOUT_SECONDS || 30) * 1000

start(process.argv.slice(2), process.env)
  .then((started) => {
    if (!started) return
    const stop = (signal: string) => {
      console.error(`${signal} received: draining in-flight requests (up to ${DRAIN_TIMEOUT_MS / 1000}s)`)
      // In-flight requests first, then the spend they produced is written before exiting. If Postgres
      // is down the flush keeps retrying until the deadline; what is left is reported, not hidden.
      const deadline = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), DRAIN_TIMEOUT_MS).unref(),
      )
      started.server
        .drain(DRAIN_TIMEOUT_MS)
        .then(() => Promise.race([started.app.close().then(() => 'flushed' as const), deadline]))
        .then((outcome) => {
          if (outcome === 'timeout')
            console.error('shutdown deadline reached before all spend was written to Postgres')
          process.exit(outcome === 'timeout' ? 1 : 0)
        })
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  .catch((error: unknown) => {
    console.error(`failed to start: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
