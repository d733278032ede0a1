// @ts-check
/**
 * The API reference (/api/docs): Swagger UI over /api/openapi.json, from the files shipped
 * in static/vendor/swagger-ui/ (npm's swagger-ui-dist, copied by `npm run vendor`), so the
 * page works with no network beyond this server. The bundle is a classic script that sets
 * window.SwaggerUIBundle; this module runs after it.
 */
const SwaggerUIBundle = /** @type {any} */ (window).SwaggerUIBundle;

SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  deepLinking: true,
  // The default asks validator.swagger.io about the document: a request off this site.
  validatorUrl: null,
});
