/** The notebook kernel's own interpreter: `sys.executable`, read by executing on the kernel (not guessed from PATH). */
import type { ISessionContext } from '@jupyterlab/apputils';

export async function kernelPython(session: ISessionContext, timeoutMs = 15000): Promise<string | null> {
  const kernel = session.session?.kernel;
  if (!kernel) return null;
  let out = '';
  const future = kernel.requestExecute({ code: 'import sys; print(sys.executable)', store_history: false, silent: false, allow_stdin: false });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') out += (msg.content as { text?: string }).text ?? '';
  };
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
  const done = await Promise.race([future.done.then(() => 'done' as const, () => 'done' as const), timeout]);
  if (done === 'timeout') {
    future.dispose();
    return null;
  }
  return out.trim().split('\n').pop()?.trim() || null;
}
