/**
 * Keyset pages as clients follow them. Every list of the API answers
 * `{items, nextCursor}` and takes `limit` and `cursor` (the previous page's
 * nextCursor, unchanged). The API client and the JupyterLab client read whole
 * lists with allPages(); metric pages are merged back into one series per name.
 * TypeBox-free, so CLI verbs can load it cheaply.
 */
import type { MetricList } from './schemas/runs';
import type { PageQuery } from './schemas/common';

export type { PageQuery };

export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

/** the largest page a list gives; following a whole list asks for pages this big */
export const MAX_PAGE = 1000;
/** the largest page of metric points (GET /v1/runs/:id/metrics) and of log lines */
export const MAX_POINTS_PAGE = 10000;

/** every item of a list, page after page */
export async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<PageOf<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    if (!page.nextCursor) return items;
    if (page.nextCursor === cursor) throw new Error(`the server answered the same page cursor twice (${cursor}); stopping`);
    cursor = page.nextCursor;
  }
}

/** every point of a run's metrics, page after page, one series per name (sorted by name) */
export async function allMetricPages(fetchPage: (cursor: string | undefined) => Promise<MetricList>): Promise<MetricList> {
  const byName = new Map<string, MetricList['series'][number]>();
  let runId = '';
  await allPages(async (cursor) => {
    const page = await fetchPage(cursor);
    runId = page.runId;
    return { items: page.series, nextCursor: page.nextCursor ?? null };
  }).then((series) => {
    for (const s of series) {
      const have = byName.get(s.name);
      if (have) have.points.push(...s.points);
      else byName.set(s.name, { name: s.name, points: [...s.points] });
    }
  });
  return { runId, series: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), nextCursor: null };
}
