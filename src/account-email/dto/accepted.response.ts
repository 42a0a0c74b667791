import { ApiProperty } from '@nestjs/swagger';

/** The one body of a 202 from a route that may mail an address: it says nothing of the address. */
export class AcceptedResponse {
  @ApiProperty({ example: 'If this address can receive it, a message is on its way' })
  message: string;
}
