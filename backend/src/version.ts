/** Trainyard's version: the API's (GET /healthz, /openapi.json) and the CLI's (`trainyard --version`). */
export const VERSION = '0.1.0';
