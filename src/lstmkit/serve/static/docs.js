// Starts Swagger UI on /docs (docs.html) from the API's own schema. A file, not inline script, so the
// server's Content-Security-Policy can forbid inline script; validatorUrl null: no call to
// validator.swagger.io, nothing leaves this origin.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
