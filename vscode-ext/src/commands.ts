/** Every command id of the extension, once. package.json's contributes.commands must list exactly these (test/commands.test.ts). */
export const Commands = {
  saveModel: 'trainyard.saveModel',
  saveNotebook: 'trainyard.saveNotebook',
  launch: 'trainyard.launch',
  launchQuick: 'trainyard.launchQuick',
  pickHardware: 'trainyard.pickHardware',
  signIn: 'trainyard.signIn',
  reconnect: 'trainyard.reconnect',
  statusMenu: 'trainyard.statusMenu',
  startBackend: 'trainyard.startBackend',
  openDashboard: 'trainyard.openDashboard',
  showRun: 'trainyard.showRun',
  showSweep: 'trainyard.showSweep',
  followLogs: 'trainyard.followLogs',
  cancelRun: 'trainyard.cancelRun',
  relaunch: 'trainyard.relaunch',
  filterRuns: 'trainyard.filterRuns',
  loadMoreRuns: 'trainyard.loadMoreRuns',
  copyImageRef: 'trainyard.copyImageRef',
  compareWithWorkspace: 'trainyard.compareWithWorkspace',
  deleteSchedule: 'trainyard.deleteSchedule',
  openSource: 'trainyard.openSource',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];
