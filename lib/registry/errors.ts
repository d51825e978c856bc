/**
 * Domain errors of the token registry.
 *
 * @module
 */
import { Forbidden, NotFound, Unauthorized } from "../errors.ts";

/** No installation with this id in this app. */
export class InstallationNotFound extends NotFound {
  override name = "InstallationNotFound";
  constructor() {
    super("installation not found");
  }
}

/** No installation is bound to this user id. */
export class UserNotFound extends NotFound {
  override name = "UserNotFound";
  constructor() {
    super("user not found");
  }
}

/** The installation secret is missing or does not match. */
export class InvalidInstallationSecret extends Unauthorized {
  override name = "InvalidInstallationSecret";
  constructor() {
    super("missing or invalid installation secret");
  }
}

/** The app requires a signed userId and the signature is missing or wrong. */
export class InvalidUserSignature extends Forbidden {
  override name = "InvalidUserSignature";
  constructor() {
    super("userSignature must be the hex HMAC-SHA256 of userId under the app's signing secret");
  }
}
