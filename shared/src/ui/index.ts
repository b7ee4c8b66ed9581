/**
 * The shared Trainyard UI: React components for the dashboard and the editor
 * panels. Import only browser-safe modules here. Styles: theme.css (bundle it
 * with the component CSS of uplot: uplot/dist/uPlot.min.css).
 */
export { TrainyardUi, useUi, hashLinks, type UiClient, type ThemeName, type Links, type TrainyardUiProps, type ArtifactSaver } from './context';
export { HardwarePicker, type HardwarePickerProps } from './HardwarePicker';
export { LaunchForm, type LaunchFormProps } from './LaunchForm';
export { RunList, type RunListProps } from './RunList';
export { RunDetails, explainStatus, type RunDetailsProps } from './RunDetails';
export { RunArtifacts, treeRows, type RunArtifactsProps } from './RunArtifacts';
export { browserDownloadSaver, fetchVerifiedBlob, saveBlob, type FetchArtifact } from './browser-download';
export { LogViewer, type LogViewerProps } from './LogViewer';
export { MetricChart, type MetricChartProps, type ChartSeries } from './MetricChart';
export { SweepView, type SweepViewProps } from './SweepView';
export { ModelList, ModelDetails, VersionList } from './ModelsView';
export { CostSummary } from './CostSummary';
export { ScheduleList, describeRequest } from './SchedulesView';
export { Loading, Empty, ErrorState, StatusBadge, describeError } from './states';
export { subscribeEvents } from './events';
