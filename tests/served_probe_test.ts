// The probe made before a module starts (`servedProbe`): which URLs of an
// `http` ready check name this machine, so that another process already
// serving the port is caught instead of passing the check.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { servedProbe } from "../lib/modules/mod.ts";

Deno.test("an http check on this machine, however its host is written, is probed before the start", () => {
  for (
    const url of [
      "http://localhost:8080/health",
      "http://LocalHost:8080/health",
      // Fully qualified: the same host, as curl and fetch resolve it.
      "http://localhost.:8080/health",
      "http://api.localhost.:8080/health",
      "http://127.0.0.1.:8080/health",
      "http://127.1:8080/health",
      "http://0:8080/health",
      "http://[0:0:0:0:0:0:0:1]:8080/health",
      // IPv4 mapped in IPv6: loopback and the wildcard address.
      "http://[::ffff:127.0.0.1]:8080/health",
      "http://[::ffff:127.1.2.3]:8080/health",
      "http://[::ffff:0.0.0.0]:8080/health",
    ]
  ) {
    assertEquals(servedProbe({ http: url })?.kind, "http", url);
  }
});

Deno.test("an http check on another host is not probed before the start", () => {
  for (
    const url of [
      "http://example.com:8080/",
      "http://localhost.example.com/",
      "http://mylocalhost./",
      "http://[::ffff:10.0.0.1]/",
      "http://[::2]/",
      "http://128.0.0.1/",
    ]
  ) {
    assertEquals(servedProbe({ http: url }), undefined, url);
  }
});
