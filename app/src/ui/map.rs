//! The map (`/mapa`): officers coloured by status and moving live, open tasks by priority,
//! emergencies; click a point for its coordinates, the nearest officers and "crear emergencia
//! aquí"; an officer's track over a time window.
//!
//! Leaflet (vendored from npm into `/vendor/leaflet/`) and the small glue `/js/map.js` are
//! loaded by this page only, in the browser. The data is rendered as tables too, so the page
//! works without JavaScript and with no tiles at all; the nearest-officer search and the track
//! are plain GET forms (`?lat=&lon=`, `?recorrido=&horas=`).

use chrono::{Duration, Utc};
use leptos::prelude::*;
use leptos_meta::{Stylesheet, Title};
use leptos_router::hooks::use_query_map;

use crate::api::auth::whoami;
use crate::api::geo::{nearest_officers, officers_in_bbox, tasks_in_bbox};
use crate::api::map::map_settings;
use crate::api::officers::officer_track;
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::live::{refresh_on, use_live};
use crate::ui::overview::signed_out;
use crate::ui::page::loaded;
use contract::auth::CurrentUser;
use contract::events::Event;
use contract::geo::{NearbyOfficer, OfficerOnMap, TaskOnMap};
use contract::map::MapSettings;
use contract::officers::Track;
use contract::{ApiError, ErrorCode};

/// Half the side of the box (degrees) around the centre whose officers and tasks are loaded.
const BOX_DEG: f64 = 1.0;
/// Most officers / tasks drawn (the geo functions' page limit).
const MAP_LIMIT: u32 = 200;
/// The nearest-officer search: how many, and how old a position may be (a week).
const NEAREST: u32 = 5;
const NEAREST_FRESH_MINUTES: i64 = 7 * 24 * 60;
/// Track windows offered, hours.
const TRACK_HOURS: [i64; 4] = [1, 4, 12, 24];

async fn load() -> Result<Option<(CurrentUser, MapSettings, Vec<OfficerOnMap>)>, ApiError> {
    let Some(user) = whoami().await? else { return Ok(None) };
    let settings = map_settings().await?;
    let (lat, lon) = (settings.center_lat, settings.center_lon);
    let officers = officers_in_bbox(lat - BOX_DEG, lon - BOX_DEG, lat + BOX_DEG, lon + BOX_DEG, MAP_LIMIT).await?;
    Ok(Some((user, settings, officers)))
}

#[component]
pub fn MapPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load());
    view! {
        <Title text=tr("Mapa") />
        <Stylesheet id="leaflet" href="/vendor/leaflet/leaflet.css" />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok(Some((user, settings, officers))) => {
                        view! {
                            <Layout user>
                                <MapView settings officers />
                            </Layout>
                        }
                            .into_any()
                    }
                    Ok(None) => signed_out(ApiError::new(ErrorCode::Unauthenticated, tr("Debe iniciar sesión."))),
                    Err(error) => view! { <crate::ui::page::PageError title=tr("Mapa") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn parse_point(lat: Option<String>, lon: Option<String>) -> Option<(f64, f64)> {
    let lat: f64 = lat?.trim().replace(',', ".").parse().ok()?;
    let lon: f64 = lon?.trim().replace(',', ".").parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

fn age_text(at: chrono::DateTime<Utc>) -> String {
    let minutes = (Utc::now() - at).num_minutes().max(0);
    match minutes {
        0 => "ahora".into(),
        m if m < 60 => trf("hace {} min", &[&m.to_string()]),
        m if m < 48 * 60 => trf("hace {} h", &[&(m / 60).to_string()]),
        m => trf("hace {} días", &[&(m / (24 * 60)).to_string()]),
    }
}

/// The open tasks around the map's centre, refetched on task events.
type TasksLayer = Resource<Result<Vec<TaskOnMap>, ApiError>>;

/// The map's live layers: the officers (loaded with the page, then moved and recoloured by
/// live events) and the open tasks around the centre (refetched on task events).
fn live_layers(officers: Vec<OfficerOnMap>, c_lat: f64, c_lon: f64) -> (RwSignal<Vec<OfficerOnMap>>, TasksLayer) {
    // Officers: loaded once, then moved and recoloured by live events.
    let officers = RwSignal::new(officers);
    let live = use_live();
    let last = live.last.clone();
    Effect::new(move |_| {
        let Some(message) = last.get() else { return };
        match message.event {
            Some(Event::OfficerPosition { officer_id, lat, lon, recorded_at }) => officers.update(|list| {
                if let Some(o) = list.iter_mut().find(|o| o.officer_id == officer_id) {
                    (o.lat, o.lon, o.position_at) = (lat, lon, recorded_at);
                }
            }),
            Some(Event::OfficerStatusChanged { officer_id, status }) => officers.update(|list| {
                if let Some(o) = list.iter_mut().find(|o| o.officer_id == officer_id) {
                    o.status = status;
                }
            }),
            _ => {}
        }
    });

    // Tasks: refetched on task events (positions do not change them).
    let task_events = refresh_on(|e| !matches!(e, Event::OfficerPosition { .. } | Event::OfficerStatusChanged { .. }));
    let tasks = Resource::new(
        move || task_events.get(),
        move |_| tasks_in_bbox(c_lat - BOX_DEG, c_lon - BOX_DEG, c_lat + BOX_DEG, c_lon + BOX_DEG, MAP_LIMIT, true),
    );

    (officers, tasks)
}

/// The live map of the home page (supervisors and admins): officers and open tasks, moving as
/// events arrive; a click offers the nearest officers and an emergency there (on `/mapa`).
#[component]
pub fn HomeMap(settings: MapSettings, officers: Vec<OfficerOnMap>) -> impl IntoView {
    let (officers, tasks) = live_layers(officers, settings.center_lat, settings.center_lon);
    #[cfg(feature = "hydrate")]
    let glue_settings = settings.clone();
    let glue = move || {
        #[cfg(feature = "hydrate")]
        client::attach(&glue_settings, true, officers, Signal::derive(move || tasks.get().and_then(Result::ok)), None);
        #[cfg(not(feature = "hydrate"))]
        let _ = (officers, tasks);
    };
    view! {
        <Stylesheet id="leaflet" href="/vendor/leaflet/leaflet.css" />
        <div id="gad-map" class="map home-map" role="region" aria-label=tr("Mapa de efectivos y tareas")></div>
        <Transition fallback=|| ()>{glue()}</Transition>
    }
}

/// A task's place and the officers assigned to it, on a small live map (the task page). Who
/// may not see officers' positions (an officer) sees the task's place alone.
#[component]
pub fn TaskMiniMap(task: TaskOnMap, officer_ids: Vec<i64>, see_officers: bool) -> impl IntoView {
    let (lat, lon) = (task.lat, task.lon);
    let data = Resource::new(
        || (),
        move |_| {
            let ids = officer_ids.clone();
            async move {
                let settings = map_settings().await?;
                let officers = if see_officers && !ids.is_empty() {
                    let around =
                        officers_in_bbox(lat - BOX_DEG, lon - BOX_DEG, lat + BOX_DEG, lon + BOX_DEG, MAP_LIMIT).await?;
                    around.into_iter().filter(|o| ids.contains(&o.officer_id)).collect()
                } else {
                    Vec::new()
                };
                Ok::<_, ApiError>((settings, officers))
            }
        },
    );
    view! {
        <Stylesheet id="leaflet" href="/vendor/leaflet/leaflet.css" />
        <Suspense fallback=|| ()>
            {move || {
                let task = task.clone();
                Suspend::new(async move {
                    match loaded(data).await {
                        Ok((settings, officers)) => Some(view! { <MiniMap settings officers task /> }.into_any()),
                        Err(_) => None,
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn MiniMap(settings: MapSettings, officers: Vec<OfficerOnMap>, task: TaskOnMap) -> impl IntoView {
    let officers = RwSignal::new(officers);
    let tasks = Signal::stored(Some(vec![task]));
    #[cfg(feature = "hydrate")]
    let glue_settings = settings.clone();
    let glue = move || {
        #[cfg(feature = "hydrate")]
        client::attach(&glue_settings, true, officers, tasks, None);
        #[cfg(not(feature = "hydrate"))]
        let _ = (&settings, officers, tasks);
    };
    view! {
        <div id="gad-map" class="map mini-map" role="region" aria-label=tr("Mapa de la tarea y sus efectivos")></div>
        <Transition fallback=|| ()>{glue()}</Transition>
    }
}

/// What the home page's map starts from: the map settings and the officers around its centre.
pub async fn home_map_data() -> Result<(MapSettings, Vec<OfficerOnMap>), ApiError> {
    let settings = map_settings().await?;
    let (lat, lon) = (settings.center_lat, settings.center_lon);
    let officers = officers_in_bbox(lat - BOX_DEG, lon - BOX_DEG, lat + BOX_DEG, lon + BOX_DEG, MAP_LIMIT).await?;
    Ok((settings, officers))
}

#[component]
fn MapView(settings: MapSettings, officers: Vec<OfficerOnMap>) -> impl IntoView {
    let query = use_query_map();
    let (c_lat, c_lon) = (settings.center_lat, settings.center_lon);

    let (officers, tasks) = live_layers(officers, c_lat, c_lon);

    // The selected point (`?lat=&lon=`) and its nearest officers.
    let point = Memo::new(move |_| query.with(|q| parse_point(q.get("lat"), q.get("lon"))));
    let radius = settings.search_radius_m;
    let nearest = Resource::new(
        move || point.get(),
        move |p| async move {
            match p {
                Some((lat, lon)) => {
                    nearest_officers(lat, lon, radius, NEAREST_FRESH_MINUTES, NEAREST, false).await.map(Some)
                }
                None => Ok(None),
            }
        },
    );

    // The track (`?recorrido=<officer id>&horas=<n>`).
    let track_request = Memo::new(move |_| {
        query.with(|q| {
            let officer = q.get("recorrido")?.parse::<i64>().ok()?;
            let hours =
                q.get("horas").and_then(|h| h.parse::<i64>().ok()).filter(|h| TRACK_HOURS.contains(h)).unwrap_or(4);
            Some((officer, hours))
        })
    });
    let track = Resource::new(
        move || track_request.get(),
        |request| async move {
            match request {
                Some((officer, hours)) => {
                    let to = Utc::now();
                    officer_track(officer, to - Duration::hours(hours), to).await.map(Some)
                }
                None => Ok(None),
            }
        },
    );

    // The clicked point fills the search form (and the links) in the browser.
    let clicked = RwSignal::new(None::<(f64, f64)>);
    let shown_point = move || clicked.get().or_else(|| point.get());
    let point_text = move |i: usize| {
        shown_point().map(|(lat, lon)| format!("{:.6}", if i == 0 { lat } else { lon })).unwrap_or_default()
    };

    // The Leaflet glue (browser only) draws the map's resources, so it reads them. It runs in a
    // boundary of its own (the empty <Transition> at the end of the page): under the page's
    // <Suspense>, every reload of a resource it reads (the tasks, on each task event) counted as
    // pending there and swapped the whole page for its "Cargando…" fallback.
    #[cfg(feature = "hydrate")]
    let glue_settings = settings.clone();
    let glue = move || {
        #[cfg(feature = "hydrate")]
        client::attach(
            &glue_settings,
            false,
            officers,
            Signal::derive(move || tasks.get().and_then(Result::ok)),
            Some(client::Tools { nearest, track, point, clicked }),
        );
    };

    let officer_options = move || {
        officers.with(|list| {
            list.iter()
                .map(|o| {
                    let selected = track_request.with(|r| r.is_some_and(|(id, _)| id == o.officer_id));
                    view! {
                        <option value=o.officer_id.to_string() selected=selected>
                            {format!("{} · {}", o.code, o.name)}
                        </option>
                    }
                })
                .collect_view()
        })
    };

    view! {
        <div class="page-head">
            <h1>{tr("Mapa")}</h1>
            {settings
                .tile_url
                .is_none()
                .then(|| view! { <p class="muted">{tr("Sin mapa base (modo sin conexión): se muestran los datos.")}</p> })}
        </div>
        <div class="map-layout">
            <div id="gad-map" class="map" role="region" aria-label=tr("Mapa de efectivos y tareas")></div>
            <aside class="map-side" aria-label=tr("Herramientas del mapa")>
                <section aria-labelledby="map-point">
                    <h2 id="map-point">{tr("Punto")}</h2>
                    <p class="muted">{tr("Haga clic en el mapa o escriba coordenadas.")}</p>
                    <form method="get" action="/mapa" class="stack">
                        <label for="map-lat">{tr("Latitud")}</label>
                        <input id="map-lat" name="lat" inputmode="decimal" required prop:value=move || point_text(0) />
                        <label for="map-lon">{tr("Longitud")}</label>
                        <input id="map-lon" name="lon" inputmode="decimal" required prop:value=move || point_text(1) />
                        <button type="submit">{tr("Efectivos más cercanos")}</button>
                    </form>
                    {move || {
                        shown_point()
                            .map(|(lat, lon)| {
                                view! {
                                    <p class="point-coords" data-testid="map-point">
                                        {trf("Coordenadas: {}", &[&format!("{lat:.5}, {lon:.5}")])}
                                    </p>
                                    <p>
                                        <a class="button danger" href=format!("/emergencia?lat={lat:.6}&lon={lon:.6}")>
                                            {tr("Crear emergencia aquí")}
                                        </a>
                                    </p>
                                }
                            })
                    }}
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match loaded(nearest).await {
                                Ok(Some(list)) => Some(view! { <NearestList list /> }.into_any()),
                                Ok(None) => None,
                                Err(e) => Some(view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any()),
                            }
                        })}
                    </Transition>
                </section>
                <section aria-labelledby="map-track">
                    <h2 id="map-track">{tr("Recorrido")}</h2>
                    <form method="get" action="/mapa" class="stack">
                        <label for="track-officer">{tr("Efectivo")}</label>
                        <select id="track-officer" name="recorrido">{officer_options}</select>
                        <label for="track-hours">{tr("Período")}</label>
                        <select id="track-hours" name="horas">
                            {TRACK_HOURS
                                .iter()
                                .map(|h| {
                                    let selected = track_request.with_untracked(|r| r.map_or(*h == 4, |(_, hours)| hours == *h));
                                    view! {
                                        <option value=h.to_string() selected=selected>
                                            {trf("Últimas {} h", &[&h.to_string()])}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                        <button type="submit">{tr("Ver recorrido")}</button>
                    </form>
                    <p>
                        <a href="/mapa/recorrido">{tr("Reproducir un recorrido (paradas, velocidad, tareas)")}</a>
                    </p>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match loaded(track).await {
                                Ok(Some(track)) => Some(view! { <TrackSummary track /> }.into_any()),
                                Ok(None) => None,
                                Err(e) => Some(view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any()),
                            }
                        })}
                    </Transition>
                </section>
                <section aria-labelledby="map-legend">
                    <h2 id="map-legend">{tr("Referencias")}</h2>
                    <ul class="legend-list">
                        <li><span class="dot officer-available"></span>{tr("Efectivo disponible")}</li>
                        <li><span class="dot officer-on_task"></span>{tr("Efectivo en tarea")}</li>
                        <li><span class="dot officer-unavailable"></span>{tr("Efectivo no disponible")}</li>
                        <li><span class="dot officer-off_duty"></span>{tr("Efectivo fuera de servicio")}</li>
                        <li><span class="dot hollow"></span>{tr("Fuera de turno o de licencia (sin relleno)")}</li>
                        <li><span class="diamond priority-low"></span>{tr("Tarea (color por prioridad)")}</li>
                        <li><span class="diamond emergency"></span>{tr("Emergencia")}</li>
                        <li><span class="diamond priority-low ringed"></span>{tr("Tarea vencida (anillo rojo)")}</li>
                    </ul>
                </section>
            </aside>
        </div>
        <details class="map-data" open=true>
            <summary>{tr("Datos del mapa")}</summary>
            <table class="data-table compact" id="map-officers">
                <caption>{tr("Efectivos con posición")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tr("Efectivo")}</th>
                        <th scope="col">{tr("Estado")}</th>
                        <th scope="col">{tr("Turno")}</th>
                        <th scope="col">{tr("Latitud")}</th>
                        <th scope="col">{tr("Longitud")}</th>
                        <th scope="col">{tr("Posición")}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        officers
                            .get()
                            .into_iter()
                            .map(|o| {
                                view! {
                                    <tr data-officer=o.officer_id>
                                        <td>{format!("{} · {}", o.code, o.name)}</td>
                                        <td>
                                            <span class=format!("badge officer-{}", o.status.as_str())>{tr(o.status.label_es())}</span>
                                        </td>
                                        <td>{crate::ui::officers::duty_text(o.duty)}</td>
                                        <td class="mono">{format!("{:.5}", o.lat)}</td>
                                        <td class="mono">{format!("{:.5}", o.lon)}</td>
                                        <td>{age_text(o.position_at)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <Transition fallback=|| view! { <p class="loading">{tr("Cargando tareas…")}</p> }>
                {move || Suspend::new(async move {
                    match loaded(tasks).await {
                        Ok(list) => view! { <TaskTable list /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </details>
        <Transition fallback=|| ()>{glue()}</Transition>
    }
}

#[component]
fn NearestList(list: Vec<NearbyOfficer>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">{tr("No hay efectivos con posición cerca de este punto.")}</p> }.into_any();
    }
    view! {
        <ol class="nearest" aria-label=tr("Efectivos más cercanos")>
            {list
                .into_iter()
                .map(|o| {
                    view! {
                        <li>
                            <strong>{format!("{} · {}", o.code, o.name)}</strong>
                            <span>{format!(" — {}", contract::format::distance(o.distance_m))}</span>
                            <span class=format!("badge officer-{}", o.status.as_str())>{tr(o.status.label_es())}</span>
                            {if o.dispatchable || o.status != contract::domain::OfficerStatus::Available {
                                view! { <small>{trf(" posición {}", &[&age_text(o.position_at)])}</small> }.into_any()
                            } else {
                                // The dispatch rule, in the same words as the emergency answer.
                                view! {
                                    <small class="stale">
                                        {trf(" · sin posición reciente: {}", &[&age_text(o.position_at)])}
                                    </small>
                                }
                                    .into_any()
                            }}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
    .into_any()
}

#[component]
fn TrackSummary(track: Track) -> impl IntoView {
    let n = track.positions.len();
    let span = track.positions.first().zip(track.positions.last()).map(|(a, b)| {
        trf(
            " entre {} y {}",
            &[
                &crate::ui::dates::local_day_month_time(&a.recorded_at),
                &format!(
                    "{} ({})",
                    crate::ui::dates::local_day_month_time(&b.recorded_at),
                    crate::ui::dates::zone_label()
                ),
            ],
        )
    });
    view! {
        <p class="track-summary">
            {match n {
                0 => tr("Sin posiciones en el período.").to_owned(),
                1 => trf("1 posición{}.", &[&span.unwrap_or_default()]),
                n => trf("{} posiciones{}.", &[&n.to_string(), &span.unwrap_or_default()]),
            }}
            {track.truncated.then_some(tr(" (se muestran las primeras)"))}
        </p>
    }
}

#[component]
fn TaskTable(list: Vec<TaskOnMap>) -> impl IntoView {
    view! {
        <table class="data-table compact" id="map-tasks">
            <caption>{tr("Tareas abiertas con ubicación")}</caption>
            <thead>
                <tr>
                    <th scope="col">{tr("Código")}</th>
                    <th scope="col">{tr("Título")}</th>
                    <th scope="col">{tr("Prioridad")}</th>
                    <th scope="col">{tr("Estado")}</th>
                    <th scope="col">{tr("Latitud")}</th>
                    <th scope="col">{tr("Longitud")}</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|t| {
                        view! {
                            <tr data-task=t.task_id>
                                <td class="mono"><a href=format!("/tareas/{}", t.task_id)>{t.code}</a></td>
                                <td>{t.title}</td>
                                <td>
                                    <span class=format!("badge priority-{}", t.priority.as_str())>{tr(t.priority.label_es())}</span>
                                </td>
                                <td>{tr(t.status.label_es())}</td>
                                <td class="mono">{format!("{:.5}", t.lat)}</td>
                                <td class="mono">{format!("{:.5}", t.lon)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The browser side: load Leaflet and the glue, then keep the map in step with the signals.
#[cfg(feature = "hydrate")]
pub(crate) mod client {
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    /// What the glue draws for an officer.
    #[derive(serde::Serialize)]
    struct OfficerMarker<'a> {
        officer_id: i64,
        code: &'a str,
        name: &'a str,
        status: &'a str,
        duty: &'a str,
        lat: f64,
        lon: f64,
    }
    use contract::ApiError;
    use contract::geo::{NearbyOfficer, OfficerOnMap, TaskOnMap};
    use contract::map::MapSettings;
    use contract::officers::Track;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = GadMap, js_name = init)]
        fn map_init(id: &str, options: &str, on_click: &js_sys::Function) -> bool;
        #[wasm_bindgen(js_namespace = GadMap, js_name = setOfficers)]
        fn set_officers(json: &str);
        #[wasm_bindgen(js_namespace = GadMap, js_name = setTasks)]
        fn set_tasks(json: &str);
        #[wasm_bindgen(js_namespace = GadMap, js_name = setTrack)]
        fn set_track(json: &str);
        #[wasm_bindgen(js_namespace = GadMap, js_name = setNearest)]
        fn set_nearest(json: &str);
        #[wasm_bindgen(js_namespace = GadMap, js_name = showPoint)]
        fn show_point(lat: f64, lon: f64);
    }

    thread_local! {
        /// One load per script and page: the promise every caller awaits. Two maps attached at
        /// once (a page re-rendered while its scripts load) must not run a script twice: a second
        /// `map.js` would forget the first's map and find its container taken.
        static SCRIPTS: std::cell::RefCell<std::collections::HashMap<String, js_sys::Promise>> =
            std::cell::RefCell::default();
    }

    /// Adds `<script src>` once and waits for it to load.
    pub(crate) async fn load_script(src: &str) -> Result<(), JsValue> {
        let promise = match SCRIPTS.with_borrow(|scripts| scripts.get(src).cloned()) {
            Some(promise) => promise,
            None => {
                let document = web_sys::window().and_then(|w| w.document()).ok_or(JsValue::NULL)?;
                let script: web_sys::HtmlScriptElement = document.create_element("script")?.dyn_into()?;
                script.set_src(src);
                let loaded = js_sys::Promise::new(&mut |resolve, reject| {
                    script.set_onload(Some(&resolve));
                    script.set_onerror(Some(&reject));
                });
                document.head().ok_or(JsValue::NULL)?.append_child(&script)?;
                SCRIPTS.with_borrow_mut(|scripts| scripts.insert(src.to_owned(), loaded.clone()));
                loaded
            }
        };
        if let Err(error) = wasm_bindgen_futures::JsFuture::from(promise).await {
            // A failed load is tried again by the next page that needs it.
            SCRIPTS.with_borrow_mut(|scripts| scripts.remove(src));
            return Err(error);
        }
        Ok(())
    }

    fn officers_json(list: &[OfficerOnMap]) -> String {
        let markers: Vec<OfficerMarker> = list
            .iter()
            .map(|o| OfficerMarker {
                officer_id: o.officer_id,
                code: &o.code,
                name: &o.name,
                status: o.status.as_str(),
                duty: o.duty.as_str(),
                lat: o.lat,
                lon: o.lon,
            })
            .collect();
        serde_json::to_string(&markers).unwrap_or_else(|_| "[]".into())
    }

    fn tasks_json(list: &[TaskOnMap]) -> String {
        serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
    }

    /// What the map page adds to a map: the searched point and its nearest officers, the
    /// track, and the clicked point it reports back.
    pub struct Tools {
        pub nearest: Resource<Result<Option<Vec<NearbyOfficer>>, ApiError>>,
        pub track: Resource<Result<Option<Track>, ApiError>>,
        pub point: Memo<Option<(f64, f64)>>,
        pub clicked: RwSignal<Option<(f64, f64)>>,
    }

    /// Draws `officers` and `tasks` (and the map page's `tools`) on the page's `#gad-map`.
    /// `fit`: fit the view to the data once (the home, the task page).
    pub fn attach(
        settings: &MapSettings,
        fit: bool,
        officers: RwSignal<Vec<OfficerOnMap>>,
        tasks: Signal<Option<Vec<TaskOnMap>>>,
        tools: Option<Tools>,
    ) {
        let ready = RwSignal::new(false);
        let point = tools.as_ref().map(|t| t.point);
        let clicked = tools.as_ref().map(|t| t.clicked);
        let options = serde_json::json!({
            "center": [settings.center_lat, settings.center_lon],
            "zoom": 13,
            "tileUrl": settings.tile_url,
            // The home fits the view to the data once; the map page keeps its configured
            // centre (its searches and tracks place the view themselves).
            "keepView": !fit || point.is_some_and(|p| p.get_untracked().is_some()),
        })
        .to_string();
        Effect::new(move |_| {
            let options = options.clone();
            spawn_local(async move {
                if load_script("/vendor/leaflet/leaflet.js").await.is_err() || load_script("/js/map.js").await.is_err()
                {
                    leptos::logging::warn!("the map scripts could not be loaded");
                    return;
                }
                let on_click = Closure::<dyn FnMut(f64, f64)>::new(move |lat: f64, lon: f64| {
                    if let Some(clicked) = clicked {
                        clicked.set(Some((lat, lon)));
                    }
                });
                if map_init("gad-map", &options, on_click.as_ref().unchecked_ref()) {
                    ready.set(true);
                }
                // The map lives as long as the page; Leaflet keeps calling this.
                on_click.forget();
            });
        });
        Effect::new(move |_| {
            if ready.get() {
                officers.with(|list| set_officers(&officers_json(list)));
            }
        });
        Effect::new(move |_| {
            if !ready.get() {
                return;
            }
            if let Some(list) = tasks.get() {
                set_tasks(&tasks_json(&list));
            }
        });
        let Some(Tools { nearest, track, point, .. }) = tools else { return };
        Effect::new(move |_| {
            if !ready.get() {
                return;
            }
            let answer = match (point.get(), nearest.get()) {
                (Some((lat, lon)), Some(Ok(Some(list)))) => {
                    show_point(lat, lon);
                    let officers: Vec<[f64; 2]> = list.iter().map(|o| [o.lat, o.lon]).collect();
                    serde_json::json!({ "lat": lat, "lon": lon, "officers": officers
                        .iter()
                        .map(|[lat, lon]| serde_json::json!({ "lat": lat, "lon": lon }))
                        .collect::<Vec<_>>() })
                }
                _ => serde_json::Value::Null,
            };
            set_nearest(&answer.to_string());
        });
        Effect::new(move |_| {
            if !ready.get() {
                return;
            }
            let points: Vec<[f64; 2]> = match track.get() {
                Some(Ok(Some(track))) => track.positions.iter().map(|p| [p.lat, p.lon]).collect(),
                _ => Vec::new(),
            };
            set_track(&serde_json::to_string(&points).unwrap_or_else(|_| "[]".into()));
        });
    }
}
