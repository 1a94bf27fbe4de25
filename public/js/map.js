// GAD's Leaflet glue, loaded (with Leaflet) only by the map page. The page's Rust code
// (app/src/ui/map.rs) owns the data; this file only draws it. Every call takes plain values
// or JSON strings, so the interface stays small: init, setOfficers, setTasks, setTrack,
// setNearest, showPoint.
(function () {
  'use strict';
  // Loaded once per page; a second run would forget the map the first one drew.
  if (window.GadMap) return;

  const OFFICER_COLOURS = {
    available: '#1e6b35',
    on_task: '#0b4f8a',
    unavailable: '#8a5a00',
    off_duty: '#5c5c5c',
  };
  // The page's language (`<html lang>`, written by the server): the popups follow it.
  const EN = document.documentElement.lang === 'en';
  const T = (es, en) => (EN ? en : es);
  const STATUS_LABELS = {
    available: T('Disponible', 'Available'),
    on_task: T('En tarea', 'On a task'),
    unavailable: T('No disponible', 'Unavailable'),
    off_duty: T('Fuera de servicio', 'Off duty'),
  };
  const DUTY_LABELS = {
    on_shift: T('De turno', 'On shift'),
    off_shift: T('Fuera de turno', 'Off shift'),
    on_leave: T('De licencia', 'On leave'),
  };
  const PRIORITY_LABELS = {
    low: T('Baja', 'Low'),
    medium: T('Media', 'Medium'),
    high: T('Alta', 'High'),
    urgent: T('Urgente', 'Urgent'),
    critical: T('Crítica', 'Critical'),
  };

  let map = null;
  let layers = null;
  // The view is fitted once to everything drawn (officers and tasks), unless the page asked
  // for a place (a point or a track): no officer starts outside the view.
  let fitted = false;
  let drawn = { officers: false, tasks: false };
  const officerMarkers = new Map();
  const officerCodes = new Map();
  const taskMarkers = new Map();

  // Every text shown here comes from users (names, titles, codes): it is put into the DOM as
  // text nodes, never parsed as HTML. Leaflet's bindTooltip/bindPopup take an element for
  // that reason: a string given to them is HTML.

  /** `tag` with a class and children (strings become text nodes). */
  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.append(...children);
    return node;
  }

  /** A link to one of GAD's own pages; `path` is built from numbers and constants only. */
  function link(path, text) {
    const a = el('a', null, text);
    a.href = path;
    return a;
  }

  function coords(lat, lon) {
    return `${Number(lat).toFixed(5)}, ${Number(lon).toFixed(5)}`;
  }

  function pointLinks(lat, lon) {
    const q = `lat=${Number(lat).toFixed(6)}&lon=${Number(lon).toFixed(6)}`;
    return el('div', null,
      el('p', 'map-popup-coords', coords(lat, lon)),
      el('p', null,
        link(`/mapa?${q}`, T('Efectivos más cercanos', 'Nearest officers')),
        el('br'),
        link(`/emergencia?${q}`, T('Crear emergencia aquí', 'Create an emergency here'))));
  }

  function officerLabel(o) {
    return el('span', null, `${o.code} · ${o.name}`);
  }

  /** The code beside each officer, always shown (who is where at a glance): text only. */
  function codeIcon(o) {
    return L.divIcon({ className: 'officer-code', html: el('span', null, String(o.code)), iconSize: null, iconAnchor: [-10, 8] });
  }

  function officerPopup(o) {
    return el('div', null,
      el('strong', null, `${o.code} · ${o.name}`), el('br'),
      STATUS_LABELS[o.status] || String(o.status),
      DUTY_LABELS[o.duty] ? ` · ${DUTY_LABELS[o.duty]}` : '', el('br'),
      el('span', 'map-popup-coords', coords(o.lat, o.lon)), el('br'),
      link(`/mapa?recorrido=${Number(o.officer_id)}&horas=4`, T('Ver recorrido (4 h)', 'Show track (4 h)')),
      ' · ',
      link('/efectivos', T('Efectivos', 'Officers')));
  }

  function taskPopup(t) {
    return el('div', null,
      el('strong', null, String(t.code)), ` ${t.title}`, el('br'),
      `${T('Prioridad', 'Priority')} ${PRIORITY_LABELS[t.priority] || String(t.priority)}`, el('br'),
      t.overdue ? el('strong', 'map-overdue', T('Vencida', 'Overdue')) : '', t.overdue ? el('br') : '',
      link(`/tareas/${Number(t.task_id)}`, T('Ver tarea', 'View task')));
  }

  /** Creates the map in element `id`. `options`: {center:[lat,lon], zoom, tileUrl|null}. */
  function init(id, optionsJson, onClick) {
    const options = JSON.parse(optionsJson);
    const element = document.getElementById(id);
    if (!element || typeof L === 'undefined') return false;
    if (map) {
      map.stop();
      map.remove();
      officerMarkers.clear();
      officerCodes.clear();
      taskMarkers.clear();
    }
    // The home's and the task page's maps are re-created with their pages (a page reloads its
    // data, a visitor moves on): without zoom animations none is left running on a removed map.
    map = L.map(element, { preferCanvas: false, zoomAnimation: Boolean(options.keepView) })
      .setView(options.center, options.zoom);
    // Tasks are drawn under the officers (Leaflet puts markers above vector shapes by
    // default): an officer standing at a task stays visible and clickable.
    map.createPane('gadTasks').style.zIndex = 350;
    fitted = Boolean(options.keepView);
    drawn = { officers: false, tasks: false };
    if (options.tileUrl) {
      L.tileLayer(options.tileUrl, {
        maxZoom: 19,
        attribution: T('&copy; colaboradores de OpenStreetMap', '&copy; OpenStreetMap contributors'),
      }).addTo(map);
    }
    layers = {
      tasks: L.layerGroup().addTo(map),
      officers: L.layerGroup().addTo(map),
      track: L.layerGroup().addTo(map),
      nearest: L.layerGroup().addTo(map),
      point: L.layerGroup().addTo(map),
    };
    L.control.layers(null, {
      [T('Efectivos', 'Officers')]: layers.officers,
      [T('Tareas y emergencias', 'Tasks and emergencies')]: layers.tasks,
      [T('Recorrido', 'Track')]: layers.track,
    }, { collapsed: false }).addTo(map);
    map.on('click', (e) => {
      showPoint(e.latlng.lat, e.latlng.lng);
      onClick(e.latlng.lat, e.latlng.lng);
    });
    element.dataset.ready = 'true';
    return true;
  }

  /** Officers: [{officer_id, code, name, status, duty, lat, lon}], moved in place when known;
   * off shift or on leave, drawn hollow. */
  function setOfficers(json) {
    if (!map) return;
    const seen = new Set();
    for (const o of JSON.parse(json)) {
      seen.add(o.officer_id);
      const style = {
        radius: 9,
        color: '#ffffff',
        weight: 2,
        fillColor: OFFICER_COLOURS[o.status] || '#5c5c5c',
        fillOpacity: 0.95,
        className: `officer-marker officer-${o.officer_id} officer-status-${o.status} officer-duty-${o.duty || 'no_roster'}`,
      };
      let marker = officerMarkers.get(o.officer_id);
      if (marker && marker.options.className !== style.className) {
        layers.officers.removeLayer(marker);
        marker = null;
      }
      let code = officerCodes.get(o.officer_id);
      if (code) {
        code.setLatLng([o.lat, o.lon]);
      } else {
        code = L.marker([o.lat, o.lon], { icon: codeIcon(o), interactive: false, keyboard: false, zIndexOffset: 2000 });
        code.addTo(layers.officers);
        officerCodes.set(o.officer_id, code);
      }
      if (marker) {
        marker.setLatLng([o.lat, o.lon]);
        marker.setPopupContent(officerPopup(o));
        marker.setTooltipContent(officerLabel(o));
      } else {
        marker = L.circleMarker([o.lat, o.lon], style).bindPopup(officerPopup(o));
        marker.bindTooltip(officerLabel(o));
        marker.addTo(layers.officers);
        officerMarkers.set(o.officer_id, marker);
      }
    }
    for (const [id, marker] of officerMarkers) {
      if (!seen.has(id)) {
        layers.officers.removeLayer(marker);
        officerMarkers.delete(id);
        layers.officers.removeLayer(officerCodes.get(id));
        officerCodes.delete(id);
      }
    }
    fitOnce('officers');
  }

  /** Fits the view to every officer and task once both have been drawn. */
  function fitOnce(what) {
    drawn[what] = true;
    if (fitted || !drawn.officers || !drawn.tasks) return;
    fitted = true;
    // The container may have been laid out after the map was created (styles arriving).
    map.invalidateSize();
    const bounds = L.latLngBounds([]);
    for (const m of officerMarkers.values()) bounds.extend(m.getLatLng());
    for (const m of taskMarkers.values()) bounds.extend(m.getLatLng());
    // Without animation: a page left during a zoom transition would end it on a removed map.
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.15), { maxZoom: 15, animate: false });
  }

  /** Tasks: [{task_id, code, title, priority, task_type, overdue, lat, lon}]; emergencies
   * stand out. Markers are kept and changed in place (as the officers' are): a popup a
   * supervisor opened stays open while other tasks come and go. */
  function setTasks(json) {
    if (!map) return;
    const seen = new Set();
    for (const t of JSON.parse(json)) {
      seen.add(t.task_id);
      const emergency = t.task_type === 'emergency';
      const label = `${t.code} · ${t.title}`;
      const className = `task-marker priority-${t.priority}${emergency ? ' emergency-marker' : ''}${t.overdue ? ' task-overdue' : ''}`;
      const icon = () => L.divIcon({
        className,
        html: emergency ? '!' : '',
        iconSize: emergency ? [24, 24] : [16, 16],
      });
      let marker = taskMarkers.get(t.task_id);
      if (marker) {
        marker.setLatLng([t.lat, t.lon]);
        marker.setPopupContent(taskPopup(t));
        if (marker.options.icon.options.className !== className || marker.options.title !== label) {
          // The icon element is made anew, with the new title and alt text.
          marker.options.title = label;
          marker.options.alt = label;
          marker.setZIndexOffset(emergency ? 1000 : 0);
          marker.setIcon(icon());
        }
        continue;
      }
      marker = L.marker([t.lat, t.lon], {
        icon: icon(),
        pane: 'gadTasks',
        title: label,
        alt: label,
        keyboard: true,
        zIndexOffset: emergency ? 1000 : 0,
      }).bindPopup(taskPopup(t));
      marker.addTo(layers.tasks);
      taskMarkers.set(t.task_id, marker);
    }
    for (const [id, marker] of taskMarkers) {
      if (!seen.has(id)) {
        layers.tasks.removeLayer(marker);
        taskMarkers.delete(id);
      }
    }
    fitOnce('tasks');
  }

  /** An officer's track: [[lat, lon], …] oldest first; fits the view to it. */
  function setTrack(json) {
    if (!map) return;
    layers.track.clearLayers();
    const points = JSON.parse(json);
    if (points.length === 0) return;
    L.polyline(points, { color: '#6a1b9a', weight: 4, className: 'track-line' }).addTo(layers.track);
    L.circleMarker(points[points.length - 1], { radius: 5, color: '#6a1b9a', className: 'track-end' }).addTo(layers.track);
    fitted = true;
    map.fitBounds(L.latLngBounds(points).pad(0.2));
  }

  /** The nearest-officer answer: lines from the point to each officer. */
  function setNearest(json) {
    if (!map) return;
    layers.nearest.clearLayers();
    const answer = JSON.parse(json);
    if (!answer) return;
    for (const o of answer.officers) {
      L.polyline([[answer.lat, answer.lon], [o.lat, o.lon]], {
        color: '#0b3d91',
        dashArray: '6 6',
        weight: 2,
        className: 'nearest-line',
      }).addTo(layers.nearest);
    }
  }

  /** Marks a point with its coordinates and the two actions. */
  function showPoint(lat, lon) {
    if (!map) return;
    fitted = true;
    layers.point.clearLayers();
    L.circleMarker([lat, lon], { radius: 6, color: '#b3261e', className: 'point-marker' })
      .addTo(layers.point)
      .bindPopup(pointLinks(lat, lon))
      .openPopup();
  }

  window.GadMap = { init, setOfficers, setTasks, setTrack, setNearest, showPoint };
})();
