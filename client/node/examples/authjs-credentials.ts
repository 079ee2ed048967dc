// Auth.js (@auth/core, next-auth v5) Credentials provider whose authorize()
// is wrapped with Gatehouse's sign-in flow. Not part of the package (which
// does not depend on Auth.js): `npm test` type-checks it against @auth/core,
// a dev dependency. Copy it into an app that uses Auth.js.
//
//   npm install @gatehouse/client @auth/core
import Credentials from "@auth/core/providers/credentials";
import { CredentialsSignin } from "@auth/core/errors";
import { GatehouseClient, SignInGuard } from "@gatehouse/client";

// One client per process, shared by every request (token from GATEHOUSE_TOKEN).
const gatehouse = new GatehouseClient({ address: process.env.GATEHOUSE_ADDR ?? "127.0.0.1:50051", failureMode: "open" });
const guard = new SignInGuard({ client: gatehouse, context: { route: "authjs/credentials" } });

class TooManyAttempts extends CredentialsSignin {
  override code = "too_many_attempts";
}

// Your own password check: returns the user or null.
declare function verifyPassword(email: string, password: string): Promise<{ id: string; email: string } | null>;

// The client's IP as your proxy reports it; trust only a header your own proxy sets.
function clientIp(request: Request): string {
  return request.headers.get("x-real-ip") ?? "";
}

export const credentials = Credentials({
  credentials: { email: {}, password: {} },
  async authorize(input, request) {
    const email = String(input.email ?? "");
    const attempt = { user: email, ip: clientIp(request) };
    // Before verifying: the user's failures from this IP (read only) and the
    // IP's attempts (counted). An empty or malformed value is refused, never
    // let through.
    const before = await guard.before(attempt);
    if (!before.proceed) throw new TooManyAttempts(`retry in ${Math.ceil(before.retryAfterMs / 1000)} s`);
    const user = await verifyPassword(email, String(input.password ?? ""));
    if (user === null) {
      await guard.failed(attempt); // counts the failure; may start a lockout
      return null;
    }
    await guard.succeeded(attempt); // clears the failures
    return user;
  },
});
