/**
 * The yardstick for figure 8: the smallest Node.js v4 programming-model app, one HTTP function and
 * `@azure/functions` alone, as the Functions quickstart writes it.
 */
import { app } from "@azure/functions";

app.http("hello", { methods: ["GET"], authLevel: "anonymous", handler: () => ({ body: "Hello" }) });
