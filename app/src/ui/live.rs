//! Live updates: one `EventSource` per browser tab on `/api/v1/events/stream` (the session
//! cookie authenticates it; the server filters what the viewer may see), shared by every page.
//!
//! Pages ask [`refresh_on`] for a counter that moves on the events they care about and key
//! their resources on it; the map patches markers from [`Live::last`] directly. When the
//! stream first opens (after the page hydrated) or the server says the tab missed more than it
//! can replay (`resync`), every counter moves, so pages refetch what they may have missed; a
//! reconnection resumes after the last event id seen and the server replays what was missed. An emergency raises the banner of
//! [`EmergencyBanner`] with a beep on every page. On the server nothing connects: the
//! signals keep their initial values, so hydration sees the same markup.

use leptos::prelude::*;

use crate::i18n::{tr, trf};
use contract::events::Event;

/// One message of the stream: `event` is `None` for "refetch everything" (reconnected, or
/// the server dropped events for this slow client).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveMessage {
    pub seq: u64,
    pub event: Option<Event>,
}

/// An emergency announced on the stream, shown until dismissed.
#[derive(Clone, Debug, PartialEq)]
pub struct EmergencyAlert {
    pub task_id: i64,
    pub code: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveState {
    /// Not started (server rendering, or before the first attempt).
    Idle,
    Connected,
    /// Lost; the browser or our back-off is trying again.
    Reconnecting,
}

/// The tab's live hub.
#[derive(Clone)]
pub struct Live {
    pub last: ArcRwSignal<Option<LiveMessage>>,
    pub state: ArcRwSignal<LiveState>,
    pub emergency: ArcRwSignal<Option<EmergencyAlert>>,
    /// The id of the last event received (-1: none yet), to resume after on reconnection.
    pub last_id: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Live {
    fn new() -> Self {
        Self {
            last: ArcRwSignal::new(None),
            state: ArcRwSignal::new(LiveState::Idle),
            emergency: ArcRwSignal::new(None),
            last_id: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(-1)),
        }
    }
}

/// The live hub of this tab (connected on first use in the browser, again on the first use
/// after [`stop`]).
#[cfg(feature = "hydrate")]
pub fn use_live() -> Live {
    thread_local! {
        static HUB: std::cell::OnceCell<Live> = const { std::cell::OnceCell::new() };
    }
    let live = HUB.with(|hub| hub.get_or_init(Live::new).clone());
    client::start(&live);
    live
}

/// Closes the tab's stream for good (until a page uses the hub again): called when the user
/// signs out, so the tab does not go on knocking with a session that is gone.
pub fn stop() {
    #[cfg(feature = "hydrate")]
    client::stop();
}

/// On the server: inert signals (nothing is streamed into a rendered page).
#[cfg(not(feature = "hydrate"))]
pub fn use_live() -> Live {
    Live::new()
}

/// A counter that moves on every live event `wanted` accepts (and after a reconnection).
/// Key a resource on it to refetch; it starts at 0 on the server and in the browser alike.
pub fn refresh_on(wanted: impl Fn(&Event) -> bool + Send + Sync + 'static) -> Signal<u64> {
    let live = use_live();
    let version = RwSignal::new(0u64);
    // Messages older than this page are not news to it.
    let seen = live.last.with_untracked(|m| m.as_ref().map_or(0, |m| m.seq));
    Effect::new(move |_| {
        let Some(message) = live.last.get() else { return };
        if message.seq > seen && message.event.as_ref().is_none_or(&wanted) {
            version.update(|v| *v += 1);
        }
    });
    version.into()
}

/// Events that change tasks or their figures (not the frequent position reports).
pub fn is_task_event(event: &Event) -> bool {
    !matches!(
        event,
        Event::OfficerPosition { .. }
            | Event::BroadcastCreated { .. }
            | Event::BroadcastDelivered { .. }
            | Event::FeedbackCreated { .. }
    )
}

/// The task an event is about, if any.
pub fn task_event_id(event: &Event) -> Option<i64> {
    match event {
        Event::TaskCreated { task_id, .. }
        | Event::TaskUpdated { task_id, .. }
        | Event::TaskDeleted { task_id, .. }
        | Event::TaskStatusChanged { task_id, .. }
        | Event::TaskAssigned { task_id, .. }
        | Event::TaskUnassigned { task_id, .. }
        | Event::EmergencyCreated { task_id, .. }
        | Event::TaskOverdue { task_id, .. } => Some(*task_id),
        Event::OfficerPosition { .. }
        | Event::OfficerStatusChanged { .. }
        | Event::BroadcastCreated { .. }
        | Event::BroadcastDelivered { .. }
        | Event::FeedbackCreated { .. } => None,
    }
}

/// The emergency banner (every signed-in page): an alert region with a link to the task, the
/// map and a dismiss button. The beep plays when the event arrives (see `client`).
#[component]
pub fn EmergencyBanner() -> impl IntoView {
    let live = use_live();
    let alert = live.emergency.clone();
    let dismiss = live.emergency.clone();
    view! {
        <div class="emergency-region" role="alert" aria-live="assertive">
            {move || {
                alert
                    .get()
                    .map(|a| {
                        let dismiss = dismiss.clone();
                        view! {
                            <div class="emergency-banner">
                                <strong>{tr("¡Emergencia! ")}</strong>
                                <span>
                                    {trf("{} en {}", &[&a.code, &format!("{:.5}, {:.5}", a.lat, a.lon)])}
                                </span>
                                <a href=format!("/tareas/{}", a.task_id)>{tr("Ver tarea")}</a>
                                <a href=format!("/mapa?lat={:.6}&lon={:.6}", a.lat, a.lon) rel="external">
                                    {tr("Ver en el mapa")}
                                </a>
                                <button type="button" class="secondary" on:click=move |_| dismiss.set(None)>
                                    {tr("Cerrar aviso")}
                                </button>
                            </div>
                        }
                    })
            }}
        </div>
    }
}

/// The connection indicator of the top bar.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let state = use_live().state;
    move || match state.get() {
        LiveState::Idle => None,
        LiveState::Connected => {
            Some(view! { <span class="live-dot live-on" title=tr("Actualizaciones en vivo")>{tr("En vivo")}</span> })
        }
        LiveState::Reconnecting => {
            Some(view! { <span class="live-dot live-off" title=tr("Reconectando…")>{tr("Sin conexión")}</span> })
        }
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{EventSource, MessageEvent};

    use super::{EmergencyAlert, Live, LiveMessage, LiveState};
    use contract::events::Event;

    pub const STREAM_URL: &str = "/api/v1/events/stream";
    /// Every `event:` name the server sends (see `Event::kind`), plus `resync`.
    const KINDS: [&str; 10] = [
        "task.created",
        "task.updated",
        "task.deleted",
        "task.status_changed",
        "task.assigned",
        "task.unassigned",
        "officer.position",
        "officer.status",
        "emergency.created",
        "resync",
    ];

    thread_local! {
        /// The stream open now, if any, and the hub's generation: a connection attempt or
        /// error handler of an earlier generation (before a [`stop`]) does nothing.
        static SOURCE: std::cell::RefCell<Option<(Live, EventSource)>> = const { std::cell::RefCell::new(None) };
        static GENERATION: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
        static STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Connects once the page has hydrated: a refetch started by an event in the middle of
    /// hydration would leave the server's markup without the data it was made from. The first
    /// `open` then asks every page to refetch what changed since it was rendered.
    pub fn start(live: &Live) {
        if STARTED.replace(true) {
            return;
        }
        let (live, generation) = (live.clone(), GENERATION.get());
        set_timeout(move || connect(live, 0, generation), Duration::from_millis(1000));
    }

    pub fn stop() {
        if !STARTED.replace(false) {
            return;
        }
        GENERATION.set(GENERATION.get().wrapping_add(1));
        if let Some((live, source)) = SOURCE.take() {
            source.close();
            live.state.set(LiveState::Idle);
            live.last_id.store(-1, Ordering::SeqCst);
        }
    }

    fn publish(live: &Live, event: Option<Event>) {
        let seq = live.last.with_untracked(|m| m.as_ref().map_or(0, |m| m.seq)) + 1;
        if let Some(Event::EmergencyCreated { task_id, code, lat, lon, .. }) = &event {
            live.emergency.set(Some(EmergencyAlert { task_id: *task_id, code: code.clone(), lat: *lat, lon: *lon }));
            beep();
        }
        live.last.set(Some(LiveMessage { seq, event }));
    }

    /// Opens the stream. The browser itself retries a dropped connection; when it gives up
    /// (an error answer, e.g. during a deploy) we open a new one with back-off (1 s … 30 s).
    fn connect(live: Live, attempt: u32, generation: u32) {
        if GENERATION.get() != generation {
            return;
        }
        let after = live.last_id.load(Ordering::SeqCst);
        let url = if after >= 0 { format!("{STREAM_URL}?after={after}") } else { STREAM_URL.to_owned() };
        let Ok(source) = EventSource::new(&url) else {
            retry(live, attempt, generation);
            return;
        };
        SOURCE.set(Some((live.clone(), source.clone())));
        for kind in KINDS {
            let live = live.clone();
            let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                if let Ok(id) = e.last_event_id().parse::<i64>() {
                    live.last_id.store(id, Ordering::SeqCst);
                }
                if kind == "resync" {
                    publish(&live, None);
                    return;
                }
                let Some(text) = e.data().as_string() else { return };
                if let Ok(event) = serde_json::from_str::<Event>(&text) {
                    publish(&live, Some(event));
                }
            });
            let _ = source.add_event_listener_with_callback(kind, on_event.as_ref().unchecked_ref());
            // The source lives as long as the tab (or until replaced after an error).
            on_event.forget();
        }
        {
            let live = live.clone();
            let on_open = Closure::<dyn FnMut()>::new(move || {
                live.state.set(LiveState::Connected);
                // Whatever happened since the page was rendered was missed; after a gap the
                // server replays from the last id seen (or says `resync`).
                if live.last_id.load(Ordering::SeqCst) < 0 {
                    publish(&live, None);
                }
            });
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
        }
        {
            let live = live.clone();
            let source_ref = source.clone();
            let on_error = Closure::<dyn FnMut()>::new(move || {
                if GENERATION.get() != generation {
                    source_ref.close();
                    return;
                }
                live.state.set(LiveState::Reconnecting);
                if source_ref.ready_state() == EventSource::CLOSED {
                    source_ref.close();
                    retry(live.clone(), attempt + 1, generation);
                }
            });
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
        }
    }

    fn retry(live: Live, attempt: u32, generation: u32) {
        let delay = Duration::from_secs(u64::from(attempt.clamp(1, 30)));
        set_timeout(move || connect(live, attempt, generation), delay);
    }

    /// A short two-tone alarm through WebAudio. Browsers may keep audio muted until the user
    /// has interacted with the page; then the banner alone carries the alert.
    fn beep() {
        let Ok(ctx) = web_sys::AudioContext::new() else { return };
        let _ = ctx.resume();
        let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else { return };
        osc.set_type(web_sys::OscillatorType::Square);
        let now = ctx.current_time();
        let frequency = osc.frequency();
        let _ = frequency.set_value_at_time(880.0, now);
        let _ = frequency.set_value_at_time(660.0, now + 0.25);
        let _ = frequency.set_value_at_time(880.0, now + 0.5);
        gain.gain().set_value(0.08);
        if osc.connect_with_audio_node(&gain).is_err() || gain.connect_with_audio_node(&ctx.destination()).is_err() {
            return;
        }
        let _ = osc.start();
        let _ = osc.stop_with_when(now + 0.75);
        // Release the audio device once the tone is over.
        set_timeout(
            move || {
                let _ = ctx.close();
            },
            Duration::from_millis(1200),
        );
    }
}
