//! Two-factor sign-in (TOTP, RFC 6238): a stolen password alone no longer opens an account
//! that has a second factor, codes cannot be guessed, replayed or skipped, and the admin role
//! cannot act before enrolling. Codes are computed here from the secret the enrolment hands
//! out, like an authenticator app would.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use totp_rs::{Algorithm, Builder, Secret};

use crate::common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, TestApp};

const SUPERVISOR: &str = "supervisor@gad.local";
const ADMIN: &str = "admin@gad.local";

/// What an authenticator app shows for `secret` in the 30-second step `step`.
fn code_for_step(secret: &str, step: u64) -> String {
    let secret = Secret::try_from_base32(secret.replace(' ', "")).unwrap();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .unwrap();
    totp.generate(step * 30).to_string()
}

fn current_step() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 30
}

/// A code of `secret` different from every accepted one: the current step, else the next
/// (both are inside the server's window).
pub(crate) struct Authenticator {
    secret: String,
    last_step: u64,
}

impl Authenticator {
    /// The app on a phone that scanned `secret`.
    pub(crate) fn new(secret: &str) -> Self {
        Self { secret: secret.replace(' ', ""), last_step: 0 }
    }

    pub(crate) fn next_code(&mut self) -> String {
        let step = current_step().max(self.last_step + 1);
        assert!(step <= current_step() + 1, "no fresh step left in the window");
        self.last_step = step;
        code_for_step(&self.secret, step)
    }

    /// A six-digit code that is none of the window's valid ones.
    fn wrong_code(&self) -> String {
        let valid: Vec<String> =
            (current_step() - 2..=current_step() + 2).map(|s| code_for_step(&self.secret, s)).collect();
        (0..).map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000)).find(|c| !valid.contains(c)).unwrap()
    }
}

async fn json(res: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

/// Enrols the signed-in `client` (password `password`): returns its authenticator and the
/// recovery codes.
pub(crate) async fn enrol(app: &TestApp, client: &reqwest::Client, password: &str) -> (Authenticator, Vec<String>) {
    let (status, enrolment) = json(app.call(client, "begin_two_factor", &[]).await).await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    let secret = enrolment["secret"].as_str().unwrap().replace(' ', "");
    assert!(enrolment["uri"].as_str().unwrap().starts_with("otpauth://totp/GAD:"), "{enrolment}");
    assert!(enrolment["uri"].as_str().unwrap().contains(&format!("secret={secret}")));
    assert!(enrolment["qr_svg"].as_str().unwrap().starts_with("<svg"), "the QR code is inline SVG");
    let mut app_on_phone = Authenticator { secret, last_step: 0 };
    let code = app_on_phone.next_code();
    let (status, codes) =
        json(app.call(client, "confirm_two_factor", &[("code", &code), ("password", password)]).await).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    assert_eq!(codes.len(), 10);
    (app_on_phone, codes)
}

/// The password step: the answer and where the browser is sent.
async fn password_step(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> String {
    let res = app.call(client, "login", &[("email", email), ("password", password)]).await;
    assert_eq!(res.status(), StatusCode::OK, "login of {email}");
    res.headers().get(LOCATION).unwrap().to_str().unwrap().to_owned()
}

async fn whoami(app: &TestApp, client: &reqwest::Client) -> (StatusCode, serde_json::Value) {
    json(app.call(client, "whoami", &[]).await).await
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    use gad_core::entities::audit_log;
    audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.action, format!("{:?} {:?}", r.before_value, r.after_value)))
        .collect()
}

/// Enrolment, then a login needs the code; a wrong code and a replayed code are refused;
/// the secret is never handed out again.
async fn login_needs_the_code_and_a_code_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    let (mut phone, _) = enrol(&app, &client, DEMO_PASSWORD).await;
    let (_, status) = json(app.call(&client, "two_factor_status", &[]).await).await;
    assert_eq!(status["active"], true);
    assert!(status["enrolment"].is_null(), "the secret never leaves the server after enrolment: {status}");
    assert!(!status.to_string().contains(&phone.secret));
    let (status, _) = json(app.call(&client, "begin_two_factor", &[]).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "an active secret is not replaced without proof");

    // A stolen password alone: the session waits for the code and is nobody meanwhile.
    let thief = TestApp::client();
    assert_eq!(password_step(&app, &thief, SUPERVISOR, DEMO_PASSWORD).await, "/login/2fa");
    assert_eq!(whoami(&app, &thief).await.1, serde_json::Value::Null);
    let wrong = phone.wrong_code();
    let (status, body) = json(app.call(&thief, "verify_login_code", &[("code", &wrong)]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "invalid_credentials");
    assert_eq!(whoami(&app, &thief).await.1, serde_json::Value::Null);

    // The owner, with the phone.
    let owner = TestApp::client();
    assert_eq!(password_step(&app, &owner, SUPERVISOR, DEMO_PASSWORD).await, "/login/2fa");
    let code = phone.next_code();
    let res = app.call(&owner, "verify_login_code", &[("code", &code)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[LOCATION], "/");
    assert_eq!(whoami(&app, &owner).await.1["email"], SUPERVISOR);

    // The same code, seen over the owner's shoulder, is spent.
    let replay = TestApp::client();
    password_step(&app, &replay, SUPERVISOR, DEMO_PASSWORD).await;
    let (status, _) = json(app.call(&replay, "verify_login_code", &[("code", &code)]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code (time step) is accepted once");
    assert_eq!(whoami(&app, &replay).await.1, serde_json::Value::Null);

    // Audited: enrolment, the login with its factor, the failures — never a code.
    let rows = audit_actions(&app).await;
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    for action in ["auth.2fa_enrolment_started", "auth.2fa_enabled", "auth.2fa_failed"] {
        assert!(actions.contains(&action), "{action} missing in {actions:?}");
    }
    assert!(rows.iter().any(|(a, v)| a == "auth.login" && v.contains("totp")), "{rows:?}");
    assert!(rows.iter().all(|(_, v)| !v.contains(&code) && !v.contains(&wrong)), "codes never reach the audit log");
}
on_both_backends!(login_needs_the_code_and_a_code_works_once);

/// Wrong codes count toward the password lockout: after the limit even the right code (and
/// the right password) is refused.
async fn wrong_codes_lock_the_account(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("GAD_LOGIN_MAX_FAILURES", "3")]).await;
    let client = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    let (mut phone, _) = enrol(&app, &client, DEMO_PASSWORD).await;
    let attacker = TestApp::client();
    password_step(&app, &attacker, SUPERVISOR, DEMO_PASSWORD).await;
    let wrong = phone.wrong_code();
    for attempt in 1..=3 {
        let (status, body) = json(app.call(&attacker, "verify_login_code", &[("code", &wrong)]).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}: {body}");
    }
    // Locked: even the right code is refused (and the pending sign-in ends), and so is the
    // password step.
    let (status, _) = json(app.call(&attacker, "verify_login_code", &[("code", &phone.next_code())]).await).await;
    assert_eq!(status.as_u16(), 423);
    let (status, _) = json(app.call(&attacker, "verify_login_code", &[("code", &phone.wrong_code())]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no pending sign-in after the lock");
    // The password step answers a locked account like a wrong password (identity.rs).
    let res = app.call(&attacker, "login", &[("email", SUPERVISOR), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(whoami(&app, &attacker).await.1, serde_json::Value::Null);
    let rows = audit_actions(&app).await;
    assert!(rows.iter().any(|(a, v)| a == "auth.locked" && v.contains("wrong_code")), "{rows:?}");

    // A correct password does not reset the count while a code is pending.
    let app = TestApp::spawn_with(backend, &[("GAD_LOGIN_MAX_FAILURES", "3")]).await;
    let client = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    let (phone, _) = enrol(&app, &client, DEMO_PASSWORD).await;
    let attacker = TestApp::client();
    for _ in 0..3 {
        password_step(&app, &attacker, SUPERVISOR, DEMO_PASSWORD).await;
        let (status, _) = json(app.call(&attacker, "verify_login_code", &[("code", &phone.wrong_code())]).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let res = app.call(&attacker, "login", &[("email", SUPERVISOR), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "re-entering the password does not buy more guesses");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_credentials");
}
on_both_backends!(wrong_codes_lock_the_account);

/// A recovery code signs in once; it is audited and spent.
async fn recovery_code_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    let (_, codes) = enrol(&app, &client, DEMO_PASSWORD).await;
    let first = TestApp::client();
    password_step(&app, &first, SUPERVISOR, DEMO_PASSWORD).await;
    // As typed by a person: upper case, without the dash.
    let typed = codes[0].replace('-', " ").to_uppercase();
    let res = app.call(&first, "verify_login_code", &[("code", &typed)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami(&app, &first).await.1["email"], SUPERVISOR);

    let again = TestApp::client();
    password_step(&app, &again, SUPERVISOR, DEMO_PASSWORD).await;
    let (status, _) = json(app.call(&again, "verify_login_code", &[("code", &codes[0])]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a recovery code is single-use");
    let res = app.call(&again, "verify_login_code", &[("code", &codes[1])]).await;
    assert_eq!(res.status(), StatusCode::OK, "another one still works");
    let (_, status) = json(app.call(&again, "two_factor_status", &[]).await).await;
    assert_eq!(status["recovery_codes_left"], 8);

    let rows = audit_actions(&app).await;
    assert_eq!(rows.iter().filter(|(a, _)| a == "auth.2fa_recovery_code_used").count(), 2);
    assert!(rows.iter().all(|(_, v)| !v.contains(&codes[0]) && !v.contains(&codes[1])));
    use gad_core::entities::user_recovery_codes;
    let stored = user_recovery_codes::Entity::find().all(&app.state.db).await.unwrap();
    assert!(stored.iter().all(|r| !codes.contains(&r.code_hash)), "recovery codes are stored hashed");
}
on_both_backends!(recovery_code_works_once);

/// Between the password and the code the session is anonymous for every door: pages,
/// server functions and REST.
async fn pending_sign_in_reaches_no_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.login(ADMIN, ADMIN_PASSWORD).await;
    enrol(&app, &client, ADMIN_PASSWORD).await;
    let pending = TestApp::client();
    assert_eq!(password_step(&app, &pending, ADMIN, ADMIN_PASSWORD).await, "/login/2fa");

    let (status, body) = json(app.call(&pending, "list_users", &[]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "server function: {body}");
    let (status, _) = json(app.call(&pending, "set_user_role", &[("id", "2"), ("role", "admin")]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = json(app.call(&pending, "two_factor_status", &[]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "not even its own settings");
    let res = pending.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "REST");
    let res = pending.get(app.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "REST");
    for page in ["/tareas", "/usuarios", "/cuenta/2fa"] {
        let res = pending.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.headers()[LOCATION], "/login", "{page}");
    }
    let res = pending.get(app.url("/login/2fa")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the code page is the one place it may go");
    // Without a password step the code page and its function are closed.
    let stranger = TestApp::client();
    let res = stranger.get(app.url("/login/2fa")).send().await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/login");
    let (status, _) = json(app.call(&stranger, "verify_login_code", &[("code", "123456")]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
on_both_backends!(pending_sign_in_reaches_no_data);

/// With `GAD_2FA_REQUIRED_ROLES=admin` (the default), an admin without a second factor can do
/// nothing but enrol — through any door — and afterwards signs in with a code.
async fn required_role_cannot_act_until_enrolled(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("GAD_2FA_REQUIRED_ROLES", "admin")]).await;
    let admin = TestApp::client();
    assert_eq!(password_step(&app, &admin, ADMIN, ADMIN_PASSWORD).await, "/cuenta/2fa");
    let (status, body) = json(app.call(&admin, "list_users", &[]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("verificación en dos pasos"), "{body}");
    let (status, _) = json(app.call(&admin, "set_user_role", &[("id", "2"), ("role", "admin")]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = whoami(&app, &admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let res = admin.get(app.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "REST with the session");
    let res =
        admin.post(app.url("/api/v1/users/1/tokens")).json(&serde_json::json!({"name": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no token to go around it");
    for page in ["/tareas", "/usuarios", "/"] {
        let res = admin.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.headers()[LOCATION], "/cuenta/2fa", "{page}");
    }
    let page = admin.get(app.url("/cuenta/2fa")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Su rol requiere la verificación en dos pasos"));
    // Supervisors are not required here: they act with a password alone.
    let supervisor = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    assert_eq!(json(app.call(&supervisor, "list_officers", &[]).await).await.0, StatusCode::OK);

    // A token made before the requirement applied is refused too.
    let user = gad_core::entities::users::Entity::find()
        .filter(gad_core::entities::users::Column::Email.eq(ADMIN))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let actor = gad_core::services::twofactor::account_actor(&app.state, user.id).await.unwrap();
    let meta = gad_core::meta::AuditMeta::internal(contract::domain::Channel::System);
    let token = gad_core::services::users::create_api_token(&app.state, &actor, &meta, user.id, "old", false, None)
        .await
        .unwrap()
        .token;
    let res = reqwest::Client::new().get(app.url("/api/v1/users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "REST with a token");

    // Enrolled, everything opens; the next sign-in asks for the code.
    let (mut phone, _) = enrol(&app, &admin, ADMIN_PASSWORD).await;
    assert_eq!(json(app.call(&admin, "list_users", &[]).await).await.0, StatusCode::OK);
    let res = reqwest::Client::new().get(app.url("/api/v1/users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let again = TestApp::client();
    assert_eq!(password_step(&app, &again, ADMIN, ADMIN_PASSWORD).await, "/login/2fa");
    let res = app.call(&again, "verify_login_code", &[("code", &phone.next_code())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(app.call(&again, "list_users", &[]).await).await.0, StatusCode::OK);

    // Turning it off needs proof; a required admin is then back to enrolment.
    let (status, _) = json(app.call(&again, "disable_two_factor", &[("password", "not-the-password")]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = json(app.call(&again, "disable_two_factor", &[]).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = json(app.call(&again, "disable_two_factor", &[("password", ADMIN_PASSWORD)]).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(app.call(&again, "list_users", &[]).await).await.0, StatusCode::FORBIDDEN);
    assert!(audit_actions(&app).await.iter().any(|(a, _)| a == "auth.2fa_disabled"));
}
on_both_backends!(required_role_cannot_act_until_enrolled);

/// An admin resets another user's second factor (lost phone); audited; the user then signs in
/// with the password alone. Nobody else may, and an admin's own needs proof instead.
async fn admin_reset_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    enrol(&app, &supervisor, DEMO_PASSWORD).await;
    let me: serde_json::Value = whoami(&app, &supervisor).await.1;
    let id = me["id"].as_i64().unwrap().to_string();
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;
    let (status, _) = json(app.call(&officer, "reset_two_factor", &[("user_id", &id)]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = json(app.call(&supervisor, "reset_two_factor", &[("user_id", &id)]).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not even for oneself without proof");
    let admin = app.login(ADMIN, ADMIN_PASSWORD).await;
    let (status, body) = json(app.call(&admin, "reset_two_factor", &[("user_id", &id)]).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fresh = TestApp::client();
    assert_eq!(password_step(&app, &fresh, SUPERVISOR, DEMO_PASSWORD).await, "/");
    let rows = audit_actions(&app).await;
    assert!(rows.iter().any(|(a, _)| a == "auth.2fa_reset"), "{rows:?}");
}
on_both_backends!(admin_reset_is_audited);

/// Without JavaScript: enrolment and the two-step login are plain form posts answered with
/// 302s; the recovery codes are shown once through the session, never in a URL.
async fn plain_form_flow(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("GAD_2FA_REQUIRED_ROLES", "admin")]).await;
    let client = TestApp::client();
    let post = |endpoint: &str, form: &[(&str, &str)]| {
        client
            .post(app.url(&format!("/api/fn/{endpoint}")))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header("origin", app.url(""))
            .form(form)
            .send()
    };
    let res = post("login", &[("email", ADMIN), ("password", ADMIN_PASSWORD)]).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/cuenta/2fa");
    let page = client.get(app.url("/cuenta/2fa")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Configurar la verificación en dos pasos"), "{page}");
    let res = post("begin_two_factor", &[]).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/cuenta/2fa");
    let page = client.get(app.url("/cuenta/2fa")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<svg"), "the QR code is in the page");
    let secret =
        page.split("<code class=\"secret\">").nth(1).and_then(|rest| rest.split('<').next()).unwrap().replace(' ', "");
    let mut phone = Authenticator { secret, last_step: 0 };
    let wrong = phone.wrong_code();
    let res = post("confirm_two_factor", &[("code", &wrong), ("password", ADMIN_PASSWORD)]).await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/cuenta/2fa");
    let page = client.get(app.url("/cuenta/2fa")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("El código no es correcto"), "the refusal is shown once: {page}");
    let code = phone.next_code();
    let res = post("confirm_two_factor", &[("code", &code), ("password", ADMIN_PASSWORD)]).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/cuenta/2fa", "no secret in the URL");
    let page = client.get(app.url("/cuenta/2fa")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Códigos de recuperación") && page.contains("class=\"recovery-codes\""), "{page}");
    assert!(!page.contains(&phone.secret), "the secret is not shown after enrolment");
    let page = client.get(app.url("/cuenta/2fa")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("class=\"recovery-codes\""), "recovery codes are shown once");
    assert_eq!(client.get(app.url("/tareas")).send().await.unwrap().status(), StatusCode::OK);

    // Sign out, then the two-step login by plain posts.
    let res = post("logout", &[]).await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/login");
    let res = post("login", &[("email", ADMIN), ("password", ADMIN_PASSWORD)]).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/login/2fa");
    let page = client.get(app.url("/login/2fa")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("autocomplete=\"one-time-code\""));
    let res = post("verify_login_code", &[("code", &wrong)]).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/login/2fa?error=invalid_credentials");
    let page = client.get(app.url("/login/2fa?error=invalid_credentials")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Código incorrecto o ya utilizado."), "{page}");
    let res = post("verify_login_code", &[("code", &phone.next_code())]).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/");
    assert_eq!(client.get(app.url("/tareas")).send().await.unwrap().status(), StatusCode::OK);
    let res = client.get(app.url("/login/2fa")).send().await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/", "signed in, the code page is done");
}
on_both_backends!(plain_form_flow);

/// One code sent by two sign-ins at the same moment (a phished code raced against its owner):
/// exactly one succeeds.
async fn a_code_raced_in_parallel_is_accepted_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    let (mut phone, _) = enrol(&app, &client, DEMO_PASSWORD).await;
    let (first, second) = (TestApp::client(), TestApp::client());
    password_step(&app, &first, SUPERVISOR, DEMO_PASSWORD).await;
    password_step(&app, &second, SUPERVISOR, DEMO_PASSWORD).await;
    let code = phone.next_code();
    let form = [("code", code.as_str())];
    let (a, b) =
        tokio::join!(app.call(&first, "verify_login_code", &form), app.call(&second, "verify_login_code", &form));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "the code signed in exactly once");
}
on_both_backends!(a_code_raced_in_parallel_is_accepted_once);

/// Guesses sent in parallel cannot outrun the lockout: each is counted before its secret is
/// checked, so however many arrive at once, at most `GAD_LOGIN_MAX_FAILURES` are checked — at
/// the sign-in's code step, and at the account page's password and code proofs.
async fn parallel_guesses_are_checked_no_more_than_the_lockout_allows(backend: Backend) {
    use gad_core::error::AppError;
    use gad_core::services::twofactor;
    const GUESSES: usize = 12;
    let app = TestApp::spawn_with(backend, &[("GAD_LOGIN_MAX_FAILURES", "3")]).await;
    let client = app.login(SUPERVISOR, DEMO_PASSWORD).await;
    let (phone, _) = enrol(&app, &client, DEMO_PASSWORD).await;
    let user = gad_core::entities::users::Entity::find()
        .filter(gad_core::entities::users::Column::Email.eq(SUPERVISOR))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let actor = twofactor::account_actor(&app.state, user.id).await.unwrap();
    let meta = gad_core::meta::AuditMeta::internal(contract::domain::Channel::Web);
    let tally = |results: Vec<Result<(), AppError>>| {
        let checked = results.iter().filter(|r| matches!(r, Err(AppError::InvalidCredentials))).count();
        let locked = results.iter().filter(|r| matches!(r, Err(AppError::Locked))).count();
        assert_eq!(checked + locked, GUESSES, "{results:?}");
        checked
    };
    let unlock = || async {
        use sea_orm::ConnectionTrait;
        app.state.db.execute_unprepared("UPDATE users SET locked_until = NULL, failed_login_count = 0").await.unwrap();
    };

    let wrong = phone.wrong_code();
    let codes = (0..GUESSES).map(|_| {
        let (state, meta, wrong) = (app.state.clone(), meta.clone(), wrong.clone());
        tokio::spawn(async move { twofactor::verify_login(&state, user.id, &wrong, &meta).await.map(|_| ()) })
    });
    let results = futures::future::join_all(codes).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(tally(results), 3, "sign-in codes checked");

    unlock().await;
    let passwords = (0..GUESSES).map(|n| {
        let (state, meta, actor) = (app.state.clone(), meta.clone(), actor.clone());
        tokio::spawn(async move { twofactor::disable(&state, &actor, &meta, &format!("adivinanza-{n}"), "").await })
    });
    let results = futures::future::join_all(passwords).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(tally(results), 3, "account-page passwords checked");

    unlock().await;
    let proofs = (0..GUESSES).map(|_| {
        let (state, meta, actor, wrong) = (app.state.clone(), meta.clone(), actor.clone(), wrong.clone());
        tokio::spawn(async move { twofactor::disable(&state, &actor, &meta, "", &wrong).await })
    });
    let results = futures::future::join_all(proofs).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(tally(results), 3, "account-page codes checked");
    assert!(twofactor::is_active(&app.state, user.id).await.unwrap(), "no guess turned it off");

    // A right proof is not a failure: it gives its reserved attempt back.
    unlock().await;
    twofactor::regenerate_recovery_codes(&app.state, &actor, &meta, DEMO_PASSWORD, "").await.unwrap();
    let failures = gad_core::entities::users::Entity::find_by_id(user.id).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!((failures.failed_login_count, failures.locked_until), (0, None));
}
on_both_backends!(parallel_guesses_are_checked_no_more_than_the_lockout_allows);
