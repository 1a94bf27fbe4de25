// GAD's track replay (the page /mapa/recorrido, app/src/ui/replay.rs): draws each officer's
// track, stops and tasks with Leaflet, and plays the window back with the page's slider,
// play/pause button and speed select. The page owns the data; this file takes one JSON string:
// {tileUrl, zone, replay}. Every text shown comes from users or the server and is put into the
// DOM as text (textContent, elements), never as HTML.
(function () {
  'use strict';
  if (window.GadReplay) return;

  const EN = document.documentElement.lang === 'en';
  const T = (es, en) => (EN ? en : es);
  const COLOURS = ['#6a1b9a', '#0b4f8a', '#b3261e', '#1e6b35', '#8a5a00', '#00695c', '#ad1457', '#37474f'];
  const STATUS = {
    pending: T('Pendiente', 'Pending'),
    scheduled: T('Programada', 'Scheduled'),
    in_progress: T('En curso', 'In progress'),
    paused: T('En pausa', 'Paused'),
    completed: T('Completada', 'Completed'),
    cancelled: T('Cancelada', 'Cancelled'),
  };

  let map = null;
  let frame = 0;

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.append(...children);
    return node;
  }

  /** The index of the last time ≤ t in the sorted `times` (-1 when t is before the first). */
  function lastAtOrBefore(times, t) {
    let lo = 0;
    let hi = times.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  function show(json, attempt) {
    const { tileUrl, zone, replay } = JSON.parse(json);
    const element = document.getElementById('replay-map');
    const player = document.getElementById('replay-player');
    if (!element || !player || typeof L === 'undefined') {
      // The page may still be putting its view in place.
      if ((attempt || 0) < 30) requestAnimationFrame(() => show(json, (attempt || 0) + 1));
      return false;
    }
    if (map) {
      cancelAnimationFrame(frame);
      map.remove();
      map = null;
    }
    player.hidden = false;
    const start = Date.parse(replay.from);
    const end = Date.parse(replay.to);
    const span = Math.max(end - start, 1);
    const clockFormat = new Intl.DateTimeFormat(EN ? 'en-GB' : 'es-AR', {
      timeZone: zone, day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    const shortFormat = new Intl.DateTimeFormat(EN ? 'en-GB' : 'es-AR', {
      timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });

    map = L.map(element, { zoomAnimation: false });
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 19, attribution: T('&copy; colaboradores de OpenStreetMap', '&copy; OpenStreetMap contributors') }).addTo(map);
    }
    const bounds = L.latLngBounds([]);

    for (const t of replay.tasks) {
      if (t.lat == null || t.lon == null) continue;
      const icon = L.divIcon({ className: 'task-marker replay-task', html: '', iconSize: [16, 16] });
      L.marker([t.lat, t.lon], { icon, title: `${t.code} · ${t.title}`, alt: `${t.code} · ${t.title}`, keyboard: true })
        .bindTooltip(el('span', null, `${t.code} · ${t.title}`))
        .addTo(map);
      bounds.extend([t.lat, t.lon]);
    }

    const now = document.getElementById('replay-now');
    now.replaceChildren();
    const tracks = replay.tracks.filter((t) => t.points.length > 0).map((t, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const latlngs = t.points.map((p) => [p.lat, p.lon]);
      L.polyline(latlngs, { color: colour, weight: 4, opacity: 0.75, className: 'replay-line' }).addTo(map);
      for (const s of t.stops) {
        const label = `${T('Parada', 'Stop')} ${shortFormat.format(Date.parse(s.from))}–${shortFormat.format(Date.parse(s.to))} (${Math.round(s.seconds / 60)} min)`;
        L.circleMarker([s.lat, s.lon], { radius: 7, color: colour, fillColor: '#ffffff', fillOpacity: 1, weight: 3, className: 'replay-stop' })
          .bindTooltip(el('span', null, `${t.code}: ${label}`))
          .addTo(map);
      }
      for (const p of latlngs) bounds.extend(p);
      const marker = L.circleMarker(latlngs[0], {
        radius: 9, color: '#ffffff', weight: 2, fillColor: colour, fillOpacity: 1, className: `replay-marker replay-officer-${Number(t.officer_id)}`,
      }).bindTooltip(el('span', null, String(t.code)), { permanent: true, direction: 'right', className: 'officer-code' }).addTo(map);
      const text = el('span', null, '');
      const item = el('li', null, el('span', 'dot', ''), `${t.code} · ${t.name} — `, text);
      item.firstChild.style.background = colour;
      item.dataset.officer = String(t.officer_id);
      now.append(item);
      return {
        track: t,
        marker,
        text,
        times: Float64Array.from(t.points.map((p) => Date.parse(p.at))),
        stops: t.stops.map((s) => [Date.parse(s.from), Date.parse(s.to)]),
      };
    });
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.15), { maxZoom: 17, animate: false });

    const slider = document.getElementById('replay-slider');
    const play = document.getElementById('replay-play');
    const speed = document.getElementById('replay-speed');
    const clock = document.getElementById('replay-clock');
    const marks = document.getElementById('replay-marks');
    slider.min = '0';
    slider.max = String(Math.round(span / 1000));
    slider.step = '1';

    let at = tracks.length ? Math.min(...tracks.map((t) => t.times[0])) : start;
    let playing = false;
    let last = 0;
    let shownSecond = -1;

    function place(t) {
      for (const r of tracks) {
        const i = lastAtOrBefore(r.times, t);
        const points = r.track.points;
        let text;
        if (i < 0) {
          r.marker.setLatLng([points[0].lat, points[0].lon]);
          r.marker.setStyle({ fillOpacity: 0.35 });
          text = T('sin posición todavía', 'no position yet');
        } else {
          const a = points[i];
          const b = points[i + 1];
          let lat = a.lat;
          let lon = a.lon;
          if (b) {
            const f = (t - r.times[i]) / Math.max(r.times[i + 1] - r.times[i], 1);
            lat += (b.lat - a.lat) * f;
            lon += (b.lon - a.lon) * f;
          }
          r.marker.setLatLng([lat, lon]);
          r.marker.setStyle({ fillOpacity: 1 });
          const stopped = r.stops.some(([from, to]) => t >= from && t <= to);
          const kmh = b ? b.speed_kmh : null;
          text = stopped
            ? T('detenido', 'stopped')
            : kmh == null ? T('última posición', 'last position') : `${Math.round(kmh)} km/h`;
        }
        if (r.text.textContent !== text) r.text.textContent = text;
      }
      const second = Math.floor(t / 1000);
      if (second !== shownSecond) {
        shownSecond = second;
        clock.textContent = clockFormat.format(t);
        slider.value = String(Math.round((t - start) / 1000));
        player.dataset.time = new Date(t).toISOString();
      }
    }

    function setPlaying(on) {
      playing = on;
      play.textContent = on ? play.dataset.pause : play.dataset.play;
      play.setAttribute('aria-pressed', on ? 'true' : 'false');
      if (on) {
        if (at >= end) at = start;
        last = performance.now();
        frame = requestAnimationFrame(tick);
      } else {
        cancelAnimationFrame(frame);
      }
    }

    function tick(stamp) {
      if (!playing) return;
      at += (stamp - last) * Number(speed.value || 1);
      last = stamp;
      if (at >= end) {
        at = end;
        place(at);
        setPlaying(false);
        return;
      }
      place(at);
      frame = requestAnimationFrame(tick);
    }

    function seek(t) {
      at = Math.min(Math.max(t, start), end);
      shownSecond = -1;
      place(at);
    }

    play.onclick = () => setPlaying(!playing);
    slider.oninput = () => seek(start + Number(slider.value) * 1000);

    marks.replaceChildren();
    for (const m of replay.marks) {
      const t = Date.parse(m.at);
      const change = `${m.from_status ? `${STATUS[m.from_status] || m.from_status} → ` : T('creada: ', 'created: ')}${STATUS[m.to_status] || m.to_status}`;
      const label = `${shortFormat.format(t)} ${m.code}: ${change}`;
      const button = el('button', `replay-mark status-${String(m.to_status)}`, '');
      button.type = 'button';
      button.title = label;
      button.setAttribute('aria-label', label);
      button.style.left = `${((t - start) / span) * 100}%`;
      button.onclick = () => seek(t);
      marks.append(button);
    }

    setPlaying(false);
    seek(at);
    element.dataset.ready = 'true';
    return true;
  }

  window.GadReplay = { show: (json) => show(json, 0) };
})();
