// The main pages of the dashboard, shared by the accessibility check (a11y.spec.ts) and the
// screenshots (screenshots.spec.ts). A page that does not exist yet (404) is skipped, so new
// pages join both checks by being listed here.
export type MainPage = {
  /** File name under docs/screenshots/ (without .png). */
  name: string;
  path: string;
  /** Text of the page's first-level heading, to know it finished loading. */
  heading?: RegExp;
};

export const MAIN_PAGES: MainPage[] = [
  { name: 'login', path: '/login' },
  { name: 'resumen', path: '/' },
  { name: 'tareas', path: '/tareas', heading: /^Tareas$/ },
  { name: 'tarea-nueva', path: '/tareas/nueva', heading: /Nueva tarea/ },
  { name: 'tarea-detalle', path: '/tareas/1', heading: /-\d{4}-\d{4}/ },
  { name: 'tarea-editar', path: '/tareas/2/editar', heading: /^Editar/ },
  { name: 'mapa', path: '/mapa' },
  { name: 'recorrido', path: '/mapa/recorrido?efectivo=4', heading: /^Reproducir recorrido$/ },
  { name: 'emergencia', path: '/emergencia' },
  { name: 'efectivos', path: '/efectivos', heading: /^Efectivos$/ },
  { name: 'efectivo-detalle', path: '/efectivos/1' },
  { name: 'usuarios', path: '/usuarios', heading: /^Usuarios$/ },
  { name: 'auditoria', path: '/auditoria', heading: /^Auditoría$/ },
  { name: 'respaldos', path: '/respaldos', heading: /^Respaldos$/ },
  { name: 'comentarios', path: '/comentarios', heading: /^Comentarios$/ },
  { name: 'notas', path: '/notas', heading: /^Notas$/ },
  { name: 'turnos', path: '/turnos', heading: /^Turnos y licencias$/ },
  { name: 'plazos', path: '/plazos', heading: /^Plazos de atención$/ },
  { name: 'cuenta', path: '/cuenta', heading: /^Mi cuenta$/ },
  { name: 'difusion', path: '/difusion', heading: /^Difusión por Telegram$/ },
];
