//! Server functions behind the dashboard pages of part B: the notes logbook, the task form
//! (texts → fields, errors per field, plain-form redirects) and the assignment editor.
#![allow(clippy::unwrap_used)]

use crate::common;

use app::api::notes::create_note;
use app::server::harness::call_as;
use common::{Backend, DEMO_PASSWORD, TestApp};
use contract::domain::Channel;
use gad_core::services::auth::actor_for_user;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::Value;

/// A plain HTML form post, as a browser without JavaScript sends it.
async fn form_post(app: &TestApp, client: &reqwest::Client, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/fn/{name}")))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn user_id(app: &TestApp, client: &reqwest::Client) -> i64 {
    let me: Value = app.call(client, "whoami", &[]).await.json().await.unwrap();
    me["id"].as_i64().unwrap()
}

async fn notes_are_private(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;

    let res = app.call(&supervisor, "create_note", &[("body", "  Relevo sin novedades  ")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let note: Value = res.json().await.unwrap();
    assert_eq!(note["body"], "Relevo sin novedades", "trimmed");
    let id = note["id"].as_i64().unwrap().to_string();

    // Without JavaScript: a 302 back to the logbook.
    let res = form_post(&app, &supervisor, "create_note", &[("body", "Segunda nota")]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/notas");

    let mine: Value = app.call(&supervisor, "list_notes", &[]).await.json().await.unwrap();
    let bodies: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Segunda nota", "Relevo sin novedades"], "newest first");

    // Nobody else reads or deletes them.
    let theirs: Value = app.call(&officer, "list_notes", &[]).await.json().await.unwrap();
    assert!(theirs["items"].as_array().unwrap().is_empty(), "{theirs}");
    let res = app.call(&officer, "delete_note", &[("id", &id)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // An empty note is refused, naming the field.
    let res = app.call(&officer, "create_note", &[("body", "   ")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["fields"][0]["field"], "body");

    // A read-only actor cannot write, but can read.
    let mut actor = actor_for_user(&app.state, user_id(&app, &supervisor).await, Channel::Api).await.unwrap();
    actor.read_only = true;
    let refused = call_as(&app.state, Some(actor), || create_note("no".into())).await;
    assert_eq!(refused.unwrap_err().code, contract::ErrorCode::Forbidden);

    let res = app.call(&supervisor, "delete_note", &[("id", &id)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mine: Value = app.call(&supervisor, "list_notes", &[]).await.json().await.unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Anonymous visitors get nothing.
    let res = app.call(&TestApp::client(), "list_notes", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
on_both_backends!(notes_are_private);

async fn task_form_reports_errors_per_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;

    // Unreadable texts: every bad field is named.
    let res = app
        .call(
            &supervisor,
            "save_task_form",
            &[("title", "Control"), ("task_type", "nada"), ("lat", "abc"), ("lon", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    let mut fields: Vec<&str> =
        err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["lat", "task_type"]);

    // Readable but invalid: the service's own rules, per field.
    let res = app
        .call(
            &supervisor,
            "save_task_form",
            &[
                ("title", "x"),
                ("task_type", "patrol"),
                ("lat", "-95"),
                ("lon", "-58.4"),
                ("scheduled_end", "2030-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    let mut fields: Vec<&str> =
        err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["lat", "scheduled_start", "title"]);

    // Without JavaScript: back to the form with the values and the errors, kept in the session
    // for one showing: never in the URL (descriptions and internal notes are not for history
    // and proxy logs).
    let res = form_post(
        &app,
        &supervisor,
        "save_task_form",
        &[
            ("title", "Operativo Once"),
            ("task_type", "patrol"),
            ("lat", "-34.6"),
            ("description", "Informante reservado"),
            ("notes", "Nota interna reservada"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/tareas/nueva");
    let html = page(&app, &supervisor, "/tareas/nueva").await;
    assert!(html.contains("value=\"Operativo Once\""), "the typed title is kept: {html}");
    assert!(html.contains("Nota interna reservada"), "the typed notes are kept");
    assert!(html.contains("latitud y la longitud"), "the field's error is shown");
    let again = page(&app, &supervisor, "/tareas/nueva").await;
    assert!(!again.contains("Operativo Once"), "shown once");

    // A valid form: local times in the configured zone (Buenos Aires, UTC−3).
    let res = form_post(
        &app,
        &supervisor,
        "save_task_form",
        &[
            ("title", "Operativo Once"),
            ("task_type", "patrol"),
            ("priority", "high"),
            ("lat", "-34,6"),
            ("lon", "-58.41"),
            ("scheduled_start", "2030-05-01T08:00"),
            ("scheduled_end", "2030-05-01T12:30"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let id: i64 = location.strip_prefix("/tareas/").unwrap().parse().unwrap();
    let task: Value = app.call(&supervisor, "task_detail", &[("id", &id.to_string())]).await.json().await.unwrap();
    assert_eq!(task["priority"], "high");
    assert_eq!(task["lat"], -34.6);
    assert_eq!(task["scheduled_start"], "2030-05-01T11:00:00Z");
    assert_eq!(task["scheduled_end_local"], "01/05/2030 12:30");

    // Editing: an emptied field is cleared, the code stays.
    let res = app
        .call(
            &supervisor,
            "save_task_form",
            &[("id", &id.to_string()), ("title", "Operativo Once (editado)"), ("task_type", "surveillance")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["title"], "Operativo Once (editado)");
    assert_eq!(edited["code"], task["code"]);
    assert_eq!(edited["lat"], Value::Null);
    assert_eq!(edited["scheduled_start"], Value::Null);

    // Officers cannot use the form.
    let res = app.call(&officer, "save_task_form", &[("title", "Mía"), ("task_type", "patrol")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
on_both_backends!(task_form_reports_errors_per_field);

async fn assignment_editor_shows_distance_and_overlaps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;
    let create = |title: &'static str| {
        let (app, supervisor) = (&app, &supervisor);
        async move {
            let form = [
                ("title", title),
                ("task_type", "patrol"),
                ("lat", "-34.6037"),
                ("lon", "-58.3816"),
                ("scheduled_start", "2031-03-01T08:00"),
                ("scheduled_end", "2031-03-01T12:00"),
            ];
            let task: Value = app.call(supervisor, "save_task_form", &form).await.json().await.unwrap();
            task["id"].as_i64().unwrap().to_string()
        }
    };
    let first = create("Primera").await;
    let second = create("Segunda").await;

    let candidates: Value =
        app.call(&supervisor, "assignment_candidates", &[("task_id", &first)]).await.json().await.unwrap();
    let list = candidates.as_array().unwrap();
    assert!(list.len() >= 6, "{candidates}");
    let distances: Vec<f64> = list.iter().filter_map(|c| c["distance_m"].as_f64()).collect();
    assert!(!distances.is_empty());
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "nearest first: {distances:?}");
    let nearest = list[0]["officer_id"].as_i64().unwrap().to_string();

    // Assign the nearest to the first task (a plain form button).
    let res =
        form_post(&app, &supervisor, "assign_officer_form", &[("task_id", &first), ("officer_id", &nearest)]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION].to_str().unwrap(), format!("/tareas/{first}"));

    // For the second task (same slot) that officer shows the overlap; assigning needs the override.
    let candidates: Value =
        app.call(&supervisor, "assignment_candidates", &[("task_id", &second)]).await.json().await.unwrap();
    let busy = candidates
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["officer_id"].as_i64().map(|id| id.to_string()).as_ref() == Some(&nearest))
        .unwrap();
    let first_code: Value = app.call(&supervisor, "task_detail", &[("id", &first)]).await.json().await.unwrap();
    assert_eq!(busy["overlapping_tasks"], serde_json::json!([first_code["code"]]));
    let res = app.call(&supervisor, "assign_officer_form", &[("task_id", &second), ("officer_id", &nearest)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = app
        .call(
            &supervisor,
            "assign_officer_form",
            &[("task_id", &second), ("officer_id", &nearest), ("allow_overlap", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let candidates: Value =
        app.call(&supervisor, "assignment_candidates", &[("task_id", &second)]).await.json().await.unwrap();
    assert_eq!(candidates[0]["officer_id"].to_string(), nearest, "assigned officers come first");
    assert_eq!(candidates[0]["assigned"], true);

    let res = app.call(&officer, "assignment_candidates", &[("task_id", &first)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
on_both_backends!(assignment_editor_shows_distance_and_overlaps);

/// A signed-in page as a browser without JavaScript gets it.
async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let res = client.get(app.url(path)).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

/// The text of the first `<code class="secret">` after `label` in a page.
fn secret_after(html: &str, label: &str) -> Option<String> {
    let marker = "<code class=\"secret\">";
    let from = html.find(label)?;
    let at = from + html[from..].find(marker)? + marker.len();
    Some(html[at..].chars().take_while(|c| *c != '<').collect())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The `/usuarios` forms as plain posts: every outcome comes back to the page through the
/// session, shown once; secrets never travel in the redirect. With JavaScript (JSON) the
/// same doors answer the value and keep nothing.
async fn user_forms_work_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", common::ADMIN_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;

    // Create with a generated password: back to the page, which shows it once.
    let form = [
        ("first_name", "Lucía"),
        ("last_name", "Ferreyra"),
        ("dni", "41222333"),
        ("email", "lucia.ferreyra@gad.local"),
        ("phone", ""),
        ("role", "supervisor"),
        ("password", ""),
    ];
    let res = form_post(&app, &admin, "create_user_form", &form).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/usuarios");
    let html = page(&app, &admin, "/usuarios").await;
    assert!(html.contains("Usuario creado: lucia.ferreyra@gad.local."), "{html}");
    let password = secret_after(&html, "Contraseña generada").expect("the generated password is shown");
    assert_eq!(password.len(), 20, "{password}");
    let again = page(&app, &admin, "/usuarios").await;
    assert!(!again.contains(&password), "the password is shown only once");
    assert!(!again.contains("Usuario creado"));
    // The generated password works.
    let res =
        app.call(&TestApp::client(), "login", &[("email", "lucia.ferreyra@gad.local"), ("password", &password)]).await;
    assert!(res.status().is_success());

    // Refused: the Spanish error and what was typed come back (never the password).
    let mut dup = form;
    dup[2] = ("dni", "41222999");
    dup[6] = ("password", "clave-secreta-larga");
    let res = form_post(&app, &admin, "create_user_form", &dup).await;
    assert_eq!(location(&res), "/usuarios");
    let html = page(&app, &admin, "/usuarios").await;
    assert!(html.contains("Ya existe un registro con esos datos"), "{html}");
    assert!(html.contains("value=\"41222999\""), "the typed DNI is kept");
    assert!(!html.contains("clave-secreta-larga"));

    let users: Value = app.call(&admin, "list_users", &[("text", "lucia.ferreyra")]).await.json().await.unwrap();
    let id = users["items"][0]["id"].as_i64().unwrap().to_string();
    let manage = format!("/usuarios?id={id}");

    // Role and deactivation.
    let res = form_post(&app, &admin, "set_user_role", &[("id", &id), ("role", "officer")]).await;
    assert_eq!(location(&res), manage);
    assert!(page(&app, &admin, &manage).await.contains("es ahora Efectivo"));
    let res = form_post(&app, &admin, "set_user_active_form", &[("id", &id), ("active", "false")]).await;
    assert_eq!(location(&res), manage);
    let html = page(&app, &admin, &manage).await;
    assert!(html.contains("fue desactivado"), "{html}");
    assert!(html.contains("Reactivar"));

    // A link code and a token: shown once on the page, absent from the redirect.
    let res = form_post(&app, &admin, "create_link_code_form", &[("user_id", &id)]).await;
    assert_eq!(location(&res), manage);
    let html = page(&app, &admin, &manage).await;
    let command = secret_after(&html, "no está configurado").expect("the link code is shown");
    let code = command.strip_prefix("/start ").unwrap().to_owned();
    assert!(code.len() >= 8, "{code}");
    assert!(!page(&app, &admin, &manage).await.contains(&code), "the code is shown only once");

    let res = form_post(
        &app,
        &admin,
        "create_api_token_form",
        &[("user_id", &id), ("name", "sin js"), ("read_only", "true")],
    )
    .await;
    assert_eq!(location(&res), manage);
    let html = page(&app, &admin, &manage).await;
    let token = secret_after(&html, "Token de API").expect("the token is shown");
    assert!(token.starts_with("gad_"), "{token}");
    assert!(!page(&app, &admin, &manage).await.contains(&token));

    let res = form_post(&app, &admin, "reset_password_form", &[("id", &id)]).await;
    assert_eq!(location(&res), manage);
    let html = page(&app, &admin, &manage).await;
    assert_eq!(secret_after(&html, "Nueva contraseña").map(|p| p.len()), Some(20), "{html}");

    // A refused action shows its Spanish error on the page.
    let admin_id = user_id(&app, &admin).await.to_string();
    let res = form_post(&app, &admin, "set_user_active_form", &[("id", &admin_id), ("active", "false")]).await;
    assert_eq!(location(&res), format!("/usuarios?id={admin_id}"));
    assert!(
        page(&app, &admin, &format!("/usuarios?id={admin_id}")).await.contains("No puede desactivar su propia cuenta.")
    );

    // An outcome left for one page is not shown on another, nor later.
    let res = form_post(&app, &admin, "create_link_code_form", &[("user_id", &id)]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    page(&app, &admin, "/efectivos/1").await;
    assert!(!page(&app, &admin, &manage).await.contains("/start "));

    // With JavaScript: the value itself, nothing kept for the page.
    let res = app.call(&admin, "create_link_code_form", &[("user_id", &id)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let link: Value = res.json().await.unwrap();
    assert!(!page(&app, &admin, &manage).await.contains(link["code"].as_str().unwrap()));

    // The service still decides who may: a supervisor is refused, with or without JavaScript.
    let res =
        app.call(&supervisor, "create_api_token_form", &[("user_id", &id), ("name", "x"), ("read_only", "true")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = form_post(&app, &supervisor, "set_user_role", &[("id", &id), ("role", "admin")]).await;
    assert_eq!(location(&res), manage);
    let users: Value = app.call(&admin, "list_users", &[("text", "lucia.ferreyra")]).await.json().await.unwrap();
    assert_eq!(users["items"][0]["role"], "officer");
}
on_both_backends!(user_forms_work_without_javascript);

/// The status form of the officer page as a plain post: back to the officer with the outcome.
async fn officer_status_form_works_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;

    let res =
        form_post(&app, &supervisor, "set_officer_status_form", &[("officer_id", "2"), ("status", "off_duty")]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/efectivos/2");
    let html = page(&app, &supervisor, "/efectivos/2").await;
    assert!(html.contains("Estado guardado: Fuera de servicio."), "{html}");
    assert!(!page(&app, &supervisor, "/efectivos/2").await.contains("Estado guardado"), "shown once");
    let got: Value = app.call(&supervisor, "get_officer", &[("officer_id", "2")]).await.json().await.unwrap();
    assert_eq!(got["status"], "off_duty");

    // An officer may not change someone else's status: the service refuses, in Spanish.
    let res = app.call(&officer, "set_officer_status_form", &[("officer_id", "2"), ("status", "available")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let err: Value = res.json().await.unwrap();
    assert!(!err["message"].as_str().unwrap().is_empty());
}
on_both_backends!(officer_status_form_works_without_javascript);

/// A new officer is onboarded from the dashboard alone: the user created with the officer
/// role is an officer at once (under Efectivos, in the assignment lists), one person keeps
/// one name whichever side is edited, and taking the role away releases the profile.
async fn an_officer_user_is_an_officer(backend: Backend) {
    use contract::officers::{OfficerFilter, OfficerInput};
    use contract::users::UserUpdate;
    use gad_core::meta::AuditMeta;
    use gad_core::services::{assignment, officers, users};

    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", common::ADMIN_PASSWORD).await;
    let form = [
        ("first_name", "Rocío"),
        ("last_name", "Vera"),
        ("dni", "42333444"),
        ("email", "rocio.vera@gad.local"),
        ("phone", ""),
        ("role", "officer"),
        ("password", ""),
        ("officer_code", ""),
        ("officer_rank", "Agente"),
        ("officer_unit", "Comisaría Vecinal 4B"),
    ];
    let res = form_post(&app, &admin, "create_user_form", &form).await;
    assert_eq!(location(&res), "/usuarios");
    let html = page(&app, &admin, "/usuarios").await;
    assert!(html.contains("Efectivo EF-007 creado y vinculado"), "the next free code after the demo's six: {html}");

    let meta = AuditMeta::internal(Channel::Web);
    let admin_id: i64 = app.call(&admin, "whoami", &[]).await.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let actor = actor_for_user(&app.state, admin_id, Channel::Web).await.unwrap();
    let filter = OfficerFilter { text: Some("EF-007".into()), ..OfficerFilter::default() };
    let listed = officers::list(&app.state, &actor, filter.clone(), None, 10).await.unwrap().items;
    assert_eq!(listed.len(), 1, "listed under Efectivos");
    let officer = listed[0].clone();
    assert_eq!((officer.rank.as_str(), officer.unit.as_str()), ("Agente", "Comisaría Vecinal 4B"));
    let user_id = officer.user_id.expect("linked to the new user");
    let candidates = assignment::candidates(&app.state, &actor, 1).await.unwrap();
    assert!(candidates.iter().any(|c| c.officer_id == officer.id), "offered for assignment");
    let own = actor_for_user(&app.state, user_id, Channel::Telegram).await.unwrap();
    assert_eq!(own.officer_id, Some(officer.id), "the bot knows them as that officer");

    // One person, one name: edited on the user, the officer follows; and the other way.
    let rename = UserUpdate { last_name: Some("Vera Paz".into()), ..UserUpdate::default() };
    users::update(&app.state, &actor, &meta, user_id, rename).await.unwrap();
    assert_eq!(officers::get(&app.state, &actor, officer.id).await.unwrap().last_name, "Vera Paz");
    let input = OfficerInput {
        code: officer.code.clone(),
        first_name: "Rocío Belén".into(),
        last_name: "Vera Paz".into(),
        rank: "Cabo".into(),
        unit: officer.unit.clone(),
        specialty: None,
        user_id: Some(user_id),
    };
    officers::update(&app.state, &actor, &meta, officer.id, input).await.unwrap();
    assert_eq!(users::get(&app.state, &actor, user_id).await.unwrap().first_name, "Rocío Belén");

    // Another role releases the profile (it stays under Efectivos, unlinked).
    let promote = UserUpdate { role: Some(contract::domain::Role::Supervisor), ..UserUpdate::default() };
    users::update(&app.state, &actor, &meta, user_id, promote).await.unwrap();
    let released = officers::get(&app.state, &actor, officer.id).await.unwrap();
    assert_eq!(released.user_id, None);
}
on_both_backends!(an_officer_user_is_an_officer);

/// The deadline targets page (`/plazos`): supervisors read the targets, admins set a row with a
/// plain form (outcome shown once), refusals come back in Spanish, and emptying a type's row
/// removes it so the every-type row applies again.
async fn deadline_targets_page_and_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", common::ADMIN_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;

    let html = page(&app, &supervisor, "/plazos").await;
    assert!(html.contains("Plazos de atención") && html.contains("Todos los tipos"), "{html}");
    assert!(!html.contains("set_sla_target_form"), "supervisors read, admins set");
    assert!(page(&app, &admin, "/plazos").await.contains("action=\"/api/fn/set_sla_target_form\""));
    let res = officer.get(app.url("/plazos")).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!res.text().await.unwrap().contains("Objetivos vigentes"), "officers do not see them");

    let row = [
        ("task_type", "patrol"),
        ("priority", "critical"),
        ("ack_minutes", "7"),
        ("start_minutes", ""),
        ("finish_minutes", "90"),
    ];
    let res = form_post(&app, &supervisor, "set_sla_target_form", &row).await;
    assert_eq!(location(&res), "/plazos");
    async fn targets_of(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
        app.call(client, "load_sla_targets", &[]).await.json().await.unwrap()
    }
    let own = |rows: &[Value]| rows.iter().find(|t| t["task_type"] == "patrol" && t["priority"] == "critical").cloned();
    assert_eq!(own(&targets_of(&app, &admin).await), None, "a supervisor's post changed nothing");
    assert!(page(&app, &supervisor, "/plazos").await.contains("role=\"alert\""), "and was told why");

    let res = form_post(&app, &admin, "set_sla_target_form", &row).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::FOUND, "/plazos".to_owned()));
    let html = page(&app, &admin, "/plazos").await;
    assert!(html.contains("Objetivos guardados."), "{html}");
    assert!(!page(&app, &admin, "/plazos").await.contains("Objetivos guardados"), "shown once");
    let set = own(&targets_of(&app, &admin).await).unwrap();
    assert_eq!(
        (set["ack_minutes"].as_i64(), set["start_minutes"].as_i64(), set["finish_minutes"].as_i64()),
        (Some(7), None, Some(90))
    );

    // Refused in Spanish, by field; nothing written.
    let res = form_post(
        &app,
        &admin,
        "set_sla_target_form",
        &[("task_type", "patrol"), ("priority", "critical"), ("ack_minutes", "siete")],
    )
    .await;
    assert_eq!(location(&res), "/plazos");
    assert!(page(&app, &admin, "/plazos").await.contains("Los minutos deben ser un número entero."));
    for (form, message) in [
        ([("task_type", "robo"), ("priority", "critical"), ("ack_minutes", "5")], "Elija un tipo de tarea válido."),
        (
            [("task_type", "patrol"), ("priority", "critical"), ("ack_minutes", "0")],
            "Los minutos deben estar entre 1 y 100000.",
        ),
    ] {
        let res = form_post(&app, &admin, "set_sla_target_form", &form).await;
        assert_eq!(location(&res), "/plazos");
        let html = page(&app, &admin, "/plazos").await;
        assert!(html.contains(message), "{message}: {html}");
    }
    assert_eq!(own(&targets_of(&app, &admin).await), Some(set));

    // All three empty: the type's own row goes, the every-type row applies again.
    let res =
        form_post(&app, &admin, "set_sla_target_form", &[("task_type", "patrol"), ("priority", "critical")]).await;
    assert_eq!(location(&res), "/plazos");
    assert_eq!(own(&targets_of(&app, &admin).await), None);
    assert!(
        targets_of(&app, &supervisor).await.iter().any(|t| t["task_type"].is_null() && t["priority"] == "critical")
    );
    assert_eq!(app.call(&officer, "load_sla_targets", &[]).await.status(), StatusCode::FORBIDDEN);
}
on_both_backends!(deadline_targets_page_and_form);
