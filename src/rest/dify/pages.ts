// Dify's infinite-scroll page: `{limit, has_more, data}`.
import type { Page } from "../../core/pages.js";

export const pageJson = <T>(page: Page<T>, item: (record: T) => unknown) => ({
  limit: page.limit,
  has_more: page.hasMore,
  data: page.items.map(item),
});
