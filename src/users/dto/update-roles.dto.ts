import { ApiProperty } from '@nestjs/swagger';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsIn } from 'class-validator';
import { ALL_ROLES, Role } from '../../common/auth';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class UpdateRolesDto {
  @ApiProperty({ enum: Role, isArray: true, uniqueItems: true, minItems: 1, example: ['user', 'admin'] })
  @IsIn(ALL_ROLES, { each: true, message: `each role must be one of: ${ALL_ROLES.join(', ')}` })
  @ArrayUnique()
  @ArrayNotEmpty()
  @IsArray()
  roles: Role[];
}
