/** `pg`'s own conversion of a JavaScript value to a query parameter (untyped upstream). */
declare module 'pg/lib/utils' {
  export function prepareValue(value: unknown): unknown;
}
