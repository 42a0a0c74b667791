import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

export const IS_PUBLIC_KEY = 'isPublic';

/** Marks the operation in the OpenAPI document: every other operation is documented as Bearer-only. */
export const PUBLIC_OPERATION_EXTENSION = 'x-public';

/** Opts a route or controller out of the global JWT guard. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), ApiExtension(PUBLIC_OPERATION_EXTENSION, true));
