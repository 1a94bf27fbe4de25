//! Single sign-on against a real local OpenID Connect provider (oauth2-mock-server, started by
//! this test on 127.0.0.1 from tools/node_modules): authorization code with PKCE, the role from
//! a claim, first sign-in creates the user, local accounts stay local, forged and replayed
//! callbacks refused; on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;

use common::{ADMIN_PASSWORD, Backend, TestApp};
use gad_core::entities::users;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::io::{BufRead, BufReader};

/// The provider, killed when dropped.
struct Provider {
    child: std::process::Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn provider() -> Option<Provider> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("tools/oidc-provider.mjs");
    if !root.join("tools/node_modules/oauth2-mock-server").exists() {
        // scripts/install-deps.sh installs it (npm ci in tools/); CI always has it.
        assert!(std::env::var("CI").is_err(), "tools/node_modules lacks oauth2-mock-server");
        eprintln!("skipped: tools/node_modules lacks oauth2-mock-server (run scripts/install-deps.sh)");
        return None;
    }
    let mut child = std::process::Command::new("node")
        .arg(&script)
        .arg("0")
        .current_dir(root.join("tools"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the provider");
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || BufReader::new(stdout).lines().next());
    let ready = tokio::time::timeout(std::time::Duration::from_secs(20), first).await.unwrap().unwrap();
    let issuer = ready.unwrap().unwrap().strip_prefix("ready ").unwrap().to_owned();
    Some(Provider { child, issuer })
}

/// Follows the flow as a browser does, asking the provider for `who` (`email|role`); returns
/// where GAD finally sends the browser, and the browser.
async fn sign_in(app: &TestApp, who: &str) -> (String, reqwest::Client) {
    let browser = TestApp::client();
    let start = browser.get(app.url("/auth/oidc/login")).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "to the provider");
    let authorize = start.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(authorize.contains("code_challenge=") && authorize.contains("code_challenge_method=S256"), "{authorize}");
    assert!(authorize.contains("nonce=") && authorize.contains("state="), "{authorize}");
    let at_provider = browser.get(format!("{authorize}&login_hint={}", urlencode(who))).send().await.unwrap();
    let back = at_provider.headers()[LOCATION].to_str().unwrap().to_owned();
    // The registered redirect points at this app's callback path; the test app listens on a
    // port of its own, so the browser is pointed there.
    let query = back.split_once('?').unwrap().1.to_owned();
    let done = browser.get(app.url(&format!("/auth/oidc/callback?{query}"))).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    (done.headers()[LOCATION].to_str().unwrap().to_owned(), browser)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn me(app: &TestApp, browser: &reqwest::Client) -> serde_json::Value {
    let res = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn single_sign_on(backend: Backend) {
    let Some(idp) = provider().await else { return };
    let app = TestApp::spawn_with(
        backend,
        &[
            ("GAD_OIDC_ISSUER", &idp.issuer),
            ("GAD_OIDC_CLIENT_ID", "gad-dashboard"),
            ("GAD_OIDC_REDIRECT_URL", "http://127.0.0.1:9/auth/oidc/callback"),
            ("GAD_OIDC_ROLE_MAP", "jefes=supervisor"),
            ("GAD_OIDC_LABEL", "Ingresar con Policía ID"),
        ],
    )
    .await;
    // The login page offers it.
    let page = TestApp::client().get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/auth/oidc/login\"") && page.contains("Ingresar con Policía ID"));

    // A first sign-in creates the user, with the role the claim names (here through the map)
    // and no password; the session works everywhere.
    let (to, browser) = sign_in(&app, "nueva.jefa@gad.local|jefes").await;
    assert_eq!(to, "/");
    let who = me(&app, &browser).await;
    assert_eq!((who["email"].as_str(), who["role"].as_str()), (Some("nueva.jefa@gad.local"), Some("supervisor")));
    let row = users::Entity::find().filter(users::Column::Email.eq("nueva.jefa@gad.local")).one(&app.state.db).await;
    let row = row.unwrap().unwrap();
    assert!(row.password_hash.is_none());
    assert_eq!(row.first_name, "Usuaria");
    // The provider decides the role on every sign-in.
    let (to, browser) = sign_in(&app, "nueva.jefa@gad.local|officer").await;
    assert_eq!(to, "/tareas");
    assert_eq!(me(&app, &browser).await["role"], "officer");
    // What an admin made for the user ends when the provider makes them an admin, as when an
    // admin does: an API token and a Telegram link code would otherwise act as the new admin.
    {
        use gad_core::services::{auth, users as accounts};
        let meta = gad_core::meta::AuditMeta::internal(contract::domain::Channel::Web);
        let admin_row = users::Entity::find().filter(users::Column::Email.eq("admin@gad.local")).one(&app.state.db);
        let admin =
            auth::actor_for_user(&app.state, admin_row.await.unwrap().unwrap().id, contract::domain::Channel::Web)
                .await
                .unwrap();
        let token = accounts::create_api_token(&app.state, &admin, &meta, row.id, "integración", true, None)
            .await
            .unwrap()
            .token;
        let code = accounts::create_link_code(&app.state, &admin, &meta, row.id).await.unwrap().code;
        let me_with =
            |token: &str| reqwest::Client::new().get(app.url("/api/v1/me")).bearer_auth(token.to_owned()).send();
        assert_eq!(me_with(&token).await.unwrap().status(), StatusCode::OK);
        let (_, browser) = sign_in(&app, "nueva.jefa@gad.local|admin").await;
        assert_eq!(me(&app, &browser).await["role"], "admin");
        assert_eq!(
            me_with(&token).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "the token outlived the promotion"
        );
        assert!(accounts::redeem_link_code(&app.state, &code, 555_000_211).await.is_err(), "the link code too");
        sign_in(&app, "nueva.jefa@gad.local|officer").await;
    }

    // An account of the provider's has no password: it enrols in two-factor sign-in with a code
    // alone, and from then on a sign-in through the provider asks for a code too.
    let (_, browser) = sign_in(&app, "dos.pasos@gad.local|jefes").await;
    let (mut phone, _) = crate::security::twofactor::enrol(&app, &browser, "").await;
    let (to, browser) = sign_in(&app, "dos.pasos@gad.local|jefes").await;
    assert_eq!(to, contract::twofactor::LOGIN_CODE_PAGE);
    let res = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "nobody until the code");
    let res = app.call(&browser, "verify_login_code", &[("code", &phone.next_code())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(&app, &browser).await["email"], "dos.pasos@gad.local");
    // A local account still proves its password to enrol.
    let local = app.login("supervisor@gad.local", common::DEMO_PASSWORD).await;
    app.call(&local, "begin_two_factor", &[]).await;
    let res = app.call(&local, "confirm_two_factor", &[("code", "123456"), ("password", "")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "password", "{body}");
    // Without a password, only a recent sign-in through the provider enrols: a stolen older
    // session cannot put its own phone on the account and lock the owner out.
    {
        use gad_core::services::twofactor;
        let (_, _) = sign_in(&app, "tres.pasos@gad.local|jefes").await;
        let row =
            users::Entity::find().filter(users::Column::Email.eq("tres.pasos@gad.local")).one(&app.state.db).await;
        let actor = twofactor::account_actor(&app.state, row.unwrap().unwrap().id).await.unwrap();
        let meta = gad_core::meta::AuditMeta::internal(contract::domain::Channel::Web);
        let enrolment = twofactor::begin(&app.state, &actor, &meta).await.unwrap();
        let mut phone = crate::security::twofactor::Authenticator::new(&enrolment.secret);
        let stale = chrono::Utc::now().timestamp() - twofactor::FRESH_SIGN_IN_SECONDS - 60;
        for signed_in_at in [Some(stale), None] {
            let refused = twofactor::confirm(&app.state, &actor, &meta, &phone.next_code(), "", signed_in_at).await;
            assert!(matches!(refused, Err(gad_core::error::AppError::Refused(_))), "{refused:?}");
        }
        assert!(!twofactor::is_active(&app.state, actor.user_id).await.unwrap());
    }

    // Another of the provider's subjects showing the same email does not get the account.
    let (to, _) = sign_in(&app, "nueva.jefa@gad.local|jefes|otra-persona").await;
    assert_eq!(to, "/login?sso=other_subject");
    let page = TestApp::client().get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Este correo pertenece a otra cuenta institucional"), "{page}");

    // An address the provider has not verified names nobody: refused, nobody created.
    let (to, _) = sign_in(&app, "sin.verificar@gad.local|jefes|sub-x|unverified").await;
    assert_eq!(to, "/login?sso=no_email");
    let none =
        users::Entity::find().filter(users::Column::Email.eq("sin.verificar@gad.local")).one(&app.state.db).await;
    assert!(none.unwrap().is_none());

    // No role claim: refused, nobody created.
    let (to, _) = sign_in(&app, "sin.rol@gad.local|").await;
    assert_eq!(to, "/login?sso=no_role");
    let none = users::Entity::find().filter(users::Column::Email.eq("sin.rol@gad.local")).one(&app.state.db).await;
    assert!(none.unwrap().is_none());
    // The local first admin is never taken over, whatever the provider says.
    let (to, _) = sign_in(&app, "admin@gad.local|admin").await;
    assert_eq!(to, "/login?sso=local");
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    assert_eq!(me(&app, &admin).await["role"], "admin");

    // The provider taking the admin role from the last active admin is refused (the account
    // stays as it was): GAD keeps an admin.
    let (to, browser) = sign_in(&app, "sso.admin@gad.local|admin").await;
    assert!(!to.contains("sso="), "{to}");
    assert_eq!(me(&app, &browser).await["role"], "admin");
    let set_local_admin_active = async |active: bool| {
        users::Entity::update_many()
            .col_expr(users::Column::IsActive, sea_orm::sea_query::Expr::value(active))
            .filter(users::Column::Email.eq("admin@gad.local"))
            .exec(&app.state.db)
            .await
            .unwrap();
    };
    set_local_admin_active(false).await;
    let (to, _) = sign_in(&app, "sso.admin@gad.local|officer").await;
    assert_eq!(to, "/login?sso=last_admin");
    let page = TestApp::client().get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("debe conservar al menos un administrador activo"), "{page}");
    let row = users::Entity::find().filter(users::Column::Email.eq("sso.admin@gad.local")).one(&app.state.db).await;
    assert_eq!(row.unwrap().unwrap().role, contract::domain::Role::Admin);
    // With another admin active again, the provider's word holds.
    set_local_admin_active(true).await;
    let (to, browser) = sign_in(&app, "sso.admin@gad.local|officer").await;
    assert_eq!(to, "/tareas");
    assert_eq!(me(&app, &browser).await["role"], "officer");

    // A forged state, and a replayed callback, are refused.
    let browser = TestApp::client();
    browser.get(app.url("/auth/oidc/login")).send().await.unwrap();
    let forged = browser.get(app.url("/auth/oidc/callback?code=x&state=forged")).send().await.unwrap();
    assert_eq!(forged.headers()[LOCATION], "/login?sso=refused");
    let start = browser.get(app.url("/auth/oidc/login")).send().await.unwrap();
    let authorize = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let back = browser.get(format!("{authorize}&login_hint=otra%40gad.local%7Csupervisor")).send().await.unwrap();
    let query = back.headers()[LOCATION].to_str().unwrap().split_once('?').unwrap().1.to_owned();
    let first = browser.get(app.url(&format!("/auth/oidc/callback?{query}"))).send().await.unwrap();
    assert_eq!(first.headers()[LOCATION], "/");
    let again = TestApp::client().get(app.url(&format!("/auth/oidc/callback?{query}"))).send().await.unwrap();
    assert_eq!(again.headers()[LOCATION], "/login?sso=expired", "another browser cannot use it");

    // The audit log has the sign-ins and refusals.
    let (_, audit) = common::Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false)
        .await
        .get("/audit?action=auth.login_failed")
        .await;
    let reasons: Vec<String> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["after"]["reason"].as_str().map(str::to_owned))
        .collect();
    for reason in ["no_role", "local_account", "other_subject", "last_admin"] {
        assert!(reasons.contains(&reason.to_owned()), "{reason}: {reasons:?}");
    }
}
on_both_backends!(single_sign_on);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_configuration_there_is_no_single_sign_on() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = TestApp::client().get(app.url("/auth/oidc/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let page = TestApp::client().get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("/auth/oidc/login"));
}

/// Starting a single sign-on asks the provider and opens a session: anonymous, so it spends the
/// address's sign-in budget (a browser is sent back to the login page with the reason).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_single_sign_on_spends_the_sign_in_budget() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            // Nobody listens there: every start that gets through fails at discovery.
            ("GAD_OIDC_ISSUER", "http://127.0.0.1:9"),
            ("GAD_OIDC_CLIENT_ID", "gad-dashboard"),
            ("GAD_OIDC_REDIRECT_URL", "http://127.0.0.1:9/auth/oidc/callback"),
            ("GAD_LOGIN_RATE_LIMIT_PER_MINUTE", "3"),
        ],
    )
    .await;
    let browser = TestApp::client();
    let mut limited = 0;
    // Seven starts span at most two one-minute windows of three.
    for _ in 0..7 {
        let res = browser.get(app.url("/auth/oidc/login")).header("accept", "text/html").send().await.unwrap();
        let to = res.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        limited += usize::from(to == "/login?error=rate_limited");
    }
    assert!(limited >= 1, "no start was refused");
}
