import { createHash, createSign, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

type CborValue = Parameters<typeof isoCBOR.encode>[0];

/** Authenticator data flags (WebAuthn §6.1). */
const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;

/** What a test may change in one ceremony to make it wrong in one way. */
export interface CeremonyOverrides {
  /** The page's origin, as the browser writes it in clientDataJSON. */
  origin?: string;
  /** The RP ID whose hash goes in the authenticator data (default: the options'). */
  rpId?: string;
  challenge?: string;
  /** The signature counter to report (default: the next one). */
  counter?: number;
  userVerified?: boolean;
  /** Sign as if the user handle were this one (base64url). */
  userHandle?: string | null;
}

/**
 * A software passkey: a P-256 key pair made with node:crypto, answering creation and
 * request options as a browser with a platform authenticator would, with attestation
 * `none`. It builds clientDataJSON, the authenticator data (flags, counter, the attested
 * credential with its COSE key in CBOR) and an ES256 signature over both.
 */
export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(32);
  /** The signature counter, raised by `counterStep` at each assertion (0: stays 0, as synced passkeys do). */
  counter: number;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private userHandle: string | undefined;

  constructor(
    readonly origin: string,
    private readonly options: { counterStep?: number; initialCounter?: number; backedUp?: boolean } = {},
  ) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.counter = options.initialCounter ?? 0;
  }

  /** base64url, as `credential.id` in the browser. */
  get id(): string {
    return this.credentialId.toString('base64url');
  }

  /** navigator.credentials.create(): refuses, like a browser, when this credential is excluded. */
  register(options: PublicKeyCredentialCreationOptionsJSON, overrides: CeremonyOverrides = {}): RegistrationResponseJSON {
    if (options.excludeCredentials?.some((credential) => credential.id === this.id)) {
      throw new Error('InvalidStateError: this authenticator is already registered (excludeCredentials)');
    }
    if (!options.pubKeyCredParams.some((param) => param.alg === -7)) throw new Error('NotSupportedError: ES256 not offered');
    this.userHandle = options.user.id;
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, overrides);
    const authData = Buffer.concat([
      this.authDataHeader(overrides.rpId ?? options.rp.id!, AT, overrides.counter ?? this.counter, overrides.userVerified),
      Buffer.alloc(16), // AAGUID: zeros, as with attestation "none"
      uint16(this.credentialId.length),
      this.credentialId,
      Buffer.from(isoCBOR.encode(this.coseKey())),
    ]);
    const attestationObject = Buffer.from(
      isoCBOR.encode(
        new Map<string, CborValue>([
          ['fmt', 'none'],
          ['attStmt', new Map()],
          ['authData', authData],
        ]),
      ),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        transports: ['internal', 'hybrid'],
        publicKeyAlgorithm: -7,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get(): refuses, like a browser, when allowCredentials lists others only. */
  login(options: PublicKeyCredentialRequestOptionsJSON, overrides: CeremonyOverrides = {}): AuthenticationResponseJSON {
    if (options.allowCredentials && options.allowCredentials.length > 0 && !options.allowCredentials.some((credential) => credential.id === this.id)) {
      throw new Error('NotAllowedError: this authenticator is not among allowCredentials');
    }
    if (overrides.counter !== undefined) this.counter = overrides.counter;
    else this.counter += this.options.counterStep ?? 1;
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides);
    const authData = this.authDataHeader(overrides.rpId ?? options.rpId!, 0, this.counter, overrides.userVerified);
    const signature = createSign('sha256')
      .update(Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]))
      .sign(this.privateKey); // DER, as WebAuthn's ES256 signatures are
    const userHandle = overrides.userHandle === undefined ? this.userHandle : overrides.userHandle ?? undefined;
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle ? { userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({ type, challenge: overrides.challenge ?? challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }),
      'utf8',
    );
  }

  private authDataHeader(rpId: string, extraFlags: number, counter: number, userVerified = true): Buffer {
    const backup = this.options.backedUp ? BE | BS : 0;
    const flags = UP | (userVerified ? UV : 0) | backup | extraFlags;
    return Buffer.concat([createHash('sha256').update(rpId, 'utf8').digest(), Buffer.from([flags]), uint32(counter)]);
  }

  /** The public key as a COSE_Key (RFC 9053): EC2, ES256, P-256, x, y. */
  private coseKey(): Map<number, number | Uint8Array> {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
  }
}

function uint16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}
