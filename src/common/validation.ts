import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError } from './api-error';

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix + error.property;
    const own = Object.values(error.constraints ?? {});
    return [...own, ...flatten(error.children ?? [], `${path}.`)];
  });
}

/** A request without a body is validated as `{}`, so a missing field is named rather than the body. */
class BodyValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata) {
    return super.transform(metadata.type === 'body' && value === undefined ? {} : value, metadata);
  }
}

/** The validation every body, query and param goes through; also run by guards that act before pipes. */
export function createValidationPipe(): ValidationPipe {
  return new BodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    // Messages name the property and the rule, never the rejected value.
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ApiError(400, 'validation_failed', flatten(errors)),
  });
}
