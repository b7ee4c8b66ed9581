/** The editor <-> webview protocol: messages, the host bridge, the webview's message client. */
export * from './messages';
export { createHostBridge, type HostBridge, type HostBridgeOptions } from './host';
export { createMessageClient, type MessageClient } from './webview-client';
