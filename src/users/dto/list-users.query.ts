import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInt } from '../../common/transforms';

export const MAX_PAGE_SIZE = 100;

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class ListUsersQuery {
  @IsOptional()
  @QueryInt()
  @Max(2_147_483_647)
  @Min(1, { message: 'page must be a positive integer' })
  @IsInt({ message: 'page must be a positive integer' })
  page: number = 1;

  /** Values above 100 are served as 100. */
  @IsOptional()
  @QueryInt()
  @Min(1, { message: 'limit must be a positive integer' })
  @IsInt({ message: 'limit must be a positive integer' })
  limit: number = 20;
}
