// Starts Swagger UI on /api/docs (server/src/rest/mod.rs). A file, not an inline script, so
// the page runs under GAD's Content-Security-Policy.
window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
