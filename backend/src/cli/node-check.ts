/** The Node.js the CLI needs: what to say on an older one (main.ts checks before anything else loads). */
export const MIN_NODE_MAJOR = 22;

export function oldNodeMessage(version: string, execPath: string): string | null {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return null;
  return `trainyard: needs Node.js ${MIN_NODE_MAJOR} or newer; this is ${version} (${execPath}). Install Node ${MIN_NODE_MAJOR}+ (the README's \`npm start\` and \`npm test\` fetch one when the system's is older)`;
}
