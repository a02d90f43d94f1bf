// A window onto a long list of invitations: only the rows near the viewport are fetched
// (list_invitations with offset/limit), the page's total sizes the scroll area, and the
// window is fetched again when the view moves past it or something changes.
import type { Invitation } from '../bindings/Invitation';
import type { ListPage } from '../bindings/ListPage';
import type { ListQuery } from '../bindings/ListQuery';
import type { StatusCounts } from '../bindings/StatusCounts';
import { listInvitations, messageOf } from './api';

/** The query without its slice. */
export type ListFilter = Omit<ListQuery, 'offset' | 'limit'>;

/** The most rows one request may ask for (herald-core's MAX_PAGE). */
const MAX_PAGE = 1000;

export class InvitationWindow {
  /** Index of `rows[0]` in the whole list. */
  offset = $state(0);
  rows = $state.raw<Invitation[]>([]);
  total = $state(0);
  counts = $state.raw<StatusCounts | null>(null);
  /** True once the first answer for the current filter arrived. */
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);

  #filter: () => ListFilter;
  #margin: number;
  #seq = 0;
  #view = { start: 0, end: 30 };
  #timer: ReturnType<typeof setTimeout> | null = null;

  /** `filter` is read on every fetch; `margin` rows are fetched on each side of the view. */
  constructor(filter: () => ListFilter, margin = 60) {
    this.#filter = filter;
    this.#margin = margin;
  }

  /** The row at `index`, when it is in the fetched window. */
  at(index: number): Invitation | undefined {
    return this.rows[index - this.offset];
  }

  /** The rows `start..end` are in view: fetch them unless they already are. */
  view(start: number, end: number): void {
    this.#view = { start, end };
    if (!this.loaded) return;
    const need = Math.min(end, this.total);
    const have = this.offset + this.rows.length;
    if (start >= this.offset && need <= have) return;
    this.#schedule(40);
  }

  /** Fetches the rows in view again (something changed). */
  refresh(): Promise<void> {
    return this.#load();
  }

  /** The filter changed: start again from the top. The rows shown so far stay until the new
   * ones arrive, so switching a filter does not flash an empty table. */
  reset(): Promise<void> {
    this.#view = { start: 0, end: Math.max(30, this.#view.end - this.#view.start) };
    return this.#load();
  }

  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#seq += 1;
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#load();
    }, ms);
  }

  async #load(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const seq = ++this.#seq;
    const { start, end } = this.#view;
    const offset = Math.max(0, start - this.#margin);
    const limit = Math.min(MAX_PAGE, Math.max(1, end - start) + 2 * this.#margin);
    this.loading = true;
    let page: ListPage;
    try {
      page = await listInvitations({ ...this.#filter(), offset, limit });
    } catch (e) {
      if (seq !== this.#seq) return;
      this.error = messageOf(e);
      this.loading = false;
      return;
    }
    if (seq !== this.#seq) return;
    this.error = null;
    this.offset = page.offset;
    this.rows = page.rows;
    this.total = page.total;
    this.counts = page.counts;
    this.loaded = true;
    this.loading = false;
    // The list shrank under the view (e.g. after a filter's rows changed status): follow it.
    if (page.rows.length === 0 && page.total > 0 && offset >= page.total) {
      this.#view = { start: Math.max(0, page.total - (end - start)), end: page.total };
      this.#schedule(0);
    }
  }
}
