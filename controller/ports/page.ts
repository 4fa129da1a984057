/** One page of a paginated AWS read; `next` is absent on the last page. */
export interface Page<T> {
  items: T[];
  next?: string;
}
