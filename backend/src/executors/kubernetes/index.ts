export { KubernetesExecutor, type KubernetesExecutorOptions } from './kubernetes-executor';
export { loadKube, type KubeClients } from './client';
