/**
 * Python traceback frames in a log line: `  File "/app/train.py", line 14, in <module>`.
 * Pure; LogViewer links each frame's path when its embedding gives `links.source`.
 */
export interface Frame { start: number; end: number; path: string; line: number }

const FRAME = /File "([^"\n]+)", line (\d+)/g;

/** the frames in `text` (ANSI codes already stripped), with the span of `"path", line N` */
export function findFrames(text: string): Frame[] {
  const out: Frame[] = [];
  FRAME.lastIndex = 0;
  for (let m = FRAME.exec(text); m; m = FRAME.exec(text)) {
    const line = Number(m[2]);
    if (!Number.isSafeInteger(line) || line < 1) continue;
    out.push({ start: m.index + 5, end: m.index + m[0].length, path: m[1], line });
  }
  return out;
}
