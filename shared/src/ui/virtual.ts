/**
 * Fixed-row-height windowing: only the rows in view (plus overscan) are rendered.
 * Returns a callback ref for the scrolling element, so the listener follows the
 * element even when it mounts later (after loading) or is replaced.
 */
import { useCallback, useEffect, useState } from 'react';

export function useVirtual(count: number, rowHeight: number, overscan = 8) {
  const [el, setEl] = useState<HTMLElement | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    if (!el) return;
    let frame = 0;
    const onScroll = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => { frame = 0; setScrollTop(el.scrollTop); });
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    const measure = () => setHeight(el.clientHeight || 600);
    measure();
    setScrollTop(el.scrollTop);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(measure) : null;
    ro?.observe(el);
    return () => { el.removeEventListener('scroll', onScroll); ro?.disconnect(); if (frame) cancelAnimationFrame(frame); };
  }, [el]);
  const ref = useCallback((node: HTMLElement | null) => setEl(node), []);
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { ref, start, end, total: count * rowHeight, height, scrollTop };
}
