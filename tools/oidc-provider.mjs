// A local OpenID Connect provider for GAD's tests (never the internet): oauth2-mock-server on
// 127.0.0.1, authorization code with PKCE, RS256 ID tokens. It signs in whoever the login asks
// for: `login_hint` is `email|role` (`role` may be empty: no role claim), `email|role|subject`
// (the subject is otherwise `sub-<email>`) or `email|role|subject|unverified` (the provider
// says it has not verified the email), else OIDC_DEFAULT_USER.
//   node tools/oidc-provider.mjs <port>     prints "ready <issuer>" when it listens
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2] || 0);
const fallback = process.env.OIDC_DEFAULT_USER || 'sso.supervisor@gad.local|supervisor';
const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');

// The identity asked for by each authorization code.
const byCode = new Map();
server.service.on('beforeAuthorizeRedirect', (redirect, req) => {
  const code = redirect.url.searchParams.get('code');
  const hint = typeof req.query.login_hint === 'string' && req.query.login_hint ? req.query.login_hint : fallback;
  if (code) byCode.set(code, hint);
});
server.service.on('beforeTokenSigning', (token, req) => {
  const code = req.body && req.body.code;
  const hint = (code && byCode.get(code)) || fallback;
  const [email, role, subject, verified] = hint.split('|');
  token.payload.sub = subject || `sub-${email}`;
  token.payload.email = email;
  token.payload.email_verified = verified !== 'unverified';
  token.payload.given_name = 'Usuaria';
  token.payload.family_name = 'Institucional';
  if (role) token.payload.gad_role = role.includes(',') ? role.split(',') : role;
});

await server.start(port, '127.0.0.1');
// Named by address, not `localhost` (which may resolve to ::1 first).
server.issuer.url = `http://127.0.0.1:${server.address().port}`;
console.log(`ready ${server.issuer.url}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
