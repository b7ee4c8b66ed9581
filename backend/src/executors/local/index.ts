/** The local executor: runs on this machine (process sandbox or podman). See local-executor.ts. */
export { LocalExecutor, type LocalExecutorOptions } from './local-executor';
