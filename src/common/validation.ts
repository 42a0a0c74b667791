import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError } from './api-error';

/** A property name that may appear in a message: a short identifier, which cannot carry markup or a secret. */
const NAMEABLE_PROPERTY = /^[A-Za-z0-9_]{1,64}$/;

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix + error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) =>
      rule === 'whitelistValidation' ? unknownPropertyMessage(error.property) : message,
    );
    return [...own, ...flatten(error.children ?? [], `${path}.`)];
  });
}

/**
 * forbidNonWhitelisted names the unknown property, whatever the client put in the name:
 * markup, a 10 KiB string, a password pasted in the wrong place. Only a short identifier is named.
 */
function unknownPropertyMessage(property: string): string {
  return NAMEABLE_PROPERTY.test(property) ? `property ${property} should not exist` : 'an unknown property should not exist';
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
