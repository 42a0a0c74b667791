import { ApiProperty } from '@nestjs/swagger';
import { IsString, IsUUID } from 'class-validator';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class TransferProjectDto {
  @ApiProperty({ format: 'uuid', description: "The new owner's user id" })
  @IsUUID()
  @IsString()
  ownerId: string;
}
