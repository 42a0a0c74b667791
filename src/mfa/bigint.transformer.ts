import type { ValueTransformer } from 'typeorm';

/** PostgreSQL bigint comes back as a string; these columns hold numbers far below 2^53. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
