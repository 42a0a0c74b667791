import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import type { FindOptionsOrder, ObjectLiteral, Repository } from 'typeorm';
import { QueryInt } from './transforms';

export const MAX_PAGE_SIZE = 100;

// Rules run bottom-up, stopping at the first failure: the type check comes last.
/** `?page=&limit=` of every paginated list (GET /users, GET /projects/all). */
export class PageQuery {
  @ApiProperty({ required: false, minimum: 1, default: 1 })
  @IsOptional()
  @QueryInt()
  @Max(2_147_483_647)
  @Min(1, { message: 'page must be a positive integer' })
  @IsInt({ message: 'page must be a positive integer' })
  page: number = 1;

  /** Values above 100 are served as 100. */
  @ApiProperty({ required: false, minimum: 1, default: 20, description: 'Values above 100 are served as 100' })
  @IsOptional()
  @QueryInt()
  @Min(1, { message: 'limit must be a positive integer' })
  @IsInt({ message: 'limit must be a positive integer' })
  limit: number = 20;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

/** One page of `repository`, oldest first; `limit` is served at most MAX_PAGE_SIZE. */
export async function findPage<T extends ObjectLiteral>(
  repository: Repository<T>,
  { page, limit }: PageQuery,
  order: FindOptionsOrder<T>,
): Promise<Page<T>> {
  const take = Math.min(limit, MAX_PAGE_SIZE);
  const [items, total] = await repository.findAndCount({ order, skip: (page - 1) * take, take });
  return { items, total, page, limit: take };
}
