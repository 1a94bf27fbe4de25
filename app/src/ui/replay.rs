//! Track replay (`/mapa/recorrido`): an officer's track, or a task's officers', over a time
//! window, played back on the map with a time slider, play/pause and 1×–60× speed; stops and
//! the speed between points; the tasks' status changes marked on the timeline.
//!
//! The form is a plain GET (`?efectivo=&tarea=&desde=&hasta=`) and the answer is written as
//! tables (summary, stops, status changes), so the page works without JavaScript. In the
//! browser, Leaflet and `/js/replay.js` draw the tracks and play them back; the player's
//! controls are in the page, hidden until the glue takes them.

use leptos::prelude::*;
use leptos_meta::{Stylesheet, Title};
use leptos_router::hooks::use_query_map;

use crate::api::map::map_settings;
use crate::api::officers::list_officers;
use crate::api::replay::track_replay;
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::dates::{local_date_time, local_date_time_seconds, to_input_time, zone_label};
use crate::ui::page::{PageError, loaded, signed_in};
use contract::ApiError;
use contract::map::MapSettings;
use contract::officers::Officer;
use contract::replay::Replay;

/// Speeds offered by the player.
const SPEEDS: [u32; 5] = [1, 5, 10, 30, 60];

#[component]
pub fn ReplayPage() -> impl IntoView {
    let data = Resource::new(
        || (),
        |_| async move {
            let user = signed_in().await?;
            let settings = map_settings().await?;
            let officers = list_officers(None, None, None, None, Some(200)).await?.items;
            Ok::<_, ApiError>((user, settings, officers))
        },
    );
    view! {
        <Title text=tr("Reproducir recorrido") />
        <Stylesheet id="leaflet" href="/vendor/leaflet/leaflet.css" />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, settings, officers)) => {
                        view! {
                            <Layout user>
                                <ReplayView settings officers />
                            </Layout>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Reproducir recorrido") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReplayView(settings: MapSettings, officers: Vec<Officer>) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let request = Memo::new(move |_| {
        let officer = param("efectivo").and_then(|v| v.parse::<i64>().ok());
        let task = param("tarea");
        (officer.is_some() || task.is_some()).then(|| (officer, task, param("desde"), param("hasta")))
    });
    let replay = Resource::new(
        move || request.get(),
        |request| async move {
            match request {
                Some((officer, task, from, to)) => track_replay(officer, task, from, to).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let chosen = param("efectivo").and_then(|v| v.parse::<i64>().ok());
    let options = officers
        .into_iter()
        .map(|o| {
            view! {
                <option value=o.id.to_string() selected=chosen == Some(o.id)>
                    {format!("{} · {} {}", o.code, o.first_name, o.last_name)}
                </option>
            }
        })
        .collect_view();
    let task_value = param("tarea").unwrap_or_default();

    view! {
        <div class="page-head">
            <h1>{tr("Reproducir recorrido")}</h1>
            <a href="/mapa">{tr("‹ Mapa")}</a>
        </div>
        <form method="get" action="/mapa/recorrido" class="replay-form">
            <div>
                <label for="replay-officer">{tr("Efectivo")}</label>
                <select id="replay-officer" name="efectivo">
                    <option value="">{tr("— Elegir —")}</option>
                    {options}
                </select>
            </div>
            <div>
                <label for="replay-task">{tr("o los efectivos de la tarea")}</label>
                <input id="replay-task" name="tarea" maxlength="40" placeholder="PAT-2026-0001" value=task_value />
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // The window shown is the one replayed (the default when none was given).
                    let (from, to) = match loaded(replay).await {
                        Ok(Some(r)) => (to_input_time(&local_date_time(&r.from)), to_input_time(&local_date_time(&r.to))),
                        _ => (param("desde").unwrap_or_default(), param("hasta").unwrap_or_default()),
                    };
                    view! {
                        <div>
                            <label for="replay-from">{trf("Desde ({})", &[&zone_label()])}</label>
                            <input id="replay-from" name="desde" type="datetime-local" value=from />
                        </div>
                        <div>
                            <label for="replay-to">{tr("Hasta")}</label>
                            <input id="replay-to" name="hasta" type="datetime-local" value=to />
                        </div>
                    }
                })}
            </Transition>
            <button type="submit">{tr("Ver recorrido")}</button>
        </form>
        <p class="muted">{tr("Sin fechas: las últimas 8 horas de un efectivo, o la duración de la tarea.")}</p>
        <Transition fallback=|| view! { <p class="loading">{tr("Cargando recorrido…")}</p> }>
            {move || {
                let settings = settings.clone();
                Suspend::new(async move {
                    match loaded(replay).await {
                        Ok(Some(replay)) => Some(view! { <ReplayResult settings replay /> }.into_any()),
                        Ok(None) => None,
                        Err(e) => {
                            // The field's own message says what is wrong ("no task with that code").
                            let text = e.fields.first().map_or_else(|| tr_msg(&e.message), |f| tr_msg(&f.message));
                            Some(view! { <p class="error" role="alert">{text}</p> }.into_any())
                        }
                    }
                })
            }}
        </Transition>
    }
}

fn speed_text(kmh: Option<f64>) -> String {
    kmh.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} km/h"))
}

#[component]
fn ReplayResult(settings: MapSettings, replay: Replay) -> impl IntoView {
    let points: usize = replay.tracks.iter().map(|t| t.points.len()).sum();
    if points == 0 {
        return view! {
            <p class="empty" data-testid="replay-empty">
                {trf(
                    "Sin posiciones entre {} y {}.",
                    &[&local_date_time(&replay.from), &local_date_time(&replay.to)],
                )}
            </p>
        }
        .into_any();
    }
    #[cfg(feature = "hydrate")]
    {
        client::attach(&settings, &replay);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = &settings;
    let names: std::collections::HashMap<i64, String> =
        replay.tracks.iter().map(|t| (t.officer_id, format!("{} · {}", t.code, t.name))).collect();
    let titles: std::collections::HashMap<i64, String> =
        replay.tasks.iter().map(|t| (t.task_id, t.title.clone())).collect();
    view! {
        <section class="replay-player" id="replay-player" hidden=true aria-label=tr("Reproductor")>
            <div id="replay-map" class="map replay-map" role="region" aria-label=tr("Mapa del recorrido")></div>
            <div class="replay-controls">
                <button type="button" id="replay-play" data-play=tr("Reproducir") data-pause=tr("Pausa")>
                    {tr("Reproducir")}
                </button>
                <label for="replay-speed">{tr("Velocidad")}</label>
                <select id="replay-speed">
                    {SPEEDS
                        .iter()
                        .map(|s| view! { <option value=s.to_string() selected=*s == 10>{format!("{s}×")}</option> })
                        .collect_view()}
                </select>
                <output id="replay-clock" aria-live="off"></output>
            </div>
            <div class="replay-timeline">
                <div id="replay-marks" class="replay-marks"></div>
                <input id="replay-slider" type="range" min="0" max="1000" value="0" step="1" aria-label=tr("Momento del recorrido") />
            </div>
            <ul id="replay-now" class="replay-now" aria-label=tr("Posición en el momento elegido")></ul>
        </section>
        <table class="data-table compact" id="replay-summary">
            <caption>{trf("Recorridos ({})", &[&zone_label()])}</caption>
            <thead>
                <tr>
                    <th scope="col">{tr("Efectivo")}</th>
                    <th scope="col">{tr("Posiciones")}</th>
                    <th scope="col">{tr("Desde")}</th>
                    <th scope="col">{tr("Hasta")}</th>
                    <th scope="col">{tr("Distancia")}</th>
                    <th scope="col">{tr("Velocidad máxima")}</th>
                    <th scope="col">{tr("Paradas")}</th>
                </tr>
            </thead>
            <tbody>
                {replay
                    .tracks
                    .iter()
                    .map(|t| {
                        let first = t.points.first().map(|p| local_date_time_seconds(&p.at)).unwrap_or_default();
                        let last = t.points.last().map(|p| local_date_time_seconds(&p.at)).unwrap_or_default();
                        view! {
                            <tr data-officer=t.officer_id>
                                <td>{format!("{} · {}", t.code, t.name)}</td>
                                <td>
                                    {t.points.len().to_string()}
                                    {t.truncated.then_some(tr(" (se muestran las primeras)"))}
                                </td>
                                <td>{first}</td>
                                <td>{last}</td>
                                <td>{contract::format::distance(t.distance_m)}</td>
                                <td>{speed_text(t.max_speed_kmh)}</td>
                                <td>{t.stops.len().to_string()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <table class="data-table compact" id="replay-stops">
            <caption>{tr("Paradas (3 minutos o más en menos de 50 m)")}</caption>
            <thead>
                <tr>
                    <th scope="col">{tr("Efectivo")}</th>
                    <th scope="col">{tr("Desde")}</th>
                    <th scope="col">{tr("Hasta")}</th>
                    <th scope="col">{tr("Duración")}</th>
                    <th scope="col">{tr("Lugar")}</th>
                </tr>
            </thead>
            <tbody>
                {replay
                    .tracks
                    .iter()
                    .flat_map(|t| t.stops.iter().map(move |s| (t.officer_id, s)))
                    .map(|(officer, s)| {
                        view! {
                            <tr>
                                <td>{names.get(&officer).cloned().unwrap_or_default()}</td>
                                <td>{local_date_time_seconds(&s.from)}</td>
                                <td>{local_date_time_seconds(&s.to)}</td>
                                <td>{contract::format::duration(s.seconds as f64)}</td>
                                <td class="mono">{format!("{:.5}, {:.5}", s.lat, s.lon)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <table class="data-table compact" id="replay-marks-table">
            <caption>{tr("Cambios de estado de las tareas")}</caption>
            <thead>
                <tr>
                    <th scope="col">{tr("Hora")}</th>
                    <th scope="col">{tr("Tarea")}</th>
                    <th scope="col">{tr("Cambio")}</th>
                </tr>
            </thead>
            <tbody>
                {replay
                    .marks
                    .iter()
                    .map(|m| {
                        let change = match m.from_status {
                            Some(from) => format!("{} → {}", tr(from.label_es()), tr(m.to_status.label_es())),
                            None => trf("Creada ({})", &[tr(m.to_status.label_es())]),
                        };
                        view! {
                            <tr data-task=m.task_id>
                                <td>{local_date_time_seconds(&m.at)}</td>
                                <td>
                                    <a href=format!("/tareas/{}", m.task_id)>{m.code.clone()}</a>
                                    {format!(" {}", titles.get(&m.task_id).cloned().unwrap_or_default())}
                                </td>
                                <td>{change}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The browser side: load Leaflet and the replay glue, then hand it the replay.
#[cfg(feature = "hydrate")]
mod client {
    use contract::map::MapSettings;
    use contract::replay::Replay;
    use leptos::prelude::Effect;
    use leptos::task::spawn_local;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = GadReplay, js_name = show)]
        fn show(json: &str) -> bool;
    }

    pub fn attach(settings: &MapSettings, replay: &Replay) {
        let json = serde_json::json!({
            "tileUrl": settings.tile_url,
            "zone": crate::ui::dates::zone_name(),
            "replay": replay,
        })
        .to_string();
        // After the view is in the document.
        Effect::new(move |_| {
            let json = json.clone();
            spawn_local(async move {
                let load = crate::ui::map::client::load_script;
                if load("/vendor/leaflet/leaflet.js").await.is_err() || load("/js/replay.js").await.is_err() {
                    leptos::logging::warn!("the replay scripts could not be loaded");
                    return;
                }
                show(&json);
            });
        });
    }
}
