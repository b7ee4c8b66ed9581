/**
 * Secret scan of file contents (the name rules live in collect.ts): private
 * key headers, AWS access keys and secret keys, GitHub, Slack, Hugging Face,
 * OpenAI-style tokens. Files up to 4 MiB that look like text (no NUL in the
 * first 8 KiB) are scanned; the first hit names the rule and the line. A
 * `!<path>` line in .trainyardignore allows a file on purpose (same as names).
 */
export const CONTENT_RULES: Array<[string, RegExp]> = [
  ['private key header (-----BEGIN … PRIVATE KEY-----)', /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/],
  ['AWS access key id (AKIA…/ASIA…)', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['AWS secret access key', /aws_secret_access_key\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}\b/i],
  ['GitHub token (ghp_/gho_/ghu_/ghs_/ghr_, github_pat_)', /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/],
  ['Slack token (xox…)', /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/],
  ['Hugging Face token (hf_…)', /\bhf_[A-Za-z0-9]{30,}\b/],
  ['API secret key (sk-…)', /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}\b/],
];

export const MAX_SCAN_BYTES = 4 * 1024 * 1024;

/** the first rule `data` trips, with its 1-based line, or null */
export function scanContent(data: Buffer): { rule: string; line: number } | null {
  if (data.length > MAX_SCAN_BYTES) return null;
  if (data.subarray(0, 8192).includes(0)) return null; // binary
  const text = data.toString('utf8');
  for (const [rule, re] of CONTENT_RULES) {
    const m = re.exec(text);
    if (m) return { rule, line: text.slice(0, m.index).split('\n').length };
  }
  return null;
}
