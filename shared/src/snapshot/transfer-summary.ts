/**
 * What a save sent to the backend, in words, for the CLI and both editors (browser-safe: no Node
 * imports). Files the backend read in place (the local fast path) are not "0 uploaded".
 */
export function transferSummary(r: { uploadedFiles: number; localFiles?: number; totalFiles: number }): string {
  const local = r.localFiles ?? 0;
  if (!local) return `${r.uploadedFiles} of ${r.totalFiles} files uploaded`;
  if (!r.uploadedFiles) return `${local} of ${r.totalFiles} files read in place, none uploaded`;
  return `${local} of ${r.totalFiles} files read in place, ${r.uploadedFiles} uploaded`;
}
